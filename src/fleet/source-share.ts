// Subscribed sources in a fleet: one replica at a time downloads a source (it holds the
// source's lease in the shared state), and once its body is valid and installed it is shared
// (gzipped, with its SHA-256 and validators) and announced; the other replicas take that copy
// instead of downloading it again. A copy fetched within the source's refresh interval is
// fresh: nobody downloads then. Without the shared state every replica fetches for itself,
// as a lone replica does.
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { Logger } from 'pino';
import { durationSeconds, type ListSourceConfig } from '../config/sections/lists.ts';
import type { SourceMeta } from '../lists/source-cache.ts';
import type { FetchResult } from '../lists/source-fetch.ts';
import { fetchedBody, fetchedSha256, type SourceShare, sha256InSlices } from '../lists/sources.ts';
import { type SharedState, SharedStateUnavailable } from '../state/types.ts';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** What the fleet knows about a shared copy (the `meta` field). */
export interface SharedSourceMeta {
  sha256: string;
  etag?: string | undefined;
  lastModified?: string | undefined;
  /** When the origin was last asked (a 304 counts), and when the content last changed. */
  fetchedAt: string;
  changedAt?: string | undefined;
  /** The replica that downloaded it. */
  by: string;
  bytes: number;
}

export interface SourceShareOptions {
  state: SharedState;
  instance: string;
  logger: Logger;
  /** How long a lease lasts without renewal (ms, default 60 s); renewed while the download runs. */
  leaseMs?: number;
  /** How long to wait for the lease holder's copy before downloading anyway (ms, default 30 s). */
  waitMs?: number;
  /** Poll step while waiting (ms, default 500). */
  pollMs?: number;
  /** How long a fetch waits for a Redis that is still connecting at start (ms, default 3 s). */
  connectWaitMs?: number;
}

export class FleetSourceShare implements SourceShare {
  private readonly options: SourceShareOptions;
  private readonly log: Logger;
  /** Sources whose lease this replica holds until their body is installed and shared. */
  private readonly holding = new Map<string, NodeJS.Timeout>();
  /** Downloads by this replica (for tests and the fleet view). */
  downloads = 0;
  /** Copies taken from the fleet instead of downloading. */
  taken = 0;

  constructor(options: SourceShareOptions) {
    this.options = options;
    this.log = options.logger.child({ component: 'list-sources' });
  }

