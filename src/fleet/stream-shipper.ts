// Ships this replica's block-log events into the fleet-wide stream. The replica's own event
// files are the spool: the shipper reads them behind the writer (never on the query path) and
// appends the lines, as written and hashed, in batches. The stream records the last seq it has
// of each replica in the same step as the events (SHIP_EVENTS), so a batch is taken exactly
// once and in order: after a lost reply, a restart or a Redis outage the shipper asks where
// the stream stands and goes on from the next seq. While Redis is away the events simply wait
// in the files; nothing is held in memory and nothing is lost.
import type { Logger } from 'pino';
import { type EventFile, compareEventFiles, listEventFiles, readLines } from '../audit/files.ts';
import { type SharedState, SharedStateUnavailable } from '../state/types.ts';

export interface StreamShipperOptions {
  dir: string;
  instance: string;
  state: SharedState;
  logger: Logger;
  /** The block log's durable head (its last seq on disk), for the spool count. */
  headSeq: () => number;
  /** At first start, events older than this are not shipped (the stream would drop them). 0: all. */
  retentionDays: number;
  /** Events per stream write (default 500). */
  batch?: number;
  /** How often to look for new events (ms, default 250). */
  intervalMs?: number;
}

export interface ShipperStats {
  /** The last seq of this replica in the stream, as far as known. */
  shippedSeq: number;
  /** Events on disk not yet in the stream. */
  spooled: number;
  /** Events shipped by this process. */
  shipped: number;
}

/** Where the next event to ship starts, after event `seq`. */
interface Position {
  file: string;
  offset: number;
  seq: number;
}

interface Batch {
  lines: string[];
  firstSeq: number;
  next: Position;
  gap: boolean;
}

const SEQ = /"seq":(\d+)/;

export class StreamShipper {
  private readonly options: StreamShipperOptions;
  private readonly log: Logger;
  private readonly batchSize: number;
  private position: Position | undefined;
  /** No position known in the stream: skip events past retention. */
  private fresh = false;
  private shippedSeq = 0;
  private shipped = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private backlogLogged = false;

