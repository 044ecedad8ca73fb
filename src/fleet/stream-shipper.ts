// Ships this replica's block-log events into the fleet-wide stream. The replica's own event
// files are the spool: the shipper reads them behind the writer (never on the query path) and
// hands Redis whole sealed writes, the bytes as they are on disk: an event counts as written
// once the seal of its write follows it (a restart sets unsealed lines aside and reuses their
// seq numbers, so they must never reach the stream). Redis picks the events out of the bytes
// and records the last seq it has of each replica in the same step (SHIP_EVENTS), so every
// event is taken exactly once and in order: after a lost reply, a restart or a Redis outage
// the shipper asks where the stream stands and goes on after it. While Redis is away the
// events simply wait in the files: nothing is held in memory and nothing is lost.
//
// The replica does no work per event here (it looks for the last seal in what it read): at
// tens of thousands of events a second, parsing each line cost as much as writing it.
//
// Once the files are shipped up to their end, the shipper goes live: where the writer runs on
// this thread it hands over each write's lines as it writes them (`offer`), and spans ship from
// memory (live-spans.ts) instead of being read back from the files. A write missed, a span
// refused, Redis away or too much waiting sends the shipper back to the files, from where the
// stream stands.
import { open } from 'node:fs/promises';
import type { Logger } from 'pino';
import { type EventFile, compareEventFiles, listEventFiles } from '../audit/files.ts';
import { type EventSpan, type SharedState, SharedStateUnavailable } from '../state/types.ts';
import type { WrittenEvents, WrittenFeed } from '../audit/writer.ts';
import { EventLineScanner, readSeq } from './event-lines.ts';
import { LiveSpans } from './live-spans.ts';

export interface StreamShipperOptions {
  dir: string;
  instance: string;
  state: SharedState;
  logger: Logger;
  /** The block log's durable head (its last seq on disk), for the spool count. */
  headSeq: () => number;
  /** At first start, event files dated more than this many days ago are not shipped (the stream would drop them). 0: all. */
  retentionDays: number;
  /** Bytes handed to Redis at once, about (default 1 MiB; a larger write goes whole). */
  chunkBytes?: number;
  /** How often to look for new events (ms, default 500). */
  intervalMs?: number;
  /** The writer's hand-over of its writes, where it runs on this thread: ship from memory once the files are shipped. */
  written?: WrittenFeed | undefined;
}

export interface ShipperStats {
  /** The last seq of this replica in the stream, as far as known. */
  shippedSeq: number;
  /** Events on disk not yet in the stream. */
  spooled: number;
  /** Events shipped by this process. */
  shipped: number;
}

/** Where the next bytes to ship start: a file and an offset at a line boundary after event `seq`. */
interface Position {
  file: string;
  offset: number;
  seq: number;
}

const SEAL_AT_LINE_START = Buffer.from('\n{"type":"seal",');
const SEAL_AT_START = Buffer.from('{"type":"seal",');
const MAX_READ = 256 * 1024 * 1024;

export class StreamShipper {
  private readonly options: StreamShipperOptions;
  private readonly log: Logger;
  private readonly chunkBytes: number;
  private position: Position | undefined;
  /** The next ship may skip events or jump ahead (no position in the stream yet, or a gap in the files). */
  private lenient = false;
  private shippedSeq = 0;
  private shipped = 0;
  private buf: Buffer;
  /** The event lines of the span being shipped (seals left out). */
  private lines = Buffer.allocUnsafe(0);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private backlogLogged = false;
  private readonly scanner = new EventLineScanner();
  /** The writer's latest writes; shipped from while `isLive`. */
  private readonly live: LiveSpans;
  private isLive = false;
  private readonly liveCopy = { buf: Buffer.allocUnsafe(0) };
  /** Spans shipped from memory and from the files (Fleet.stats). */
  readonly spans = { live: 0, files: 0 };

  constructor(options: StreamShipperOptions) {
    this.options = options;
    this.log = options.logger.child({ component: 'stream' });
    this.chunkBytes = options.chunkBytes ?? 1 << 20;
    this.buf = Buffer.allocUnsafe(this.chunkBytes);
    this.live = new LiveSpans(8 * this.chunkBytes);
    options.written?.((written) => this.offer(written));
  }

