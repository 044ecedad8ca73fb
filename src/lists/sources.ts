// Subscribed sources (config lists.sources): external lists in hosts, plain-domain or adblock
// syntax, fetched over HTTP(S) with undici or read from a file, refreshed on an interval with
// conditional requests, size-capped, and parsed in slices so a million-name list never stalls
// the query path. The last good copy is kept on disk (lists.cache_dir): a failed fetch, an
// oversized body, HTML or garbage keeps the current snapshot, and a restart loads the copy.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip } from 'node:zlib';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { durationSeconds, type ListsConfig, type ListSourceConfig } from '../config/sections/lists.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { DomainSet } from './domain-set.ts';
import { normalizeDomainBytes } from '../dns/domain-name.ts';
import type { ListRegistry } from './registry.ts';
import type { ListSnapshot } from './types.ts';

export type SourceFormat = 'hosts' | 'domains' | 'adblock';

export interface ParsedSource {
  set: DomainSet;
  /** Rule lines per detected format. */
  formats: Record<SourceFormat, number>;
  /** Lines that are neither comments nor usable rules (first few kept as samples). */
  invalid: number;
  invalidSamples: string[];
  /** Rules we cannot represent as "block this name and its subdomains" (allow rules, modifiers, wildcards). */
  ignored: number;
  title: string | undefined;
  /** Longest synchronous slice of the parse, in ms (how long queries could wait). */
  maxSliceMs: number;
  /** How many times the parse yielded to the event loop. */
  slices: number;
}

/** The parse yields to the event loop once a slice has run this long (checked every 1024 lines). */
const SLICE_MS = 8;
const NEWLINE = 10;
/** Names hosts files carry for the machine itself; never rules. */
const HOSTS_NOISE = new Set(['localhost', 'localhost.localdomain', 'local', 'broadcasthost', 'ip6-localhost', 'ip6-loopback', 'ip6-localnet', 'ip6-mcastprefix', 'ip6-allnodes', 'ip6-allrouters', 'ip6-allhosts', '0.0.0.0']);
/** adblock modifiers that keep "||name^" meaning "block name and subdomains". */
const HARMLESS_MODIFIERS = new Set(['important', 'all', 'document', 'doc']);

function estimateLines(body: Buffer): number {
  const sample = body.subarray(0, 65_536);
  let lines = 0;
  for (let i = sample.indexOf(10); i >= 0; i = sample.indexOf(10, i + 1)) lines++;
  if (lines === 0) return 16;
  // 10 % headroom over the sample's rate; the set still grows if the rest differs.
  return Math.ceil((body.length / sample.length) * lines * 1.1);
}

/**
 * Parses a hosts, domains or adblock list (or a mix, with format "auto") into a DomainSet,
 * yielding to the event loop every LINES_PER_SLICE lines.
 */