  constructor(options: StreamShipperOptions) {
    this.options = options;
    this.log = options.logger.child({ component: 'stream' });
    this.batchSize = options.batch ?? 500;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs ?? 250);
    this.timer.unref();
  }

  /** Stops the timer and ships what the files hold, giving up after `deadlineMs` (the rest ships at the next start). */
  async stop(deadlineMs = 2000): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.race([this.tick(), new Promise((resolve) => setTimeout(resolve, deadlineMs).unref())]);
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
    if (state.status().state !== 'up') return;
    if (this.position === undefined) {
      const known = await state.shippedSeq(instance);
      this.fresh = known === undefined;
      this.shippedSeq = known ?? 0;
      this.position = await this.locate(this.shippedSeq);
    }
    const backlog = this.options.headSeq() - this.shippedSeq;
    for (;;) {
      const batch = await this.readBatch(this.position);
      if (batch === undefined) break;
      if (batch.lines.length === 0) {
        this.position = batch.next; // only expired events: skipped
        continue;
      }
      const result = await state.shipEvents(instance, batch.firstSeq, batch.lines, batch.gap || this.fresh);
      if (!result.ok) {
        // The stream stands elsewhere (a lost reply, another process, Redis restored from a backup): go on from there.
        this.log.warn({ expected: batch.firstSeq - 1, stream: result.shipped }, 'the stream has this replica up to another seq; continuing from there');
        this.shippedSeq = result.shipped;
        this.position = await this.locate(result.shipped);
        this.fresh = false;
        continue;
      }
      this.fresh = false;
      this.shippedSeq = result.seq;
      this.shipped += batch.lines.length;
      this.position = batch.next;
    }
    if (backlog > this.batchSize && !this.backlogLogged) {
      this.log.info({ events: backlog, seq: this.shippedSeq }, 'spooled block-log events replayed into the stream');
    }
    this.backlogLogged = backlog > this.batchSize;
  }

  /**
   * The events after `pos`, up to a batch; undefined when there is nothing new. An event counts
   * as written once the seal of its write follows it (a restart sets unsealed lines aside and
   * reuses their seq numbers, so they must never reach the stream). A finished file without any
   * seal was written before seals existed: its events count as they are.
   */
  private async readBatch(pos: Position): Promise<Batch | undefined> {
    const files = await this.files(pos.file);
    const lines: string[] = [];
    let firstSeq = 0;
    let lastSeq = pos.seq;
    let next: Position = pos;
    let pending: { line: string; seq: number; end: number; file: string }[] = [];
    const cutoff = this.fresh && this.options.retentionDays > 0 ? new Date(Date.now() - this.options.retentionDays * 86_400_000).toISOString() : '';
    /** Takes the pending events; true when the batch is full (or ends at a gap). */
    const commit = (): boolean => {
      while (pending.length > 0) {
        const p = pending[0] as (typeof pending)[number];
        if (lines.length > 0 && p.seq !== lastSeq + 1) return true; // a gap: this batch ends before it
        pending.shift();
        if (p.seq <= lastSeq) {
          this.log.warn({ file: p.file, seq: p.seq, after: lastSeq }, 'block-log line out of order skipped ("dnsward audit verify" reports it)');
        } else if (cutoff === '' || extractTs(p.line) >= cutoff) {
          if (lines.length === 0) firstSeq = p.seq;
          lines.push(p.line);
          lastSeq = p.seq;
        }
        next = { file: p.file, offset: p.end, seq: Math.max(lastSeq, p.seq) };
        if (lines.length >= this.batchSize) return true;
      }
      return false;
    };
    for (const [i, f] of files.entries()) {
      const from = f.name === pos.file ? pos.offset : 0;
      let sealed = false;
      let end = from;
      for await (const line of readLines(f.path, from)) {
        if (!line.complete) break;
        end = line.end;
        if (line.text.startsWith('{"type":"seal"')) {
          sealed = true;
          if (commit()) return this.batch(lines, firstSeq, next, pos);
          next = { file: f.name, offset: line.end, seq: next.seq };
          continue;
        }
        const m = SEQ.exec(line.text);
        if (m && line.text.includes('"action":')) pending.push({ line: line.text, seq: Number(m[1]), end: line.end, file: f.name });
      }
      if (i === files.length - 1) break; // the newest file: its unsealed events wait for their seal
      if (!sealed && commit()) return this.batch(lines, firstSeq, next, pos);
      if (pending.length > 0) {
        this.log.warn({ file: f.name, events: pending.length }, 'unsealed block-log events in a finished file are not shipped ("dnsward audit verify" reports them)');
        pending = [];
        next = { file: f.name, offset: end, seq: next.seq };
      }
    }
    if (lines.length === 0 && next === pos) return undefined;
    return this.batch(lines, firstSeq, next, pos);
  }

  private batch(lines: string[], firstSeq: number, next: Position, pos: Position): Batch {
    return { lines, firstSeq, next, gap: lines.length > 0 && firstSeq !== pos.seq + 1 };
  }

  /** This instance's event files from `from` on (all when ''). */
  private async files(from: string): Promise<EventFile[]> {
    const files = await listEventFiles(this.options.dir, this.options.instance);
    if (from === '') return files;
    const at = files.find((f) => f.name === from);
    return at ? files.filter((f) => compareEventFiles(f, at) >= 0) : files.filter((f) => f.name > from);
  }

  /** The position just after event `seq` in the files (the start, for 0). */
  private async locate(seq: number): Promise<Position> {
    const files = await listEventFiles(this.options.dir, this.options.instance);
    if (seq === 0 || files.length === 0) return { file: '', offset: 0, seq };
    // The last file that starts at or before seq + 1 holds it (or seq is the last of an earlier one).
    let holder = files[0] as EventFile;
    for (const f of files) {
      const first = await firstSeq(f.path);
      if (first === undefined) continue;
      if (first > seq + 1) break;
      holder = f;
    }
    let offset = 0;
    for await (const line of readLines(holder.path)) {
      if (!line.complete) break;
      const m = SEQ.exec(line.text);
      if (m && line.text.includes('"action":') && Number(m[1]) > seq) break;
      offset = line.end;
    }
    return { file: holder.name, offset, seq };
  }
}

async function firstSeq(path: string): Promise<number | undefined> {
  for await (const line of readLines(path, 0, 64 * 1024)) {
    if (!line.complete) return undefined;
    const m = SEQ.exec(line.text);
    if (m && line.text.includes('"action":')) return Number(m[1]);
  }
  return undefined;
}

function extractTs(line: string): string {
  return /"ts":"([^"]+)"/.exec(line)?.[1] ?? '';
}
