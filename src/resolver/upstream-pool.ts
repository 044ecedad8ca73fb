// The upstreams and their health: each attempt goes to the healthiest upstream through its
// transport (UDP, DNS over TLS or DNS over HTTPS: same failover for all); an upstream that
// times out or fails is marked down with exponential backoff and the next one is tried
// within the query's budget. One sweeper timer handles every deadline (no timer per query).
import type { Logger } from 'pino';
import type { UpstreamTarget } from '../config/upstreams.ts';
import type { DatagramMode } from '../server/datagram-addon.ts';
import { DotTransport } from './upstream-dot.ts';
import type { Attempt, TransportContext, TransportEvents, Upstream, UpstreamTransport } from './upstream-transport.ts';
import { UdpTransport } from './upstream-udp.ts';
import { noDatagramCounts, type UpstreamDatagramCounts } from './upstream-socket.ts';

export type { Upstream } from './upstream-transport.ts';
// src/replica/fd-budget.ts reserves descriptors for these.
export { MAX_TCP_RETRIES_IN_FLIGHT } from './upstream-udp.ts';

/** A query in flight: the caller's context (`owner`) and the attempt the transports see. */
export interface UpstreamJob<T> extends Attempt {
  readonly owner: T;
  /** Attempts made so far (picks the next upstream). */
  attempt: number;
}

/** What a caller gives for a new job; the pool fills in the rest. */
export type JobInput<T> = Pick<UpstreamJob<T>, 'owner' | 'question' | 'exactQuestion' | 'dnssecOk' | 'checkingDisabled' | 'deadline'>;

export type UpstreamResult<T> = (job: UpstreamJob<T>, answer: Buffer | undefined, reason: string) => void;

export interface UpstreamStats {
  sent: number;
  answered: number;
  timeouts: number;
  /** Attempts that failed early (refused, reset, TLS, HTTP status, a wrong answer on our own connection). */
  errors: number;
  /** Replies dropped for a wrong source, ID, QR or question (possible spoofing). */
  mismatched: number;
  /** Queries that got no answer from any upstream. */
  failures: number;
}

export interface UpstreamPoolOptions {
  timeoutMs: number;
  /** UDP sockets per address family; each query picks one at random. */
  sockets: number;
  /** How often one UDP socket is replaced by a new one on a fresh random port (ms). */
  rotateMs: number;
  /** Certificates encrypted upstreams may chain to (undefined: the default roots). */
  ca?: string[] | undefined;
  /** dns.datagram: which sockets UDP queries leave from (upstream-udp.ts). */
  datagram?: DatagramMode | undefined;
}

const SWEEP_MS = 20;
const MAX_DOWN_MS = 30_000;

export class UpstreamPool<T> {
  readonly upstreams: Upstream[];
  readonly stats: UpstreamStats = { sent: 0, answered: 0, timeouts: 0, errors: 0, mismatched: 0, failures: 0 };
  private readonly options: UpstreamPoolOptions;
  private readonly onResult: UpstreamResult<T>;
  private readonly logger: Logger;
  private readonly transports = new Map<Upstream, UpstreamTransport<UpstreamJob<T>>>();
  /** The UDP transport's batch counts (zeros without UDP upstreams or on node:dgram). */
  udpDatagrams: UpstreamDatagramCounts = noDatagramCounts();
  private readonly inflight = new Set<UpstreamJob<T>>();
  /** Early failures a job may meet before it gives up (timeouts are bounded by its deadline). */
  private readonly maxFailedAttempts: number;
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(targets: readonly UpstreamTarget[], options: UpstreamPoolOptions, onResult: UpstreamResult<T>, logger: Logger) {
    this.upstreams = targets.map((target) => ({ target, kind: target.kind, label: target.label, downUntil: 0, consecutiveFailures: 0, sent: 0, answered: 0, timeouts: 0, errors: 0 }));
    this.options = options;
    this.onResult = onResult;
    this.logger = logger;
    this.maxFailedAttempts = Math.max(2, 2 * targets.length);
  }