export async function parseSourceBody(body: Buffer, format: SourceFormat | 'auto' = 'auto'): Promise<ParsedSource> {
  rejectNonText(body);
  // Sized from the average line length of the first 64 KB, so a typical list neither grows
  // the set mid-parse (a grow copies the whole table) nor carries a table twice too big.
  const set = new DomainSet(estimateLines(body), Math.ceil(body.length * 0.85));
  const result: ParsedSource = { set, formats: { hosts: 0, domains: 0, adblock: 0 }, invalid: 0, invalidSamples: [], ignored: 0, title: undefined, maxSliceMs: 0, slices: 1 };
  const scratch = new Uint8Array(256);
  const invalid = (start: number, end: number): void => {
    result.invalid++;
    if (result.invalidSamples.length < 5) result.invalidSamples.push(body.toString('latin1', start, Math.min(end, start + 80)));
  };
  const addName = (start: number, end: number): boolean => {
    const length = normalizeDomainBytes(body, start, end, scratch);
    if (length < 0) return false;
    set.addBytes(scratch, 0, length);
    return true;
  };

  const handleLine = (s: number, end: number): void => {
    while (s < end && (body[s] as number) <= 32) s++;
    while (end > s && (body[end - 1] as number) <= 32) end--;
    if (s === end) return;
    const c = body[s] as number;
    if (c === 0x23 /* # */ || c === 0x21 /* ! */ || c === 0x3b /* ; */ || c === 0x5b /* [ */) {
      if (result.title === undefined && end - s < 300) {
        const m = /^[#!]\s*Title:\s*(.+)$/i.exec(body.toString('utf8', s, end));
        if (m?.[1]) result.title = m[1].trim();
      }
      return;
    }
    // adblock: ||name^ with optional $modifiers; @@ exceptions are ignored (no allow semantics here).
    if (c === 0x40 /* @ */ && body[s + 1] === 0x40) {
      result.ignored++;
      return;
    }
    if (c === 0x7c /* | */ && body[s + 1] === 0x7c) {
      if (format !== 'auto' && format !== 'adblock') return invalid(s, end);
      const caret = body.indexOf(0x5e /* ^ */, s + 2);
      if (caret < 0 || caret >= end) return invalid(s, end);
      const rest = body.toString('latin1', caret + 1, end);
      if (rest !== '' && rest !== '|') {
        const modifiers = rest.startsWith('$') ? rest.slice(1).split(',') : undefined;
        if (!modifiers || modifiers.some((m) => !HARMLESS_MODIFIERS.has(m.trim().toLowerCase()))) {
          result.ignored++;
          return;
        }
      }
      if (body.indexOf(0x2a /* * */, s + 2) >= 0 && body.indexOf(0x2a, s + 2) < caret) {
        result.ignored++;
        return;
      }
      if (!addName(s + 2, caret)) return invalid(s, end);
      result.formats.adblock++;
      return;
    }
    // First token: an IP address (hosts line) or a name (domains line).
    let t = s;
    while (t < end && (body[t] as number) > 32) t++;
    if (looksLikeIp(body, s, t)) {
      if (format !== 'auto' && format !== 'hosts') return invalid(s, end);
      let any = false;
      let p = t;
      while (p < end) {
        while (p < end && (body[p] as number) <= 32) p++;
        if (p >= end || body[p] === 0x23) break;
        let q = p;
        while (q < end && (body[q] as number) > 32) q++;
        if (!isHostsNoise(body, p, q)) {
          if (addName(p, q)) any = true;
          else invalid(p, q);
        }
        p = q;
      }
      if (any) result.formats.hosts++;
      return;
    }
    if (format !== 'auto' && format !== 'domains') return invalid(s, end);
    // "*.name" (wildcard lists) means the same as "name" here: the name and its subdomains.
    const start = body[s] === 0x2a && body[s + 1] === 0x2e ? s + 2 : s;
    if (isHostsNoise(body, start, t)) return;
    if (!addName(start, t)) return invalid(s, end);
    result.formats.domains++;
  };

  let start = 0;
  let lines = 0;
  let sliceStart = performance.now();
  for (let nl = body.indexOf(NEWLINE); start < body.length; nl = body.indexOf(NEWLINE, start)) {
    const end = nl < 0 ? body.length : nl;
    handleLine(start, end);
    start = end + 1;
    if ((++lines & 1023) === 0 && performance.now() - sliceStart >= SLICE_MS) {
      result.maxSliceMs = Math.max(result.maxSliceMs, performance.now() - sliceStart);
      await new Promise<void>((resolve) => setImmediate(resolve));
      result.slices++;
      sliceStart = performance.now();
    }
  }
  result.maxSliceMs = Math.max(result.maxSliceMs, performance.now() - sliceStart);
  // Sized generously above; give back what the list did not use.
  set.compact();
  return result;
}

/** localhost, broadcasthost, ip6-*, ...: only short tokens starting with l, b, i or 0 can be one. */
function isHostsNoise(buf: Buffer, start: number, end: number): boolean {
  const first = (buf[start] as number) | 0x20;
  if (end - start > 21 || (first !== 0x6c && first !== 0x62 && first !== 0x69 && first !== 0x30)) return false;
  return HOSTS_NOISE.has(buf.toString('latin1', start, end).toLowerCase());
}

function looksLikeIp(buf: Buffer, start: number, end: number): boolean {
  if (end - start < 2 || end - start > 45) return false;
  let colon = false;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    if (c === 0x3a) colon = true;
    else if (c === 0x2e) dots++;
    else if (c === 0x25 /* % zone */) break;
    else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  return colon || dots === 3;
}

/** HTML error pages and binary data are not lists (AdGuard Home rejects them the same way). */
function rejectNonText(body: Buffer): void {
  let i = 0;
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) i = 3;
  while (i < body.length && (body[i] as number) <= 32) i++;
  const head = body.toString('latin1', i, i + 15).toLowerCase();
  if (head.startsWith('<!doctype') || head.startsWith('<html') || head.startsWith('<?xml')) throw new Error('the body is an HTML/XML page, not a list');
  const probe = Math.min(body.length, 65_536);
  for (let j = 0; j < probe; j++) {
    const c = body[j] as number;
    if (c < 9 || (c > 13 && c < 32) || c === 127) throw new Error(`the body contains a control byte 0x${c.toString(16)} at offset ${j}: binary data, not a list`);
  }
}

