// Subscribed sources (config lists.sources): keeps every source's snapshot in the registry and
// fresh. At start the last good copy on disk is installed first, then each source is fetched,
// and again every `refresh`; a failed fetch, an oversized body, HTML or garbage keeps the
// current snapshot. The parts: source-fetch.ts gets the bytes (undici, loaded only when a
// source has a url), source-parser.ts turns them into a DomainSet, source-cache.ts keeps the
// last good copy on disk. A download streams into a file beside the last good copy and is
// parsed from there in chunks, as the last good copy is at start: the process never holds a
// big list's text, only its set; the download replaces the last good copy (one rename) once
// it has installed.
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { durationSeconds, type ListsConfig, type ListSourceConfig } from '../config/sections/lists.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { DomainSet } from './domain-set.ts';
import type { ListRegistry } from './registry.ts';
import { SourceCache, type SourceMeta } from './source-cache.ts';
import { createHttpFetcher, type FetchResult, type HttpFetcher, readFileSource } from './source-fetch.ts';
import { recordSubtreeScan } from './guard.ts';
import { type ParsedSource, parseSourceBody, parseSourceFile } from './source-parser.ts';
import type { ListSnapshot } from './types.ts';

export interface ListSourcesOptions {
  /** undici dispatcher (tests pass one; default: an Agent following up to 5 redirects). */
  dispatcher?: Dispatcher;
  /** Upper bound for the first load of a source without a cached copy before serving starts. */
  initialTimeoutMs?: number;
  userAgent?: string;
  /** Fetches url sources through the fleet (src/fleet/source-share.ts); absent: every replica fetches for itself. */
  share?: SourceShare;
}

/** One replica of a fleet downloads a source, the others take its copy. */
export interface SourceShare {
  /** Returns the fleet's copy when it is fresh, else runs `direct` (when this replica holds the source's lease, or cannot reach the fleet); `direct` asks conditionally with the validators given (default: the held copy's). */
  fetch(source: ListSourceConfig, held: SourceMeta, direct: (validators?: SourceMeta) => Promise<FetchResult>): Promise<FetchResult>;
  /** A body `fetch` returned was valid and is installed (with its meta): share it if this replica downloaded it (a download is read back from the last good copy for this). */
  loaded(source: ListSourceConfig, body: Buffer, meta: SourceMeta): Promise<void>;
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
  const http = config.sources.some((s) => s.url !== undefined)
    ? await createHttpFetcher({ dispatcher: options.dispatcher, userAgent: options.userAgent ?? 'dnsward list fetcher' })
    : undefined;
  const log = logger.child({ component: 'list-sources' });
  const workers = config.sources.map((source) => new SourceWorker(source, config, registry, log, http, options.share));
  await SourceCache.ensureDir(config.cache_dir);

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
      await http?.close();
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
  private readonly http: HttpFetcher | undefined;
  private readonly cache: SourceCache;
  private meta: SourceMeta = {};
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly share: SourceShare | undefined;

  constructor(source: ListSourceConfig, config: ListsConfig, registry: ListRegistry, log: Logger, http: HttpFetcher | undefined, share?: SourceShare) {
    this.share = source.url !== undefined ? share : undefined;
    this.source = source;
    this.config = config;
    this.registry = registry;
    this.log = log.child({ source: source.name });
    this.http = http;
    this.cache = new SourceCache(config.cache_dir, source.name);
  }

