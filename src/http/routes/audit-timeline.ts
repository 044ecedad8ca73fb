// GET /api/audit/timeline (role auditor): block-log counts per hour or day and per segment,
// list or action, for the dashboard's charts. One pass over the range through AuditReader,
// with bounded work: at most MAX_BUCKETS buckets, MAX_SERIES series per dimension (the rest
// summed as "other"), MAX_EVENTS events counted (then `truncated`), MAX_SCANS at once.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { createAuditReader } from '../../audit/index.ts';
import { type AuditFilter, normalizeQname, parseTime } from '../../audit/reader.ts';
import { createAuth } from '../auth.ts';
import type { HttpDeps } from '../deps.ts';

export const MAX_BUCKETS = 1000;
export const MAX_SERIES = 20;
export const MAX_EVENTS = 2_000_000;
export const MAX_SCANS = 2;
const BUCKET_MS = { hour: 3_600_000, day: 86_400_000 } as const;
const DIMENSIONS = ['segment', 'list', 'action'] as const;
const DEFAULT_RANGE_MS = 86_400_000;
/** Distinct keys counted one by one per dimension; more (a log full of old names) go to "other" directly. */
const MAX_TRACKED_KEYS = 1000;

export type Bucket = keyof typeof BUCKET_MS;
export type Dimension = (typeof DIMENSIONS)[number];

export const KNOWN_PARAMETERS = ['from', 'to', 'bucket', 'by', 'segment', 'action', 'list', 'qname', 'client'] as const;

export interface TimelineQuery {
  filter: AuditFilter & { from: string; to: string };
  bucket: Bucket;
  by: Dimension[];
}

export interface TimelineSeries {
  key: string;
  counts: number[];
  total: number;
}

export interface TimelineResult {
  from: string;
  to: string;
  bucket: Bucket;
  /** Start of each bucket (UTC, ISO 8601); the first one may start before `from`. */
  buckets: string[];
  total: number;
  /** True when more than MAX_EVENTS events matched: counts stop at `counted_to`. */
  truncated: boolean;
  counted_to: string | null;
  by: Partial<Record<Dimension, { series: TimelineSeries[]; other: { keys: number; counts: number[]; total: number } | null }>>;
}

export class TimelineRequestError extends Error {}

type Query = Record<string, string | string[] | undefined>;

function single(query: Query, key: string): string | undefined {
  const value = query[key];
  if (Array.isArray(value)) throw new TimelineRequestError(`${key}: give it once`);
  return value === undefined || value === '' ? undefined : value;
}

