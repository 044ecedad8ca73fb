// The auditor API's reader over the fleet-wide stream: every replica's events, so the API of
// any replica answers for the whole fleet. Pages follow the stream's arrival order (events a
// replica spooled during an outage arrive late, with their own ts); a cursor is a stream id.
// Each request's work is bounded (maxScan entries); a summary that hit the bound says so.
// While Redis is away the reader falls back to this replica's own files (scope "local").
import { type AuditEvent, inSchemaOrder } from '../audit/event.ts';
import { type AuditEventsQuery, type AuditFilter, type AuditPage, type AuditReader, type AuditSummary, type AuditSummaryRow, matches } from '../audit/reader.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { idBeforeTime, parseEventId } from '../state/stream-ids.ts';
import type { SharedState, StreamEntry } from '../state/types.ts';

/** How far before `from` the scan starts: an event reaches the stream after its ts (and clocks differ). */
const ARRIVAL_SLACK_MS = 5 * 60_000;
const PAGE = 1000;
const CURSOR_PREFIX = 's.';

export interface StreamReaderOptions {
  /** Stream entries one request reads at most (default 200,000 for a page, 2,000,000 for a summary). */
  maxScan?: number;
  maxSummaryScan?: number;
}

export type FleetAuditPage = AuditPage & { scope: 'fleet' | 'local' };
export type FleetAuditSummary = AuditSummary & { scope: 'fleet' | 'local'; truncated: boolean };

export class StreamAuditReader implements AuditReader {
  private readonly state: SharedState;
  private readonly local: AuditReader;
  private readonly maxScan: number;
  private readonly maxSummaryScan: number;

  constructor(state: SharedState, local: AuditReader, options: StreamReaderOptions = {}) {
    this.state = state;
    this.local = local;
    this.maxScan = options.maxScan ?? 200_000;
    this.maxSummaryScan = options.maxSummaryScan ?? 2_000_000;
  }

  async events(query: AuditEventsQuery): Promise<FleetAuditPage> {
    const streamCursor = query.cursor?.startsWith(CURSOR_PREFIX) === true;
    if (this.state.status().state !== 'up' || (query.cursor !== undefined && !streamCursor)) {
      if (streamCursor) throw new DnswardError(ErrorCodes.AUDIT_READ, 'this cursor reads the fleet-wide stream, which is unreachable now (redis is down); try again later, or start without a cursor to read this replica\'s own log');
      return { ...(await this.local.events(query)), scope: query.cursor !== undefined || this.state.status().state !== 'up' ? 'local' : 'fleet' };
    }
    let after = streamCursor ? checkId((query.cursor as string).slice(CURSOR_PREFIX.length)) : startId(query);
    const events: AuditEvent[] = [];
    let scanned = 0;
    let end = false;
    scan: while (scanned < this.maxScan) {
      const want = Math.min(PAGE, this.maxScan - scanned);
      const rows = await this.state.readStream(after, want);
      for (const row of rows) {
        scanned++;
        after = row.id;
        const event = parse(row);
        if (event && matches(event, query)) {
          events.push(event);
          if (events.length === query.limit) break scan;
        }
      }
      if (rows.length < want) {
        end = true;
        break;
      }
    }
    // A full page may have been the last: look one entry ahead.
    if (!end && events.length === query.limit) end = (await this.state.readStream(after, 1)).length === 0;
    return { events, next: end ? null : `${CURSOR_PREFIX}${after}`, scope: 'fleet' };
  }

  async summary(filter: AuditFilter): Promise<FleetAuditSummary> {
    const summary: FleetAuditSummary = { from: filter.from ?? null, to: filter.to ?? null, total: 0, by_segment: {}, by_action: {}, by_list: {}, rows: [], scope: 'fleet', truncated: false };
    if (this.state.status().state !== 'up') return { ...(await this.local.summary(filter)), scope: 'local', truncated: false };
    const counts = new Map<string, AuditSummaryRow>();
    let after = startId(filter);
    let scanned = 0;
    for (;;) {
      const rows = await this.state.readStream(after, PAGE);
      for (const row of rows) {
        const e = parse(row);
        if (!e || !matches(e, filter)) continue;
        summary.total++;
        summary.by_segment[e.segment] = (summary.by_segment[e.segment] ?? 0) + 1;
        summary.by_action[e.action] = (summary.by_action[e.action] ?? 0) + 1;
        summary.by_list[e.list] = (summary.by_list[e.list] ?? 0) + 1;
        const key = `${e.segment}\u0000${e.action}\u0000${e.list}`;
        const row2 = counts.get(key);
        if (row2) row2.count++;
        else counts.set(key, { segment: e.segment, action: e.action, list: e.list, count: 1 });
      }
      scanned += rows.length;
      if (rows.length < PAGE) break;
      after = (rows.at(-1) as StreamEntry).id;
      if (scanned >= this.maxSummaryScan) {
        summary.truncated = true;
        break;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    summary.rows = [...counts.values()].sort((a, b) => b.count - a.count || a.segment.localeCompare(b.segment) || a.action.localeCompare(b.action) || a.list.localeCompare(b.list));
    return summary;
  }

  async *stream(filter: AuditFilter): AsyncGenerator<AuditEvent> {
    if (this.state.status().state !== 'up') {
      yield* this.local.stream(filter);
      return;
    }
    let after = startId(filter);
    for (;;) {
      const rows = await this.state.readStream(after, PAGE);
      for (const row of rows) {
        const e = parse(row);
        if (e && matches(e, filter)) yield e;
      }
      if (rows.length < PAGE) return;
      after = (rows.at(-1) as StreamEntry).id;
    }
  }
}

/** Where a scan for events from `from` on starts ('' = the beginning). */
function startId(filter: AuditFilter): string {
  if (filter.from === undefined) return '';
  return idBeforeTime(Date.parse(filter.from) - ARRIVAL_SLACK_MS);
}

function checkId(id: string): string {
  if (parseEventId(id) === undefined) throw new DnswardError(ErrorCodes.AUDIT_READ, 'cursor is not valid: pass the "next" value of the previous page unchanged');
  return id;
}

function parse(row: StreamEntry): AuditEvent | undefined {
  try {
    const event = JSON.parse(row.line) as Record<string, unknown>;
    return typeof event.ts === 'string' ? inSchemaOrder(event) : undefined;
  } catch {
    return undefined;
  }
}