  /** Installs the last good copy from disk, if any. */
  async loadCachedCopy(): Promise<boolean> {
    const kept = await this.cache.loadMeta();
    if (!kept) return false;
    this.meta = kept.meta;
    try {
      const changedAt = this.meta.changedAt ? new Date(this.meta.changedAt) : new Date();
      await this.install({ file: kept.file, where: kept.file }, changedAt, 'cached');
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

  private fetch(): Promise<FetchResult> {
    return this.share ? this.share.fetch(this.source, this.meta, (validators) => this.fetchDirect(validators)) : this.fetchDirect();
  }

  private async fetchDirect(validators: SourceMeta = this.meta): Promise<FetchResult> {
    const max = this.config.max_source_bytes;
    if (this.source.url !== undefined) {
      if (!this.http) throw new Error('no HTTP fetcher for a url source');
      return await this.http.fetch(this.source.url, validators, max, this.cache.downloadFile);
    }
    // A file counts as unchanged only while its snapshot is installed.
    return readFileSource(this.source.file as string, this.registry.get(this.source.name) ? this.meta : undefined, max);
  }

  private async doRefresh(): Promise<void> {
    this.status.lastCheck = new Date().toISOString();
    let download: string | undefined;
    try {
      const fetched = await this.fetch();
      if (fetched === 'unchanged') {
        this.status.lastOutcome = 'unchanged';
        this.status.lastError = undefined;
        this.meta.fetchedAt = new Date().toISOString();
        await this.cache.saveMeta(this.meta);
        return;
      }
      download = 'download' in fetched ? fetched.download.file : undefined;
      const sha256 = await fetchedSha256(fetched);
      // The base: the version in force differs when the guard or the organisation's entries changed it.
      if (sha256 === this.meta.sha256 && this.registry.base(this.source.name)?.version === sha256.slice(0, 12)) {
        Object.assign(this.meta, fetched.validators, { fetchedAt: new Date().toISOString() });
        await this.cache.saveMeta(this.meta);
        this.status.lastOutcome = 'unchanged';
        this.status.lastError = undefined;
        return;
      }
      const changedAt = fetched.validators.lastModified ? new Date(fetched.validators.lastModified) : new Date();
      const input = 'download' in fetched ? { file: fetched.download.file, where: this.source.url ?? this.source.name } : fetched.body;
      await this.install(input, Number.isNaN(changedAt.getTime()) ? new Date() : changedAt, 'loaded', sha256);
      this.meta = { ...this.meta, ...fetched.validators, sha256, fetchedAt: new Date().toISOString(), changedAt: new Date().toISOString() };
      if ('download' in fetched) await this.cache.adopt(fetched.download.file);
      else await this.cache.saveBody(fetched.body);
      await this.cache.saveMeta(this.meta);
      if (this.share) await this.share.loaded(this.source, 'download' in fetched ? await this.cache.readBody() : fetched.body, this.meta);
    } catch (error) {
      this.status.lastOutcome = 'failed';
      this.status.lastError = (error as Error).message;
      const current = this.registry.get(this.source.name);
      this.log.warn({ err: error, url: this.source.url, file: this.source.file, keeping: current?.version }, 'list source refresh failed; keeping the last good copy');
    } finally {
      // A download not adopted (unchanged, invalid, failed) goes; an adopted one was renamed away.
      if (download !== undefined) await rm(download, { force: true });
    }
  }

  /** Parses and installs a body: in memory, or a file read in chunks (`where` names it in errors). */
  private async install(body: Buffer | { file: string; where: string }, changedAt: Date, outcome: 'loaded' | 'cached', sha256?: string): Promise<void> {
    const started = performance.now();
    // The guard's subtree names are checked as the parser adds each name, inside its time slices.
    const watch = this.registry.guardedSubtrees();
    let parsed: ParsedSource;
    let version: string;
    if (Buffer.isBuffer(body)) {
      parsed = await parseSourceBody(body, this.source.format, { watch, where: this.source.url ?? this.source.file ?? this.source.name });
      version = (sha256 ?? (await sha256InSlices(body))).slice(0, 12);
    } else {
      const hash = sha256 === undefined ? createHash('sha256') : undefined;
      parsed = await parseSourceFile(body.file, this.source.format, { watch, where: body.where, ...(hash ? { hash } : {}) }, this.config.max_source_bytes);
      version = (sha256 ?? (hash as ReturnType<typeof createHash>).digest('hex')).slice(0, 12);
    }
    recordSubtreeScan(parsed.set, watch, parsed.under);
    const rules = parsed.formats.hosts + parsed.formats.domains + parsed.formats.adblock;
    if (rules === 0) throw new Error(`no usable entries (${parsed.invalid} invalid lines${parsed.invalidSamples.length ? `, e.g. ${parsed.invalidSamples[0]}` : ''})`);
    if (parsed.invalid > rules) throw new Error(`more invalid lines (${parsed.invalid}) than entries (${rules}): not a ${this.source.format === 'auto' ? 'hosts, domains or adblock' : this.source.format} list${parsed.invalidSamples.length ? `, e.g. ${parsed.invalidSamples[0]}` : ''}`);
    this.registry.set(subscribedSnapshot(this.source, parsed.set, version, changedAt, parsed.title));
    this.status.version = version;
    this.status.entries = parsed.set.size;
    this.status.lastOutcome = outcome;
    this.status.lastError = undefined;
    this.log.info(
      {
        version,
        entries: parsed.set.size,
        formats: parsed.formats,
        invalid: parsed.invalid,
        ...(parsed.invalidSamples.length ? { invalid_samples: parsed.invalidSamples } : {}),
        ignored: parsed.ignored,
        ms: Math.round(performance.now() - started),
        max_slice_ms: Math.round(parsed.maxSliceMs),
        slices: parsed.slices,
        outcome,
      },
      'list source loaded',
    );
  }
}

/** The SHA-256 of a fetched body (a download was hashed as it arrived). */
export async function fetchedSha256(fetched: Exclude<FetchResult, 'unchanged'>): Promise<string> {
  return 'download' in fetched ? fetched.download.sha256 : sha256InSlices(fetched.body);
}

/** A fetched body in memory (a download is read from its file: for sharing it with the fleet). */
export async function fetchedBody(fetched: Exclude<FetchResult, 'unchanged'>): Promise<Buffer> {
  return 'download' in fetched ? readFile(fetched.download.file) : fetched.body;
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
