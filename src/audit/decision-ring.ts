// Decisions on their way from the DNS thread to the block-log worker (thread.ts, worker.ts):
// one producer, one consumer, a ring of bytes in a SharedArrayBuffer. The DNS thread writes a
// decision's fields as bytes: 240 ns in `npm run bench:micro` (against 860-890 ns to encode
// and hash it; docs/BENCHMARKS.md, stop 36), and no garbage, where postMessage cloned an
// array per decision into both heaps (stop 30: twice the garbage of encoding on the DNS
// thread, 1,418 bytes a query).
// Hand-written: no library does a single-producer byte ring over Atomics, and this is on the
// query path.
//
// Record: u32 length (a multiple of 4; 0xFFFFFFFF = skip to the ring's start), f64 ts,
// u16 qtype, u8 flags (pseudonymize, action, response, transport), u8 unused, then six
// strings (segment, client, qname, list, rule, listVersion), each a u32 header (character
// count, top bit set for UTF-16LE, else Latin-1 bytes) and its bytes. Positions are byte
// counters modulo 2^32 (capacity a power of two), so full and empty differ.
import type { Decision, DecisionAction, DecisionResponse, DecisionTransport } from './types.ts';

/** Int32 slots of the control area. */
const WRITE = 0; // bytes written (mod 2^32), published after the record's bytes
const READ = 1; // bytes consumed (mod 2^32)
const SLEEPING = 2; // odd while the consumer waits for WRITE to move (a new odd number each time it sleeps)
const TAKEN = 3; // decisions consumed (mod 2^32)
const HELD = 4; // decisions the consumer holds unwritten (its outbox)
const CONTROL_INTS = 8;
/** BigInt64 slot (after the Int32 ones): decisions the producer dropped, signed into checkpoints. */
const DROPPED_AT = CONTROL_INTS * 4;
const CONTROL_BYTES = DROPPED_AT + 8;

const SKIP = 0xffffffff;
const HEADER_BYTES = 16;
const STRINGS = 6;
const UTF16 = 0x80000000;
export const MIN_RING_BYTES = 64 * 1024;
export const MAX_RING_BYTES = 4 * 1024 * 1024;

const ACTIONS: readonly DecisionAction[] = ['blocked', 'logged'];
const RESPONSES: readonly DecisionResponse[] = ['nxdomain', 'null', 'refused', 'answer'];
const TRANSPORTS: readonly (DecisionTransport | undefined)[] = [undefined, 'udp', 'tcp', 'dot', 'doh'];

/** The shared memory of one ring: created by the producer, handed to the consumer in workerData. */
export interface DecisionRingMemory {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

/**
 * Ring bytes for a max_buffered bound: 256 a decision (a record is ~110-170 bytes, and a write
 * needs room for its strings as UTF-16), a power of two in [64 KiB, 4 MiB]. The cap holds
 * 25,000-38,000 records: a quarter of a second of decisions at 100k a second that the worker has
 * not taken (its thread stalled) before one is dropped. All of it is resident once it has
 * wrapped (docs/BENCHMARKS.md, stop 36). max_buffered still bounds what the worker holds
 * unwritten (a slow disk).
 */
export function ringBytesFor(maxBuffered: number): number {
  let bytes = MIN_RING_BYTES;
  while (bytes < maxBuffered * 256 && bytes < MAX_RING_BYTES) bytes *= 2;
  return bytes;
}

export function createDecisionRing(bytes: number): DecisionRingMemory {
  if (!Number.isInteger(Math.log2(bytes)) || bytes < 1024 || bytes > 1 << 30) throw new RangeError('a decision ring is a power of two of 1 KiB to 1 GiB');
  return { control: new SharedArrayBuffer(CONTROL_BYTES), data: new SharedArrayBuffer(bytes) };
}

class RingView {
  protected readonly control: Int32Array;
  protected readonly dropped64: BigInt64Array;
  protected readonly bytes: Uint8Array;
  protected readonly view: DataView;
  protected readonly capacity: number;

  constructor(memory: DecisionRingMemory) {
    this.control = new Int32Array(memory.control, 0, CONTROL_INTS);
    this.dropped64 = new BigInt64Array(memory.control, DROPPED_AT, 1);
    this.bytes = new Uint8Array(memory.data);
    this.view = new DataView(memory.data);
    this.capacity = memory.data.byteLength;
  }