  /** A write of the block log, as written (AuditWriter.onWritten): kept to ship from memory. */
  offer(written: WrittenEvents): void {
    this.live.add(written);
    if (this.isLive && this.live.bytes >= this.chunkBytes && this.running === undefined && this.timer !== undefined) void this.tick();
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs ?? 500);
    this.timer.unref();
  }

  /** Stops the timer and ships what the files hold, giving up after `deadlineMs` (the rest ships at the next start). */
  async stop(deadlineMs = 2000): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.race([this.tick(), new Promise((resolve) => setTimeout(resolve, deadlineMs).unref())]);
    this.options.written?.(undefined);
  }

  stats(): ShipperStats {
    return { shippedSeq: this.shippedSeq, spooled: Math.max(0, this.options.headSeq() - this.shippedSeq), shipped: this.shipped };
  }

  /** One pass: ship everything the files hold now. Never rejects; one pass at a time. */
  tick(): Promise<void> {
    this.running ??= this.shipAll()
      .catch((error: unknown) => {
        if (!(error instanceof SharedStateUnavailable)) this.log.error({ err: error }, 'shipping block-log events to the stream failed; retrying');
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async shipAll(): Promise<void> {
    const { state, instance } = this.options;
    if (state.status().state !== 'up') return this.leaveLive();
    if (this.isLive && (await this.shipLive())) return;
    // One look at the directory per pass: a file that appears meanwhile is read by the next.
    let files = await listEventFiles(this.options.dir, instance);
    if (this.position === undefined) {
      const known = await state.shippedSeq(instance);
      if (known === undefined && this.options.retentionDays > 0) {
        // Never shipped: files the stream would drop at once stay out.
        const cutoff = new Date(Date.now() - this.options.retentionDays * 86_400_000).toISOString().slice(0, 10);
        files = files.filter((f) => f.date >= cutoff);
      }
      this.shippedSeq = known ?? 0;
      this.position = known === undefined ? { file: files[0]?.name ?? '', offset: 0, seq: 0 } : await this.locate(known, files);
      this.lenient ||= known === undefined;
    }
    const backlog = this.options.headSeq() - this.shippedSeq;
    let refusals = 0;
    for (;;) {
      const span = await this.readSpan(this.position, files);
      if (span === undefined) {
        this.goLive();
        break;
      }
      const events = this.eventsOf(span.bytes);
      if (events === undefined) {
        this.position = span.next; // seals only
        continue;
      }
      const result = await state.shipEvents(instance, events, this.lenient || events.first !== this.position.seq + 1);
      if (!result.ok) {
        // The stream stands elsewhere (a lost reply, a Redis restored from a backup): go on from there.
        this.log.warn({ after: this.position.seq, stream: result.shipped }, 'the stream has this replica up to another seq; continuing from there');
        this.shippedSeq = Math.max(result.shipped, 0);
        this.position = await this.locate(this.shippedSeq, files);
        if (++refusals > 3) {
          this.lenient = true; // the files do not hold the event the stream expects next
          break;
        }
        continue;
      }
      this.lenient = false;
      this.shipped += result.count;
      this.shippedSeq = result.seq;
      this.spans.files++;
      this.position = { ...span.next, seq: this.shippedSeq };
    }
    if (backlog > 10_000 && !this.backlogLogged) this.log.info({ events: backlog, seq: this.shippedSeq }, 'spooled block-log events replayed into the stream');
    this.backlogLogged = backlog > 10_000;
  }

  /** Ships the writes held in memory; false when it had to go back to the files. */
  private async shipLive(): Promise<boolean> {
    const { state, instance } = this.options;
    for (;;) {
      // A write can reach the files (and be shipped from them) before the writer hands it over.
      this.live.dropThrough(this.shippedSeq);
      // Nothing held, yet the writer is ahead: its writes are not reaching `offer`.
      if (this.live.first === 0) {
        if (this.options.headSeq() <= this.shippedSeq) return true;
        this.leaveLive();
        return false;
      }
      if (this.live.first !== this.shippedSeq + 1) {
        this.leaveLive(); // a write was missed (or dropped when too much waited): the files have it
        return false;
      }
      const span = this.live.take(this.chunkBytes, this.liveCopy) as EventSpan;
      const result = await state.shipEvents(instance, span, false);
      if (!result.ok) {
        this.log.warn({ after: this.shippedSeq, stream: result.shipped }, 'the stream has this replica up to another seq; continuing from there');
        this.leaveLive();
        return false;
      }
      this.shipped += result.count;
      this.shippedSeq = result.seq;
      this.spans.live++;
      this.live.dropThrough(result.seq);
    }
  }

  /** The files are shipped to their end: from now on ship the writer's writes from memory. */
  private goLive(): void {
    if (this.lenient || this.options.written === undefined) return;
    this.live.dropThrough(this.shippedSeq);
    this.isLive = this.live.first === 0 || this.live.first === this.shippedSeq + 1;
  }

  /** Back to the files, from where the stream stands (asked at the next pass). */
  private leaveLive(): void {
    if (!this.isLive) return;
    this.isLive = false;
    this.position = undefined;
  }

  /**
   * The bytes from `pos` up to the end of the last seal line within about chunkBytes (more when one
   * write is larger), and where the next span starts. Undefined when no complete write follows.
   * At the end of a finished file, an empty span moves on to the next file.
   */
  private async readSpan(pos: Position, all: readonly EventFile[]): Promise<{ bytes: Buffer; next: Position } | undefined> {
    const files = from(all, pos.file);
    for (const [i, f] of files.entries()) {
      const offset = f.name === pos.file ? pos.offset : 0;
      const end = await this.sealedEnd(f.path, offset);
      if (end > offset) return { bytes: this.buf.subarray(0, end - offset), next: { file: f.name, offset: end, seq: pos.seq } };
      if (i === files.length - 1) return undefined; // the newest file: wait for its next write
      const size = await fileSize(f.path);
      if (size > offset) this.log.warn({ file: f.name, bytes: size - offset }, 'lines after the last seal of a finished block-log file are not shipped ("dnsward audit verify" reports them)');
      const nextFile = files[i + 1] as EventFile;
      return { bytes: Buffer.alloc(0), next: { file: nextFile.name, offset: 0, seq: pos.seq } };
    }
    return undefined;
  }

  /**
   * The event lines of `bytes` (whole lines: events and seals) without the seals, and the seq of
   * the first and last event; undefined when there is none. Looks only at line starts where a
   * seal could be (one per write) and at the first and last event line. The lines are copied into
   * one reused buffer (a new one per span made garbage of a megabyte each time).
   */
  private eventsOf(bytes: Buffer): EventSpan | undefined {
    if (this.lines.length < bytes.length) this.lines = Buffer.allocUnsafe(bytes.length);
    let used = 0;
    let at = 0;
    while (at < bytes.length) {
      const seal = bytes.subarray(at, at + SEAL_AT_START.length).equals(SEAL_AT_START) ? at : bytes.indexOf(SEAL_AT_LINE_START, at) + 1;
      const blockEnd = seal <= 0 ? bytes.length : seal;
      used += bytes.copy(this.lines, used, at, blockEnd);
      if (seal <= 0) break;
      const end = bytes.indexOf(10, seal);
      at = end < 0 ? bytes.length : end + 1;
    }
    if (used === 0) return undefined;
    const lines = this.lines.subarray(0, used);
    const firstEnd = lines.indexOf(10);
    const lastStart = lines.lastIndexOf(10, used - 2) + 1;
    return { first: readSeq(lines, 0, firstEnd < 0 ? used : firstEnd), last: readSeq(lines, lastStart, used - 1), lines };
  }

  /** Reads from `offset` into this.buf; returns the file offset after the last complete seal line read (offset: none). */
  private async sealedEnd(path: string, offset: number): Promise<number> {
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return offset;
      throw error;
    }
    try {
      let want = this.chunkBytes;
      for (;;) {
        if (this.buf.length < want) this.buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await handle.read(this.buf, 0, want, offset);
        const data = this.buf.subarray(0, bytesRead);
        const seal = data.lastIndexOf(SEAL_AT_LINE_START);
        const sealStart = seal >= 0 ? seal + 1 : data.subarray(0, SEAL_AT_START.length).equals(SEAL_AT_START) ? 0 : -1;
        const newline = sealStart >= 0 ? data.indexOf(10, sealStart) : -1;
        if (newline >= 0) return offset + newline + 1;
        // No complete write in what was read: a write larger than the chunk, or none yet.
        if (bytesRead < want || want >= MAX_READ) return offset;
        want *= 2;
      }
    } finally {
      await handle.close();
    }
  }

  /** The position just after event `seq` in the files (the start, for 0); lenient when the next event there does not follow it. */
  private async locate(seq: number, files: readonly EventFile[]): Promise<Position> {
    if (files.length === 0) return { file: '', offset: 0, seq };
    // The last file whose first event is at or before seq + 1 holds it (or seq ends an earlier one).
    let holder = files[0] as EventFile;
    let following = 0;
    for (const f of files) {
      let first = 0;
      await this.scanner.scan(f.path, 0, (kind, s) => {
        if (kind === 'event') first = s;
        return first === 0;
      });
      if (first === 0) continue;
      if (first > seq + 1) {
        following = first;
        break;
      }
      holder = f;
    }
    let offset = 0;
    let nextSeq = 0;
    await this.scanner.scan(holder.path, 0, (kind, s, _buf, _start, _end, after) => {
      if (kind === 'event' && s > seq) {
        nextSeq = s;
        return false;
      }
      offset = after;
      return true;
    });
    // The next event is not seq + 1 (files deleted by retention, or damaged): take the jump.
    if ((nextSeq || following) > seq + 1) this.lenient = true;
    return { file: holder.name, offset, seq };
  }
}

/** The event files from `name` on (all when ''). */
function from(files: readonly EventFile[], name: string): readonly EventFile[] {
  if (name === '') return files;
  const at = files.find((f) => f.name === name);
  return at ? files.filter((f) => compareEventFiles(f, at) >= 0) : files.filter((f) => f.name > name);
}

async function fileSize(path: string): Promise<number> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return 0;
  try {
    return (await handle.stat()).size;
  } finally {
    await handle.close();
  }
}
