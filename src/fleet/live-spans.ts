// The block log's latest writes, as the writer hands them over (AuditWriter.onWritten), kept
// in memory until they are shipped: the shipper takes its spans from here instead of reading
// the files back and looking for seals in them. Only one contiguous run of writes is held;
// a write that does not follow the last one starts a new run, and a run that outgrows
// `maxBytes` (Redis slow or away) is dropped: the files hold every event anyway, and the
// shipper goes back to them.
import type { WrittenEvents } from '../audit/writer.ts';
import type { EventSpan } from '../state/types.ts';

interface HeldWrite {
  first: number;
  last: number;
  /** Offset in `buf` just after the write's lines. */
  end: number;
}

export class LiveSpans {
  private readonly maxBytes: number;
  private buf = Buffer.allocUnsafe(0);
  /** buf[start, used) holds the writes of `writes`, in order. */
  private start = 0;
  private used = 0;
  private writes: HeldWrite[] = [];
  /** Runs dropped because they outgrew maxBytes, and runs cut by a gap. */
  overflows = 0;
  gaps = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** The first seq held (0 when empty). */
  get first(): number {
    return this.writes[0]?.first ?? 0;
  }

  /** The last seq held (0 when empty). */
  get last(): number {
    return this.writes.at(-1)?.last ?? 0;
  }

  get bytes(): number {
    return this.used - this.start;
  }

  /** Copies a write in (its buffers are reused or freed once the call returns). */
  add(written: WrittenEvents): void {
    let size = 0;
    for (const b of written.blocks) size += b.used;
    if (this.writes.length > 0 && written.first !== this.last + 1) {
      this.gaps++;
      this.clear();
    }
    if (this.bytes + size > this.maxBytes) {
      this.overflows++;
      this.clear();
      if (size > this.maxBytes) return;
    }
    this.makeRoom(size);
    for (const b of written.blocks) this.used += b.buf.copy(this.buf, this.used, 0, b.used);
    this.writes.push({ first: written.first, last: written.last, end: this.used });
  }

  /** Forgets the writes up to `seq` (shipped, or shipped from the files); a write `seq` falls inside empties the run. */
  dropThrough(seq: number): void {
    let n = 0;
    while (n < this.writes.length && (this.writes[n] as HeldWrite).last <= seq) n++;
    if (n === 0 && this.first !== 0 && this.first <= seq) return this.clear();
    if (n === this.writes.length) return this.clear();
    this.start = (this.writes[n - 1] as HeldWrite | undefined)?.end ?? this.start;
    this.writes = this.writes.slice(n);
    if (this.first <= seq) this.clear();
  }

  /**
   * The first whole writes, about `maxBytes` of them (at least one), copied into `into` (grown
   * when short): the span stays valid while later writes arrive. Undefined when empty.
   */
  take(maxBytes: number, into: { buf: Buffer }): EventSpan | undefined {
    const firstWrite = this.writes[0];
    if (firstWrite === undefined) return undefined;
    let last = firstWrite;
    for (const w of this.writes) {
      if (w.end - this.start > maxBytes && w !== firstWrite) break;
      last = w;
    }
    const length = last.end - this.start;
    if (into.buf.length < length) into.buf = Buffer.allocUnsafe(Math.max(length, into.buf.length * 2));
    this.buf.copy(into.buf, 0, this.start, last.end);
    return { first: firstWrite.first, last: last.last, lines: into.buf.subarray(0, length) };
  }

  clear(): void {
    this.writes = [];
    this.start = 0;
    this.used = 0;
  }

  /** Room for `size` more bytes at the end: moves the held bytes to the front, or grows (to maxBytes at most). */
  private makeRoom(size: number): void {
    if (this.used + size <= this.buf.length) return;
    const held = this.bytes;
    if (held + size <= this.buf.length) {
      this.buf.copy(this.buf, 0, this.start, this.used);
    } else {
      const grown = Buffer.allocUnsafe(Math.min(this.maxBytes, Math.max(held + size, this.buf.length * 2)));
      this.buf.copy(grown, 0, this.start, this.used);
      this.buf = grown;
    }
    const shift = this.start;
    for (const w of this.writes) w.end -= shift;
    this.start = 0;
    this.used = held;
  }
}
