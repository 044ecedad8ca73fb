// The dashboard's pure functions: form values to API parameters, what a 401/403 means,
// the fleet panel's model (from GET /api/fleet or, without it, GET /readyz), chart geometry,
// CSV page joining, and making log text printable. No DOM and no network here, so Node
// unit-tests them (test/unit/http/dashboard/page/model.test.ts).

export const FILTER_KEYS = ['from', 'to', 'segment', 'action', 'list', 'qname', 'client'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
/** The filter form's raw values ('' = any); from/to are datetime-local values read as UTC. */
export type FilterForm = Record<FilterKey, string>;

export const HOUR_MS = 3_600_000;
/** Ranges up to this long are charted per hour, longer ones per day. */
export const HOURLY_UP_TO_MS = 72 * HOUR_MS;

export class FilterError extends Error {}

/** A datetime-local value ("2026-11-28T10:00", seconds optional) read as UTC; '' → undefined. */
export function utcInputToIso(value: string, field: string): string | undefined {
  const text = value.trim();
  if (text === '') return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(text) ? Date.parse(`${text}Z`) : Number.NaN;
  if (!Number.isFinite(ms)) throw new FilterError(`${field}: "${text}" is not a time; use YYYY-MM-DDTHH:MM (UTC)`);
  return new Date(ms).toISOString();
}

/** The datetime-local value (UTC, minutes) for a time. */
export function isoToUtcInput(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16);
}

/** API parameters for the form (empty fields left out, To empty = now); throws FilterError on a missing or bad time range. */
export function filterParams(form: FilterForm): URLSearchParams {
  const params = new URLSearchParams();
  const from = utcInputToIso(form.from, 'From');
  const to = utcInputToIso(form.to, 'To');
  if (from === undefined) throw new FilterError('From: give the start of the range (UTC)');
  if (to !== undefined && from >= to) throw new FilterError('From must be before To');
  params.set('from', from);
  if (to !== undefined) params.set('to', to);
  for (const key of ['segment', 'action', 'list', 'qname', 'client'] as const) {
    const value = form[key].trim();
    if (value !== '') params.set(key, value);
  }
  return params;
}

/** Hourly buckets for up to three days, daily beyond (the API allows at most 1000 buckets). */
export function chooseBucket(params: URLSearchParams, now: number): 'hour' | 'day' {
  const to = params.has('to') ? Date.parse(params.get('to') as string) : now;
  const from = params.has('from') ? Date.parse(params.get('from') as string) : to - 24 * HOUR_MS;
  return to - from <= HOURLY_UP_TO_MS ? 'hour' : 'day';
}