interface SourceMeta {
  etag?: string;
  lastModified?: string;
  sha256?: string;
  /** For file sources: mtime and size of the copy we loaded. */
  mtimeMs?: number;
  size?: number;
  fetchedAt?: string;
  changedAt?: string;
}

export interface ListSourcesOptions {
  /** undici dispatcher (tests pass one; default: an Agent following up to 5 redirects). */
  dispatcher?: Dispatcher;
  /** Upper bound for the first load of a source without a cached copy before serving starts. */
  initialTimeoutMs?: number;
  userAgent?: string;
}

export interface ListSources {
  /** Fetches every source now (or one by name); resolves when done, never rejects. */
  refresh(name?: string): Promise<void>;
  stop(): Promise<void>;
  /** Last outcome per source, for logs, metrics and tests. */
  status(): Record<string, SourceStatus>;
}

export interface SourceStatus {
  version: string | undefined;
  entries: number;
  lastOutcome: 'loaded' | 'unchanged' | 'cached' | 'failed' | 'pending';
  lastError: string | undefined;
  lastCheck: string | undefined;
}

/** Names segments may use: the built-in lists plus the configured sources. */
export function sourceNames(lists: Pick<ListsConfig, 'sources'>): string[] {
  return lists.sources.map((s) => s.name);
}

/**
 * Loads every configured source into the registry (cached copy first, then a fetch), then keeps
 * them fresh. Resolves once every source has a snapshot: its cached copy, a fresh load, or an
 * empty placeholder when neither is available (logged as an error; the next refresh retries).
 */
export async function startListSources(config: ListsConfig, registry: ListRegistry, logger: Logger, options: ListSourcesOptions = {}): Promise<ListSources> {
  for (const source of config.sources) {
    const existing = registry.get(source.name);
    if (existing && existing.origin !== 'subscribed') {
      throw new DnswardError(ErrorCodes.CONFIG, `lists.sources: "${source.name}" is also a built-in list in ${config.dir}; give the source another name`);
    }
  }
  // undici costs ~30 MB resident: loaded only when some source is fetched over HTTP(S).
  const needsHttp = config.sources.some((s) => s.url !== undefined);
  const undici = needsHttp ? await import('undici') : undefined;
  const dispatcher =
    options.dispatcher ??
    (undici ? new undici.Agent({ headersTimeout: 30_000, bodyTimeout: 60_000, connectTimeout: 10_000 }).compose(undici.interceptors.redirect({ maxRedirections: 5 })) : undefined);
  const ownsDispatcher = options.dispatcher === undefined && dispatcher !== undefined;
  const log = logger.child({ component: 'list-sources' });
  const workers = config.sources.map((source) => new SourceWorker(source, config, registry, log, dispatcher, options.userAgent ?? 'dnsward list fetcher'));
  await mkdir(config.cache_dir, { recursive: true });

  const initialTimeout = options.initialTimeoutMs ?? 15_000;
  await Promise.all(
    workers.map(async (w) => {
      const cached = await w.loadCachedCopy();
      const first = w.refresh();
      if (!cached) {
        await Promise.race([first, new Promise((resolve) => setTimeout(resolve, initialTimeout).unref())]);
        if (!registry.get(w.source.name)) w.installEmpty();
      }
    }),
  );
  for (const w of workers) w.schedule();
  return {
    refresh: async (name) => {
      await Promise.all(workers.filter((w) => name === undefined || w.source.name === name).map((w) => w.refresh()));
    },
    stop: async () => {
      for (const w of workers) w.stopTimer();
      await Promise.allSettled(workers.map((w) => w.idle()));
      if (ownsDispatcher) await dispatcher?.close();
    },
    status: () => Object.fromEntries(workers.map((w) => [w.source.name, { ...w.status }])),
  };
}

