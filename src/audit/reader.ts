// The reading side of the block log, behind a small interface: the API and `audit export`
// use AuditReader; today FileAuditReader reads audit.dir, a later issue adds one over the
// fleet-wide Redis stream.
import { stat } from 'node:fs/promises';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { type AuditEvent, inSchemaOrder } from './event.ts';
import { type EventFile, compareEventFiles, listEventFiles, readLines } from './files.ts';

export interface AuditFilter {
  /** Inclusive lower bound, ISO 8601 UTC with ms (use parseTime). */
  from?: string;
  /** Exclusive upper bound, ISO 8601 UTC with ms. */
  to?: string;
  segment?: string;
  action?: 'blocked' | 'logged';
  /** Suffix match on label boundaries: "tiktok.com" matches "tiktok.com" and "www.tiktok.com". */
  qname?: string;
  list?: string;
  /** Exact match on the stored client (an address, or an "anon:" pseudonym). */
  client?: string;
}

export interface AuditEventsQuery extends AuditFilter {
  limit: number;
  /** Opaque, from a previous page's `next`. */
  cursor?: string;
}

export interface AuditPage {
  events: AuditEvent[];
  /** Cursor for the next page; null when there is nothing more (yet). */
  next: string | null;
}

export interface AuditSummaryRow {
  segment: string;
  action: string;
  list: string;
  count: number;
}

export interface AuditSummary {
  from: string | null;
  to: string | null;
  total: number;
  by_segment: Record<string, number>;
  by_action: Record<string, number>;
  by_list: Record<string, number>;
  rows: AuditSummaryRow[];
}

export interface AuditReader {
  /** One page, oldest first. */
  events(query: AuditEventsQuery): Promise<AuditPage>;
  /** Counts per segment, action and list. */
  summary(filter: AuditFilter): Promise<AuditSummary>;
  /** Every matching event, oldest first (export). */
  stream(filter: AuditFilter): AsyncIterable<AuditEvent>;
}