  /** Decisions the consumer holds unwritten, as it last said. */
  get held(): number {
    return Atomics.load(this.control, HELD);
  }
}

export class DecisionRingWriter extends RingView {
  /** Decisions written (mod 2^32). */
  private written = 0;

  /** Decisions written and not yet taken by the consumer. */
  get waiting(): number {
    return (this.written - Atomics.load(this.control, TAKEN)) | 0;
  }

  /**
   * Appends one decision; false when the ring has no room for it (nothing written). Wakes the
   * consumer when it sleeps: one futex wake per sleep, by the writer that moves the flag from
   * the consumer's odd number to the next (a writer delayed with an old number changes
   * nothing). Throws on a value outside the Decision type (the caller counts it as dropped).
   */
  write(d: Decision): boolean {
    const flags = flagsOf(d);
    const qtype = d.qtype;
    if (qtype !== (qtype & 0xffff)) throw new TypeError(`decision ring: qtype ${String(qtype)} is not a 16-bit integer`);
    const strings = d.segment.length + d.client.length + d.qname.length + d.list.length + d.rule.length + d.listVersion.length;
    // A field that is not a string (an untyped caller) would make the room needed NaN, which every room check below lets through.
    if (!(strings >= 0)) throw new TypeError('decision ring: a string field of the decision is not a string');
    // Rounded up to 4 without bitwise operators: any length of strings stays a positive number, so
    // the room check below refuses what the ring cannot hold, however large.
    const unpadded = HEADER_BYTES + 4 * STRINGS + 2 * strings + 3;
    const need = unpadded - (unpadded % 4);
    const capacity = this.capacity;
    const write = Atomics.load(this.control, WRITE) >>> 0;
    const used = (write - (Atomics.load(this.control, READ) >>> 0)) >>> 0;
    let at = write & (capacity - 1);
    const skip = at + need > capacity ? capacity - at : 0;
    if (used + skip + need > capacity) return false;
    const view = this.view;
    if (skip > 0) {
      view.setUint32(at, SKIP, true);
      at = 0;
    }
    view.setFloat64(at + 4, d.ts, true);
    view.setUint16(at + 12, qtype, true);
    this.bytes[at + 14] = flags;
    let o = at + HEADER_BYTES;
    o = this.putString(o, d.segment);
    o = this.putString(o, d.client);
    o = this.putString(o, d.qname);
    o = this.putString(o, d.list);
    o = this.putString(o, d.rule);
    o = this.putString(o, d.listVersion);
    const length = (o - at + 3) & ~3;
    view.setUint32(at, length, true);
    this.written = (this.written + 1) | 0;
    Atomics.store(this.control, WRITE, (write + skip + length) | 0);
    this.wakeConsumer(Atomics.load(this.control, SLEEPING));
    return true;
  }

  /**
   * Wakes the consumer if it still sleeps under `sleeping`, the flag as this writer read it
   * after publishing: a writer that acts late, on a sleep that has ended, changes nothing.
   */
  wakeConsumer(sleeping: number): void {
    if ((sleeping & 1) === 1 && Atomics.compareExchange(this.control, SLEEPING, sleeping, (sleeping + 1) | 0) === sleeping) {
      Atomics.notify(this.control, WRITE, 1);
    }
  }

  /** Publishes the producer's drop count (rare: only when a decision is dropped). */
  setDropped(count: number): void {
    Atomics.store(this.dropped64, 0, BigInt(count));
  }

  /** Latin-1 a character at a time (names are a few dozen); UTF-16LE when one is beyond it. */
  private putString(at: number, s: string): number {
    const bytes = this.bytes;
    const n = s.length;
    let o = at + 4;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) return this.putUtf16(at, s);
      bytes[o++] = c;
    }
    this.view.setUint32(at, n, true);
    return o;
  }

  private putUtf16(at: number, s: string): number {
    const bytes = this.bytes;
    let o = at + 4;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      bytes[o++] = c & 0xff;
      bytes[o++] = c >>> 8;
    }
    this.view.setUint32(at, (s.length | UTF16) >>> 0, true);
    return o;
  }
}

function flagsOf(d: Decision): number {
  const action = ACTIONS.indexOf(d.action);
  const response = RESPONSES.indexOf(d.response);
  const transport = TRANSPORTS.indexOf(d.transport);
  if (action < 0 || response < 0 || transport < 0) throw new TypeError(`decision ring: unknown action, response or transport (${d.action}, ${d.response}, ${String(d.transport)})`);
  return (d.pseudonymize ? 1 : 0) | (action << 1) | (response << 2) | (transport << 4);
}