class SourceWorker {
  readonly source: ListSourceConfig;
  readonly status: SourceStatus = { version: undefined, entries: 0, lastOutcome: 'pending', lastError: undefined, lastCheck: undefined };
  private readonly config: ListsConfig;
  private readonly registry: ListRegistry;
  private readonly log: Logger;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly userAgent: string;
  private meta: SourceMeta = {};
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(source: ListSourceConfig, config: ListsConfig, registry: ListRegistry, log: Logger, dispatcher: Dispatcher | undefined, userAgent: string) {
    this.source = source;
    this.config = config;
    this.registry = registry;
    this.log = log.child({ source: source.name });
    this.dispatcher = dispatcher;
    this.userAgent = userAgent;
  }

  private get bodyFile(): string {
    return join(this.config.cache_dir, `${this.source.name}.txt`);
  }

  private get metaFile(): string {
    return join(this.config.cache_dir, `${this.source.name}.meta.json`);
  }

  /** Installs the last good copy from disk, if any. */
  async loadCachedCopy(): Promise<boolean> {
    let body: Buffer;
    try {
      body = await readFile(this.bodyFile);
      this.meta = JSON.parse(await readFile(this.metaFile, 'utf8')) as SourceMeta;
    } catch {
      return false;
    }
    try {
      const changedAt = this.meta.changedAt ? new Date(this.meta.changedAt) : new Date();
      await this.install(body, changedAt, 'cached');
      return true;
    } catch (error) {
      this.log.warn({ err: error }, 'the cached copy of this source is unusable; waiting for a fresh one');
      this.meta = {};
      return false;
    }
  }

  installEmpty(): void {
    this.log.error({ url: this.source.url, file: this.source.file }, 'no copy of this source could be loaded; it blocks nothing until a refresh succeeds');
    this.registry.set(subscribedSnapshot(this.source, new DomainSet(), 'empty', new Date(0), undefined));
  }

  schedule(): void {
    const every = durationSeconds(this.source.refresh) * 1000;
    this.timer = setInterval(() => void this.refresh(), every);
    this.timer.unref();
  }

  stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async idle(): Promise<void> {
    await this.running;
  }