/** What the auditor reads when the API refuses the token (401) or its role (403). */
export function authProblem(status: number, body: unknown): string {
  const message = typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string' ? (body as { message: string }).message : '';
  const why = message ? `: ${message}` : '';
  if (status === 403) return `This token may not read the block log (403 Forbidden)${why}. Use a token with role auditor or admin.`;
  return `The server did not accept this token (401 Unauthorized)${why}. Check it and enter it again.`;
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\\\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** A name from the wire: every byte outside printable ASCII (space included) is escaped, as DNS presentation does. */
const WIRE = /[^\u0021-\u005b\u005d-\u007e]/g;

/**
 * Log text made visible and unambiguous: control characters (and bidi overrides) become
 * DNS-style \DDD escapes and "\" becomes "\\"; with `wire` (qnames, rules) every byte outside
 * printable ASCII is escaped too, so a name reads as the bytes that were asked.
 */
export function printable(text: string, wire = false): string {
  return text.replace(wire ? WIRE : CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    if (c === '\\') return '\\\\';
    return code <= 0xff ? `\\${String(code).padStart(3, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

// ---- fleet panel ----

export interface ListVersion {
  name: string;
  version: string;
  entries: number;
}

export interface ReplicaView {
  instance: string;
  version: string;
  self: boolean;
  lists: ListVersion[];
  lastHeartbeat: string;
  redis: string;
  audit: string;
}

export interface ListVersionRow {
  name: string;
  /** One entry per distinct version, with the replicas that run it. */
  versions: { version: string; entries: number; instances: string[] }[];
}

export interface FleetView {
  source: '/api/fleet' | '/readyz';
  /** Says where the panel's data came from, and what that leaves out. */
  note: string;
  replicas: ReplicaView[];
  /** From /api/fleet; null when only this replica is known. */
  consistent: boolean | null;
  lists: ListVersionRow[];
  degraded: string[];
}

function str(value: unknown, fallback = '—'): string {
  return typeof value === 'string' && value !== '' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : fallback;
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function listsOf(value: unknown): ListVersion[] {
  return arr(value).map((l) => {
    const o = (l ?? {}) as Record<string, unknown>;
    return { name: str(o.name), version: str(o.version), entries: num(o.entries) };
  });
}

/** Lists by name, each with its distinct versions and who runs them. */
export function listVersionRows(replicas: ReplicaView[]): ListVersionRow[] {
  const rows = new Map<string, ListVersionRow>();
  for (const r of replicas) {
    for (const l of r.lists) {
      const row = rows.get(l.name) ?? { name: l.name, versions: [] };
      rows.set(l.name, row);
      let v = row.versions.find((x) => x.version === l.version);
      if (!v) {
        v = { version: l.version, entries: l.entries, instances: [] };
        row.versions.push(v);
      }
      v.instances.push(r.instance);
    }
  }
  return [...rows.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** GET /api/fleet: `{ replicas: [{ instance, version, self, lists, last_heartbeat, redis, audit: { written, spooled } }], consistent }`. */
export function fleetFromContract(body: unknown): FleetView {
  const o = (body ?? {}) as Record<string, unknown>;
  const replicas = arr(o.replicas).map((x): ReplicaView => {
    const r = (x ?? {}) as Record<string, unknown>;
    const audit = (r.audit ?? {}) as Record<string, unknown>;
    return {
      instance: str(r.instance),
      version: str(r.version),
      self: r.self === true,
      lists: listsOf(r.lists),
      lastHeartbeat: str(r.last_heartbeat),
      redis: str(r.redis),
      audit: `${num(audit.written)} written, ${num(audit.spooled)} spooled`,
    };
  });
  const consistent = typeof o.consistent === 'boolean' ? o.consistent : null;
  return {
    source: '/api/fleet',
    note: `Source: GET /api/fleet, ${replicas.length} ${replicas.length === 1 ? 'replica' : 'replicas'}; ${consistent === true ? 'every replica runs the same list versions' : consistent === false ? 'the replicas run different list versions' : 'consistency not reported'}.`,
    replicas,
    consistent,
    lists: listVersionRows(replicas),
    degraded: [],
  };
}

/** GET /readyz (no fleet view to be had, for the reason `why`): this replica alone. */
export function fleetFromReadyz(body: unknown, why = 'this server has no GET /api/fleet'): FleetView {
  const o = (body ?? {}) as Record<string, unknown>;
  const audit = (o.audit ?? null) as Record<string, unknown> | null;
  const redis = (o.redis ?? null) as Record<string, unknown> | null;
  const replica: ReplicaView = {
    instance: str(o.instance),
    version: str(o.version),
    self: true,
    lists: listsOf(o.lists),
    lastHeartbeat: '—',
    redis: redis ? str(redis.state) : 'none',
    audit: audit ? `${num(audit.written)} written, ${num(audit.buffered)} buffered` : '—',
  };
  return {
    source: '/readyz',
    note: `Source: GET /readyz, this replica only (${why}).`,
    replicas: [replica],
    consistent: null,
    lists: listVersionRows([replica]),
    degraded: arr(o.degraded).map((d) => str(d, '')).filter((d) => d !== ''),
  };
}

// ---- charts ----

export interface TimelineDimension {
  series: { key: string; counts: number[]; total: number }[];
  other: { keys: number; counts: number[]; total: number } | null;
}

export interface ChartSeries {
  label: string;
  counts: number[];
  total: number;
}

export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
  series: number;
  bucket: number;
  count: number;
}

/** The API's series plus, when it folded some, one "other (N)" series. */
export function chartSeries(dimension: TimelineDimension | undefined): ChartSeries[] {
  if (!dimension) return [];
  const series = dimension.series.map((s) => ({ label: s.key, counts: s.counts, total: s.total }));
  if (dimension.other) series.push({ label: `other (${dimension.other.keys})`, counts: dimension.other.counts, total: dimension.other.total });
  return series;
}

/** Stacked bars in a width × height box (y grows down); empty counts make no bar. */
export function stackBars(series: ChartSeries[], buckets: number, width: number, height: number): { bars: Bar[]; max: number } {
  const stacks = new Array<number>(buckets).fill(0);
  for (const s of series) for (let i = 0; i < buckets; i++) stacks[i] = (stacks[i] as number) + (s.counts[i] ?? 0);
  const max = Math.max(0, ...stacks);
  const bars: Bar[] = [];
  if (max === 0 || buckets === 0) return { bars, max };
  const step = width / buckets;
  const gap = step > 4 ? Math.min(2, step * 0.15) : 0;
  const base = new Array<number>(buckets).fill(0);
  series.forEach((s, index) => {
    for (let i = 0; i < buckets; i++) {
      const count = s.counts[i] ?? 0;
      if (count <= 0) continue;
      const below = base[i] as number;
      const h = (count / max) * height;
      const y = height - ((below + count) / max) * height;
      bars.push({ x: i * step + gap / 2, y, width: step - gap, height: h, series: index, bucket: i, count });
      base[i] = below + count;
    }
  });
  return { bars, max };
}

/** A bucket's start as the axis shows it: "11-28 10:00" per hour, "2026-11-28" per day (UTC). */
export function bucketLabel(iso: string, bucket: 'hour' | 'day'): string {
  return bucket === 'day' ? iso.slice(0, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

// ---- CSV export ----

/** Joins CSV pages from GET /api/audit/events?format=csv: one header row, then every page's records. */
export function joinCsvPages(pages: string[]): string {
  return pages.map((page, i) => (i === 0 ? page : page.slice(page.indexOf('\r\n') + 2))).join('');
}

/** Records (header excluded) in RFC 4180 text; line breaks inside quoted cells do not count. */
export function countCsvRecords(text: string): number {
  let records = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\n' && !quoted) records++;
  }
  return Math.max(0, records - 1);
}

/** dnsward-audit-20261128T100000Z.csv */
export function csvFileName(now: number): string {
  return `dnsward-audit-${new Date(now).toISOString().slice(0, 19).replace(/[-:]/g, '')}Z.csv`;
}