  async start(): Promise<void> {
    const events: TransportEvents<UpstreamJob<T>> = {
      answered: (job, answer) => this.answered(job, answer),
      failed: (job, reason) => this.failed(job, reason),
      mismatched: () => void this.stats.mismatched++,
    };
    const context: TransportContext<UpstreamJob<T>> = { events, ca: this.options.ca, timeoutMs: this.options.timeoutMs };
    const udp = this.upstreams.filter((u) => u.kind === 'udp');
    if (udp.length > 0) {
      const families = [...new Set(udp.map((u) => (u.target.family === 6 ? 6 : 4) as 4 | 6))];
      const transport = new UdpTransport<UpstreamJob<T>>(families, { sockets: this.options.sockets, rotateMs: this.options.rotateMs, datagram: this.options.datagram }, events, this.logger);
      this.udpDatagrams = transport.datagrams;
      for (const u of udp) this.transports.set(u, transport);
    }
    for (const u of this.upstreams) {
      if (u.kind === 'dot') this.transports.set(u, new DotTransport(u.target, context));
      // undici loads only when a DNS over HTTPS upstream is configured.
      if (u.kind === 'doh') this.transports.set(u, new (await import('./upstream-doh.ts')).DohTransport(u.target, context));
    }
    for (const transport of new Set(this.transports.values())) await transport.start();
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** A new job for `resolve`. */
  job(input: JobInput<T>): UpstreamJob<T> {
    return { ...input, attempt: 0, attemptDeadline: 0, sentAt: 0, upstream: undefined, id: 0, query: undefined, handle: undefined };
  }

  /** Sends the job's question to the healthiest upstream; the result arrives through onResult. */
  resolve(job: UpstreamJob<T>): void {
    this.sendAttempt(job, Date.now());
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    const jobs = [...this.inflight];
    this.inflight.clear();
    await Promise.all([...new Set(this.transports.values())].map((t) => t.close()));
    for (const job of jobs) this.onResult(job, undefined, 'shutdown');
  }

  private pick(attempt: number, now: number): Upstream {
    let upCount = 0;
    for (const u of this.upstreams) if (u.downUntil <= now) upCount++;
    if (upCount > 0) {
      let k = attempt % upCount;
      for (const u of this.upstreams) {
        if (u.downUntil <= now && k-- === 0) return u;
      }
    }
    // Everything is down: try the one that has been down longest first.
    const byRecovery = [...this.upstreams].sort((a, b) => a.downUntil - b.downUntil);
    return byRecovery[attempt % byRecovery.length] as Upstream;
  }

  private sendAttempt(job: UpstreamJob<T>, now: number): void {
    const upstream = this.pick(job.attempt, now);
    job.upstream = upstream;
    job.sentAt = now;
    job.attemptDeadline = Math.min(now + this.options.timeoutMs, job.deadline);
    this.inflight.add(job);
    upstream.sent++;
    this.stats.sent++;
    (this.transports.get(upstream) as UpstreamTransport<UpstreamJob<T>>).send(job);
  }

  private answered(job: UpstreamJob<T>, answer: Buffer): void {
    if (!this.inflight.delete(job)) return;
    const upstream = job.upstream as Upstream;
    upstream.answered++;
    this.stats.answered++;
    if (upstream.consecutiveFailures > 0 || upstream.downUntil > 0) {
      if (upstream.downUntil > 0) this.logger.info({ upstream: upstream.label }, 'upstream is answering again');
      upstream.consecutiveFailures = 0;
      upstream.downUntil = 0;
    }
    this.onResult(job, answer, 'ok');
  }

  private failed(job: UpstreamJob<T>, reason: string): void {
    if (!this.inflight.delete(job)) return;
    const now = Date.now();
    const upstream = job.upstream as Upstream;
    upstream.errors++;
    this.stats.errors++;
    this.markDown(upstream, now, reason);
    // An upstream that fails at once must not turn the query's budget into a retry loop.
    this.next(job, now, job.attempt + 1 < this.maxFailedAttempts, reason);
  }

  private markDown(upstream: Upstream, now: number, reason: string): void {
    // Attempts already under way when it went down fail too; they do not lengthen the backoff.
    if (upstream.downUntil > now) return;
    upstream.consecutiveFailures++;
    upstream.downUntil = now + Math.min(MAX_DOWN_MS, 1000 * 2 ** Math.min(upstream.consecutiveFailures - 1, 5));
    this.logger.warn({ upstream: upstream.label, failures: upstream.consecutiveFailures, reason }, reason === 'timeout' ? 'upstream timed out; marked down' : 'upstream failed; marked down');
  }

  /** Tries the next upstream while the budget lasts, else reports the failure. */
  private next(job: UpstreamJob<T>, now: number, retry: boolean, reason: string): void {
    if (retry && now < job.deadline && !this.closed) {
      job.attempt++;
      this.sendAttempt(job, now);
      return;
    }
    this.stats.failures++;
    this.onResult(job, undefined, reason);
  }

  private sweep(): void {
    if (this.inflight.size === 0) return;
    const now = Date.now();
    for (const job of this.inflight) {
      if (job.attemptDeadline > now) continue;
      this.inflight.delete(job);
      const upstream = job.upstream as Upstream;
      this.transports.get(upstream)?.cancel(job);
      upstream.timeouts++;
      this.stats.timeouts++;
      this.markDown(upstream, now, 'timeout');
      this.next(job, now, true, 'timeout');
    }
  }
}