  /** One refresh at a time per source; a call during a refresh waits for it. */
  refresh(): Promise<void> {
    this.running ??= this.doRefresh().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async doRefresh(): Promise<void> {
    this.status.lastCheck = new Date().toISOString();
    try {
      const fetched = this.source.url ? await this.fetchUrl(this.source.url) : await this.readFileSource(this.source.file as string);
      if (fetched === 'unchanged') {
        this.status.lastOutcome = 'unchanged';
        this.status.lastError = undefined;
        this.meta.fetchedAt = new Date().toISOString();
        await this.saveMeta();
        return;
      }
      const sha256 = await sha256InSlices(fetched.body);
      if (sha256 === this.meta.sha256 && this.registry.get(this.source.name)?.version === sha256.slice(0, 12)) {
        Object.assign(this.meta, fetched.meta, { fetchedAt: new Date().toISOString() });
        await this.saveMeta();
        this.status.lastOutcome = 'unchanged';
        this.status.lastError = undefined;
        return;
      }
      const changedAt = fetched.meta.lastModified ? new Date(fetched.meta.lastModified) : new Date();
      await this.install(fetched.body, Number.isNaN(changedAt.getTime()) ? new Date() : changedAt, 'loaded', sha256);
      this.meta = { ...this.meta, ...fetched.meta, sha256, fetchedAt: new Date().toISOString(), changedAt: new Date().toISOString() };
      await writeAtomic(this.bodyFile, fetched.body);
      await this.saveMeta();
    } catch (error) {
      this.status.lastOutcome = 'failed';
      this.status.lastError = (error as Error).message;
      const current = this.registry.get(this.source.name);
      this.log.warn({ err: error, url: this.source.url, file: this.source.file, keeping: current?.version }, 'list source refresh failed; keeping the last good copy');
    }
  }

  private async install(body: Buffer, changedAt: Date, outcome: 'loaded' | 'cached', sha256?: string): Promise<void> {
    const started = performance.now();
    const parsed = await parseSourceBody(body, this.source.format);
    const rules = parsed.formats.hosts + parsed.formats.domains + parsed.formats.adblock;
    if (rules === 0) throw new Error(`no usable entries (${parsed.invalid} invalid lines${parsed.invalidSamples.length ? `, e.g. "${parsed.invalidSamples[0]}"` : ''})`);
    if (parsed.invalid > rules) throw new Error(`more invalid lines (${parsed.invalid}) than entries (${rules}): not a ${this.source.format === 'auto' ? 'hosts, domains or adblock' : this.source.format} list`);
    const version = (sha256 ?? (await sha256InSlices(body))).slice(0, 12);
    this.registry.set(subscribedSnapshot(this.source, parsed.set, version, changedAt, parsed.title));
    this.status.version = version;
    this.status.entries = parsed.set.size;
    this.status.lastOutcome = outcome;
    this.status.lastError = undefined;
    this.log.info(
      { version, entries: parsed.set.size, formats: parsed.formats, invalid: parsed.invalid, ignored: parsed.ignored, ms: Math.round(performance.now() - started), max_slice_ms: Math.round(parsed.maxSliceMs), slices: parsed.slices, outcome },
      'list source loaded',
    );
  }

  private async fetchUrl(url: string): Promise<{ body: Buffer; meta: SourceMeta } | 'unchanged'> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, 'accept-encoding': 'gzip, br' };
    if (this.meta.etag) headers['if-none-match'] = this.meta.etag;
    if (this.meta.lastModified) headers['if-modified-since'] = this.meta.lastModified;
    const { request } = await import('undici');
    const response = await request(url, { dispatcher: this.dispatcher, headers });
    if (response.statusCode === 304) {
      await response.body.dump();
      return 'unchanged';
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`HTTP ${response.statusCode} from ${url}`);
    }
    const max = this.config.max_source_bytes;
    const declared = Number(header(response.headers['content-length']));
    if (Number.isFinite(declared) && declared > max) {
      response.body.destroy();
      throw new Error(`${url} is ${declared} bytes, over lists.max_source_bytes (${max})`);
    }
    const encoding = header(response.headers['content-encoding'])?.toLowerCase();
    let stream: Readable = response.body;
    if (encoding === 'gzip' || encoding === 'x-gzip') stream = response.body.pipe(createGunzip());
    else if (encoding === 'br') stream = response.body.pipe(createBrotliDecompress());
    else if (encoding && encoding !== 'identity') {
      response.body.destroy();
      throw new Error(`${url} sent content-encoding "${encoding}", which dnsward does not decode`);
    }
    const body = await readCapped(stream, max, url);
    const meta: SourceMeta = {};
    const etag = header(response.headers.etag);
    const lastModified = header(response.headers['last-modified']);
    if (etag) meta.etag = etag;
    if (lastModified) meta.lastModified = lastModified;
    return { body, meta };
  }

  private async readFileSource(file: string): Promise<{ body: Buffer; meta: SourceMeta } | 'unchanged'> {
    const info = await stat(file);
    if (info.mtimeMs === this.meta.mtimeMs && info.size === this.meta.size && this.registry.get(this.source.name)) return 'unchanged';
    if (info.size > this.config.max_source_bytes) throw new Error(`${file} is ${info.size} bytes, over lists.max_source_bytes (${this.config.max_source_bytes})`);
    return { body: await readFile(file), meta: { mtimeMs: info.mtimeMs, size: info.size, lastModified: info.mtime.toUTCString() } };
  }

  private async saveMeta(): Promise<void> {
    await writeAtomic(this.metaFile, `${JSON.stringify(this.meta, null, 1)}\n`);
  }
}

/** SHA-256 of a big body in 4 MB steps, yielding between them (a 30 MB list would block ~60 ms in one go). */
export async function sha256InSlices(body: Buffer): Promise<string> {
  const hash = createHash('sha256');
  const step = 4 * 1024 * 1024;
  for (let i = 0; i < body.length; i += step) {
    hash.update(body.subarray(i, i + step));
    if (i + step < body.length) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return hash.digest('hex');
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function readCapped(stream: Readable, max: number, url: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > max) {
      stream.destroy();
      throw new Error(`${url} is over lists.max_source_bytes (${max}); refusing it`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}

async function writeAtomic(file: string, data: Buffer | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

function subscribedSnapshot(source: ListSourceConfig, set: DomainSet, version: string, lastModified: Date, title: string | undefined): ListSnapshot {
  let materialised: string[] | undefined;
  return {
    name: source.name,
    title: title ?? source.name,
    description: `subscribed from ${source.url ?? source.file}`,
    version,
    lastModified,
    set,
    origin: 'subscribed',
    // Materialised only on demand; the resolver reads the set.
    get domains(): readonly string[] {
      materialised ??= set.toSortedArray();
      return materialised;
    },
  };
}