/** Validates every parameter; throws TimelineRequestError with a message that says what to send. */
export function parseTimelineQuery(query: Query, now: number = Date.now()): TimelineQuery {
  const unknown = Object.keys(query).filter((k) => !(KNOWN_PARAMETERS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new TimelineRequestError(`unknown parameter ${unknown.map((k) => `"${k}"`).join(', ')}; known: ${KNOWN_PARAMETERS.join(', ')}`);
  const time = (key: 'from' | 'to'): string | undefined => {
    const text = single(query, key);
    if (text === undefined) return undefined;
    const iso = parseTime(text);
    if (iso === undefined) throw new TimelineRequestError(`${key}: "${text}" is not a time; use ISO 8601 (2026-11-28T10:00:00Z or 2026-11-28) or epoch milliseconds`);
    return iso;
  };
  const to = time('to') ?? new Date(now).toISOString();
  const from = time('from') ?? new Date(Date.parse(to) - DEFAULT_RANGE_MS).toISOString();
  if (from >= to) throw new TimelineRequestError('from must be before to (to is exclusive)');

  const bucketText = single(query, 'bucket') ?? 'hour';
  if (bucketText !== 'hour' && bucketText !== 'day') throw new TimelineRequestError(`bucket: "${bucketText}" is not valid; use hour or day`);
  const bucket: Bucket = bucketText;
  const count = bucketCount(Date.parse(from), Date.parse(to), bucket);
  if (count > MAX_BUCKETS) {
    throw new TimelineRequestError(`from..to spans ${count} ${bucket} buckets; at most ${MAX_BUCKETS}: narrow the range${bucket === 'hour' ? ' or use bucket=day' : ''}`);
  }

  const by: Dimension[] = [];
  for (const part of (single(query, 'by') ?? 'segment').split(',')) {
    if (!(DIMENSIONS as readonly string[]).includes(part)) throw new TimelineRequestError(`by: "${part}" is not valid; use ${DIMENSIONS.join(', ')}, or several joined by commas`);
    if (!by.includes(part as Dimension)) by.push(part as Dimension);
  }

  const filter: TimelineQuery['filter'] = { from, to };
  for (const key of ['segment', 'list', 'client'] as const) {
    const value = single(query, key);
    if (value !== undefined) filter[key] = value;
  }
  const action = single(query, 'action');
  if (action !== undefined) {
    if (action !== 'blocked' && action !== 'logged') throw new TimelineRequestError(`action: "${action}" is not valid; use blocked or logged`);
    filter.action = action;
  }
  const qname = single(query, 'qname');
  if (qname !== undefined) filter.qname = normalizeQname(qname);
  return { filter, bucket, by };
}

/** UTC start of the bucket holding `ms` (hours and days both divide the epoch evenly in UTC). */
export function bucketStart(ms: number, bucket: Bucket): number {
  const size = BUCKET_MS[bucket];
  return Math.floor(ms / size) * size;
}

/** Buckets needed to cover [from, to): the first is aligned down to a bucket boundary. */
export function bucketCount(from: number, to: number, bucket: Bucket): number {
  return Math.ceil((to - bucketStart(from, bucket)) / BUCKET_MS[bucket]);
}

/** Counts events into buckets per dimension; add() takes them in any order. */
export class TimelineCounter {
  private readonly start: number;
  private readonly size: number;
  private readonly length: number;
  private readonly query: TimelineQuery;
  private readonly counts = new Map<Dimension, Map<string, number[]>>();
  private readonly overflow = new Map<Dimension, { keys: Set<string>; counts: number[] }>();
  private total = 0;
  private lastTs: string | null = null;

  constructor(query: TimelineQuery) {
    this.query = query;
    this.start = bucketStart(Date.parse(query.filter.from), query.bucket);
    this.size = BUCKET_MS[query.bucket];
    this.length = bucketCount(Date.parse(query.filter.from), Date.parse(query.filter.to), query.bucket);
    for (const d of query.by) this.counts.set(d, new Map());
  }

  get counted(): number {
    return this.total;
  }

  /** False when the event lies outside [from, to) (the reader filters; this guards the index). */
  add(event: { ts: string; segment: string; list: string; action: string }): boolean {
    const index = Math.floor((Date.parse(event.ts) - this.start) / this.size);
    if (!(index >= 0 && index < this.length) || event.ts < this.query.filter.from || event.ts >= this.query.filter.to) return false;
    this.total++;
    this.lastTs = event.ts;
    for (const [dimension, byKey] of this.counts) {
      const key = event[dimension];
      let row = byKey.get(key);
      if (row === undefined) {
        if (byKey.size >= MAX_TRACKED_KEYS) {
          const other = this.overflow.get(dimension) ?? { keys: new Set<string>(), counts: new Array<number>(this.length).fill(0) };
          this.overflow.set(dimension, other);
          if (other.keys.size < MAX_TRACKED_KEYS) other.keys.add(key);
          other.counts[index] = (other.counts[index] as number) + 1;
          continue;
        }
        row = new Array<number>(this.length).fill(0);
        byKey.set(key, row);
      }
      row[index] = (row[index] as number) + 1;
    }
    return true;
  }

  result(truncated = false): TimelineResult {
    const buckets = Array.from({ length: this.length }, (_, i) => new Date(this.start + i * this.size).toISOString());
    const by: TimelineResult['by'] = {};
    for (const [dimension, byKey] of this.counts) {
      const all = [...byKey].map(([key, counts]) => ({ key, counts, total: sum(counts) })).sort((a, b) => b.total - a.total || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const kept = all.slice(0, MAX_SERIES);
      const rest = all.slice(MAX_SERIES);
      const overflow = this.overflow.get(dimension);
      let other: { keys: number; counts: number[]; total: number } | null = null;
      if (rest.length > 0 || overflow) {
        const counts = overflow ? [...overflow.counts] : new Array<number>(this.length).fill(0);
        for (const s of rest) for (let i = 0; i < counts.length; i++) counts[i] = (counts[i] as number) + (s.counts[i] as number);
        other = { keys: rest.length + (overflow?.keys.size ?? 0), counts, total: sum(counts) };
      }
      by[dimension] = { series: kept, other };
    }
    const { from, to } = this.query.filter;
    return { from, to, bucket: this.query.bucket, buckets, total: this.total, truncated, counted_to: truncated ? this.lastTs : null, by };
  }
}

function sum(values: number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

function badRequest(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(400).header('cache-control', 'no-store').send({ error: 'bad_request', message });
}

export function registerAuditTimelineRoutes(app: FastifyInstance, deps: Pick<HttpDeps, 'config' | 'audit'>): void {
  const auth = createAuth(deps.config.auth.tokens);
  const reader = deps.audit ?? createAuditReader(deps.config);
  let scans = 0;

  app.get('/api/audit/timeline', { preHandler: auth.require('auditor') }, async (request, reply) => {
    let query: TimelineQuery;
    try {
      query = parseTimelineQuery(request.query as Query);
    } catch (error) {
      if (error instanceof TimelineRequestError) return badRequest(reply, error.message);
      throw error;
    }
    if (scans >= MAX_SCANS) {
      return reply.code(503).header('retry-after', '1').header('cache-control', 'no-store').send({ error: 'busy', message: `${MAX_SCANS} timelines are being counted; retry in a second` });
    }
    scans++;
    try {
      const counter = new TimelineCounter(query);
      let truncated = false;
      for await (const event of reader.stream(query.filter)) {
        if (counter.counted >= MAX_EVENTS) {
          truncated = true;
          break;
        }
        counter.add(event);
      }
      reply.header('cache-control', 'no-store');
      return counter.result(truncated);
    } finally {
      scans--;
    }
  });
}