  async fetch(source: ListSourceConfig, held: SourceMeta, direct: (validators?: SourceMeta) => Promise<FetchResult>): Promise<FetchResult> {
    const { state, instance } = this.options;
    const name = source.name;
    await this.release(name);
    // At start Redis may still be connecting: worth a short wait, or every replica downloads.
    if (state.status().state === 'connecting') await untilUp(state, this.options.connectWaitMs ?? 3000);
    if (state.status().state !== 'up') return this.download(direct);
    const freshFor = durationSeconds(source.refresh) * 1000 * 0.9;
    try {
      let shared = await this.meta(name);
      if (fresh(shared, freshFor)) return await this.take(name, shared as SharedSourceMeta, held, direct);
      const lease = leaseName(name);
      if (!(await state.acquireLease(lease, instance, this.leaseMs))) {
        // Another replica is downloading it: wait for its copy, within reason.
        const deadline = Date.now() + (this.options.waitMs ?? 30_000);
        while (Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, this.options.pollMs ?? 500));
          shared = await this.meta(name);
          if (fresh(shared, freshFor)) return await this.take(name, shared as SharedSourceMeta, held, direct);
          if ((await state.leaseHolder(lease)) === undefined) break;
        }
        if (!(await state.acquireLease(lease, instance, this.leaseMs))) return this.download(direct);
      }
      // Holding the lease. A copy may have been shared between our look and the lease.
      shared = await this.meta(name);
      if (fresh(shared, freshFor)) {
        await state.releaseLease(lease, instance);
        return await this.take(name, shared as SharedSourceMeta, held, direct);
      }
      this.hold(name);
      // A stale shared copy that this replica does not hold (a replica started after the
      // refresh interval, say) is revalidated with the copy's own validators: a 304 then
      // means the shared body is current, and it is taken instead of downloaded again.
      const revalidating = shared !== undefined && shared.sha256 !== held.sha256 && (shared.etag !== undefined || shared.lastModified !== undefined);
      const result = await this.download(() => direct(revalidating ? sharedValidators(shared as SharedSourceMeta) : held));
      if (result === 'unchanged') {
        // The origin says the copy asked about is current: if it is the shared one, it is fresh again.
        const current = shared !== undefined && (revalidating || shared.sha256 === held.sha256);
        if (current) await this.putMeta(name, { ...(shared as SharedSourceMeta), fetchedAt: new Date().toISOString(), by: instance });
        await this.release(name);
        if (revalidating) return await this.take(name, shared as SharedSourceMeta, held, direct);
      } else if (held.sha256 !== undefined && (await fetchedSha256(result)) === held.sha256) {
        await this.loaded(source, await fetchedBody(result), { ...held, ...result.validators });
      }
      return result;
    } catch (error) {
      await this.release(name);
      if (error instanceof SharedStateUnavailable) return this.download(direct);
      throw error;
    }
  }

  async loaded(source: ListSourceConfig, body: Buffer, meta: SourceMeta): Promise<void> {
    const name = source.name;
    if (!this.holding.has(name)) return; // taken from the fleet, not downloaded here
    try {
      const shared: SharedSourceMeta = {
        sha256: meta.sha256 ?? (await sha256InSlices(body)),
        etag: meta.etag,
        lastModified: meta.lastModified,
        fetchedAt: meta.fetchedAt ?? new Date().toISOString(),
        changedAt: meta.changedAt,
        by: this.options.instance,
        bytes: body.length,
      };
      await this.options.state.putSource(name, { meta: JSON.stringify(shared), body: await gzipAsync(body) });
      await this.options.state.publish({ type: 'source', name, sha256: shared.sha256, from: this.options.instance });
      this.log.info({ source: name, sha256: shared.sha256.slice(0, 12), bytes: body.length }, 'list source shared with the fleet');
    } catch (error) {
      this.log.warn({ err: error, source: name }, 'could not share a list source with the fleet; the other replicas fetch it themselves');
    } finally {
      await this.release(name);
    }
  }

  /** Releases every lease still held (at stop). */
  async stop(): Promise<void> {
    await Promise.all([...this.holding.keys()].map((name) => this.release(name)));
  }

  private get leaseMs(): number {
    return this.options.leaseMs ?? 60_000;
  }

  private async download(direct: () => Promise<FetchResult>): Promise<FetchResult> {
    this.downloads++;
    return direct();
  }

  /** The fleet's copy; a copy that is gone or damaged is downloaded instead. */
  private async take(name: string, shared: SharedSourceMeta, held: SourceMeta, direct: (validators?: SourceMeta) => Promise<FetchResult>): Promise<FetchResult> {
    if (shared.sha256 === held.sha256) return 'unchanged';
    const copy = await this.options.state.getSource(name);
    const body = copy ? await gunzipAsync(copy.body).catch(() => undefined) : undefined;
    if (body === undefined || (await sha256InSlices(body)) !== shared.sha256) {
      this.log.warn({ source: name }, 'the shared copy of this source is gone or does not match its SHA-256; downloading it');
      return this.download(direct);
    }
    this.taken++;
    this.log.info({ source: name, sha256: shared.sha256.slice(0, 12), by: shared.by }, 'list source taken from the fleet (not downloaded)');
    return { body, validators: sharedValidators(shared) };
  }

  private async meta(name: string): Promise<SharedSourceMeta | undefined> {
    const text = await this.options.state.sourceMeta(name);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as SharedSourceMeta;
    } catch {
      return undefined;
    }
  }

  /** Marks the shared copy as vouched for now (its body, possibly tens of MB, is not sent again). */
  private async putMeta(name: string, meta: SharedSourceMeta): Promise<void> {
    await this.options.state.putSourceMeta(name, JSON.stringify(meta));
  }

  /** Keeps the lease while the download and install run. */
  private hold(name: string): void {
    const renew = setInterval(() => {
      this.options.state.acquireLease(leaseName(name), this.options.instance, this.leaseMs).catch(() => undefined);
    }, this.leaseMs / 3);
    renew.unref();
    this.holding.set(name, renew);
  }

  private async release(name: string): Promise<void> {
    const renew = this.holding.get(name);
    if (renew === undefined) return;
    clearInterval(renew);
    this.holding.delete(name);
    await this.options.state.releaseLease(leaseName(name), this.options.instance).catch(() => undefined);
  }
}

/** Resolves when the shared state is up, or after `ms`. */
function untilUp(state: SharedState, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    const unsubscribe = state.onStatus((status) => {
      if (status.state === 'up') done();
    });
    function done(): void {
      clearTimeout(timer);
      unsubscribe();
      resolve();
    }
    if (state.status().state === 'up') done();
  });
}

/** The HTTP validators of the shared copy: for a conditional request about it, and with its body. */
function sharedValidators(shared: SharedSourceMeta): { etag?: string; lastModified?: string } {
  return { ...(shared.etag ? { etag: shared.etag } : {}), ...(shared.lastModified ? { lastModified: shared.lastModified } : {}) };
}

function leaseName(source: string): string {
  return `sources:${source}`;
}

function fresh(meta: SharedSourceMeta | undefined, freshForMs: number): boolean {
  if (meta === undefined) return false;
  const at = Date.parse(meta.fetchedAt);
  return Number.isFinite(at) && Date.now() - at < freshForMs;
}