/** How long the consumer sleeps at most before it looks again (a safety net: a write wakes it). */
const SLEEP_MAX_MS = 1000;

export class DecisionRingReader extends RingView {
  private readonly buffer: Buffer;
  private taken = 0;
  /** The odd number the consumer sleeps under (SLEEPING). */
  private generation = -1;

  constructor(memory: DecisionRingMemory) {
    super(memory);
    this.buffer = Buffer.from(memory.data);
  }

  /** Decisions the producer dropped, as it last said. */
  get dropped(): number {
    return Number(Atomics.load(this.dropped64, 0));
  }

  /** Says how many decisions the consumer holds unwritten: the producer counts them toward max_buffered. */
  setHeld(count: number): void {
    Atomics.store(this.control, HELD, Math.min(count, 0x7fffffff));
  }

  /**
   * Hands every decision written so far to `use`, oldest first, and returns how many. `held`
   * (what the consumer will hold once they are in) is published before they leave the ring,
   * so that the producer never counts them in neither place.
   */
  drain(use: (d: Decision) => void, heldAfter: (taken: number) => number): number {
    const end = Atomics.load(this.control, WRITE) >>> 0;
    let read = Atomics.load(this.control, READ) >>> 0;
    if (read === end) return 0;
    const decisions: Decision[] = [];
    const mask = this.capacity - 1;
    const view = this.view;
    while (read !== end) {
      const at = read & mask;
      const length = view.getUint32(at, true);
      if (length === SKIP) {
        read = (read + (this.capacity - at)) >>> 0;
        continue;
      }
      decisions.push(this.decisionAt(at));
      read = (read + length) >>> 0;
    }
    this.setHeld(heldAfter(decisions.length));
    Atomics.store(this.control, READ, read | 0);
    this.taken = (this.taken + decisions.length) | 0;
    Atomics.store(this.control, TAKEN, this.taken);
    for (const d of decisions) use(d);
    return decisions.length;
  }

  /**
   * Waits (without blocking the thread) until something is written, then calls `wake` (once).
   * Calls it at once when something already waits. The flag and the re-read make a record
   * written meanwhile either seen here or woken for (both sides use sequentially consistent
   * Atomics); the wait also ends after SLEEP_MAX_MS, whatever happened.
   */
  whenWritten(wake: () => void): void {
    const generation = (this.generation = (this.generation + 2) | 0);
    Atomics.store(this.control, SLEEPING, generation);
    const awake = (): void => {
      // Whoever moves the flag on first (this side or a writer) makes it even: no writer wakes a consumer that is up.
      Atomics.compareExchange(this.control, SLEEPING, generation, (generation + 1) | 0);
      wake();
    };
    const seen = Atomics.load(this.control, WRITE);
    if (seen !== Atomics.load(this.control, READ)) return awake();
    const waiting = Atomics.waitAsync(this.control, WRITE, seen, SLEEP_MAX_MS);
    if (!waiting.async) return awake();
    void waiting.value.then(awake);
  }

  /** Ends a pending whenWritten (its `wake` is then called: the caller checks whether it is closing). */
  interrupt(): void {
    Atomics.notify(this.control, WRITE);
  }

  private decisionAt(at: number): Decision {
    const view = this.view;
    const flags = this.bytes[at + 14] as number;
    let o = at + HEADER_BYTES;
    const read = (): string => {
      const header = view.getUint32(o, true);
      const count = header & ~UTF16;
      const utf16 = (header & UTF16) !== 0;
      const start = o + 4;
      o = start + (utf16 ? 2 * count : count);
      return this.buffer.toString(utf16 ? 'utf16le' : 'latin1', start, o);
    };
    const segment = read();
    const client = read();
    const qname = read();
    const list = read();
    const rule = read();
    const listVersion = read();
    const transport = TRANSPORTS[(flags >>> 4) & 7];
    return {
      ts: view.getFloat64(at + 4, true),
      segment,
      client,
      pseudonymize: (flags & 1) === 1,
      qname,
      qtype: view.getUint16(at + 12, true),
      action: ACTIONS[(flags >>> 1) & 1] as DecisionAction,
      list,
      rule,
      listVersion,
      response: RESPONSES[(flags >>> 2) & 3] as DecisionResponse,
      ...(transport ? { transport } : {}),
    };
  }
}