/** Accepts ISO 8601 ("2026-11-28T10:00:00Z", "2026-11-28") or epoch milliseconds; undefined when unparsable. */
export function parseTime(text: string): string | undefined {
  const value = /^\d{10,}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(value)) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function normalizeQname(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

export function matches(e: AuditEvent, f: AuditFilter): boolean {
  if (f.from !== undefined && e.ts < f.from) return false;
  if (f.to !== undefined && e.ts >= f.to) return false;
  if (f.segment !== undefined && e.segment !== f.segment) return false;
  if (f.action !== undefined && e.action !== f.action) return false;
  if (f.list !== undefined && e.list !== f.list) return false;
  if (f.client !== undefined && e.client !== f.client) return false;
  if (f.qname !== undefined && f.qname !== '') {
    const q = f.qname;
    if (e.qname !== q && !(e.qname.endsWith(q) && e.qname.charCodeAt(e.qname.length - q.length - 1) === 46)) return false;
  }
  return true;
}

interface Position {
  file: string;
  offset: number;
}

interface Item {
  event: AuditEvent;
  instance: string;
  file: string;
  end: number;
}

export class FileAuditReader implements AuditReader {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  async events(query: AuditEventsQuery): Promise<AuditPage> {
    const positions = query.cursor ? decodeCursor(query.cursor) : {};
    const streams = await this.openStreams(query, positions);
    const events: AuditEvent[] = [];
    const heads = await Promise.all(streams.map((s) => s.next()));
    const after = new Map<string, Position>(Object.entries(positions).map(([k, v]) => [k, v]));
    for (const s of streams) if (!after.has(s.instance)) after.set(s.instance, { file: '', offset: 0 });
    while (events.length < query.limit) {
      const i = pickOldest(heads);
      if (i < 0) break;
      const item = heads[i]!.value as Item;
      events.push(item.event);
      after.set(item.instance, { file: item.file, offset: item.end });
      heads[i] = await streams[i]!.next();
    }
    const more = pickOldest(heads) >= 0;
    await Promise.all(streams.map((s) => s.return(undefined)));
    return { events, next: more ? encodeCursor(after) : null };
  }

  async summary(filter: AuditFilter): Promise<AuditSummary> {
    const counts = new Map<string, AuditSummaryRow>();
    const summary: AuditSummary = { from: filter.from ?? null, to: filter.to ?? null, total: 0, by_segment: {}, by_action: {}, by_list: {}, rows: [] };
    for await (const e of this.stream(filter)) {
      summary.total++;
      summary.by_segment[e.segment] = (summary.by_segment[e.segment] ?? 0) + 1;
      summary.by_action[e.action] = (summary.by_action[e.action] ?? 0) + 1;
      summary.by_list[e.list] = (summary.by_list[e.list] ?? 0) + 1;
      const key = `${e.segment}\u0000${e.action}\u0000${e.list}`;
      const row = counts.get(key);
      if (row) row.count++;
      else counts.set(key, { segment: e.segment, action: e.action, list: e.list, count: 1 });
    }
    summary.rows = [...counts.values()].sort((a, b) => b.count - a.count || a.segment.localeCompare(b.segment) || a.action.localeCompare(b.action) || a.list.localeCompare(b.list));
    return summary;
  }

  async *stream(filter: AuditFilter): AsyncGenerator<AuditEvent> {
    const streams = await this.openStreams(filter, {});
    const heads = await Promise.all(streams.map((s) => s.next()));
    try {
      while (true) {
        const i = pickOldest(heads);
        if (i < 0) return;
        yield (heads[i]!.value as Item).event;
        heads[i] = await streams[i]!.next();
      }
    } finally {
      await Promise.all(streams.map((s) => s.return(undefined)));
    }
  }

  /** One stream per instance, in file order, starting after the cursor position. */
  private async openStreams(filter: AuditFilter, positions: Record<string, Position>): Promise<(AsyncGenerator<Item> & { instance: string })[]> {
    const files = await listEventFiles(this.dir);
    const byInstance = new Map<string, EventFile[]>();
    const fromDate = filter.from?.slice(0, 10);
    const toDate = filter.to?.slice(0, 10);
    for (const f of files) {
      // A file holds events of its date (and, after a clock step back, earlier ones): never later ones.
      if (fromDate !== undefined && f.date < fromDate) continue;
      if (toDate !== undefined && f.date > toDate) continue;
      const list = byInstance.get(f.instance) ?? [];
      list.push(f);
      byInstance.set(f.instance, list);
    }
    return [...byInstance.entries()].map(([instance, list]) => Object.assign(this.instanceStream(list, filter, positions[instance]), { instance }));
  }

  private async *instanceStream(files: EventFile[], filter: AuditFilter, position: Position | undefined): AsyncGenerator<Item> {
    const instance = files[0]?.instance ?? '';
    for (const f of files) {
      let offset = 0;
      if (position && position.file !== '') {
        const at = compareEventFiles(f, { ...f, ...parsePositionFile(position.file, f) });
        if (at < 0) continue;
        if (f.name === position.file) {
          offset = position.offset;
          const size = await stat(f.path).then((s) => s.size, () => 0);
          if (offset > size) offset = size;
        }
      }
      for await (const line of readLines(f.path, offset)) {
        if (!line.complete) break;
        let event: AuditEvent;
        try {
          event = JSON.parse(line.text) as AuditEvent;
        } catch {
          continue; // damaged line: `audit verify` reports it
        }
        // Seal lines (signatures) are not events.
        if (event === null || typeof event !== 'object' || typeof event.ts !== 'string' || 'type' in event) continue;
        if (matches(event, filter)) yield { event: inSchemaOrder(event as unknown as Record<string, unknown>), instance, file: f.name, end: line.end };
      }
    }
  }
}

function parsePositionFile(name: string, like: EventFile): Pick<EventFile, 'date' | 'index'> {
  const m = /-(\d{4}-\d{2}-\d{2})-(\d{3,})\.jsonl$/.exec(name);
  return m ? { date: m[1] as string, index: Number(m[2]) } : { date: like.date, index: like.index };
}

function pickOldest(heads: IteratorResult<Item>[]): number {
  let best = -1;
  let bestTs = '';
  let bestInstance = '';
  for (let i = 0; i < heads.length; i++) {
    const h = heads[i] as IteratorResult<Item>;
    if (h.done) continue;
    const { ts } = h.value.event;
    if (best < 0 || ts < bestTs || (ts === bestTs && h.value.instance < bestInstance)) {
      best = i;
      bestTs = ts;
      bestInstance = h.value.instance;
    }
  }
  return best;
}

function encodeCursor(positions: Map<string, Position>): string {
  const p: Record<string, [string, number]> = {};
  for (const [instance, pos] of positions) p[instance] = [pos.file, pos.offset];
  return Buffer.from(JSON.stringify({ v: 1, p }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): Record<string, Position> {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { v: number; p: Record<string, [string, number]> };
    if (parsed.v !== 1 || typeof parsed.p !== 'object' || parsed.p === null) throw new Error('version');
    const out: Record<string, Position> = {};
    for (const [instance, value] of Object.entries(parsed.p)) {
      if (!Array.isArray(value) || typeof value[0] !== 'string' || !Number.isSafeInteger(value[1]) || value[1] < 0) throw new Error('shape');
      out[instance] = { file: value[0], offset: value[1] };
    }
    return out;
  } catch (error) {
    throw new DnswardError(ErrorCodes.AUDIT_READ, 'cursor is not valid: pass the "next" value of the previous page unchanged', { cause: error });
  }
}
