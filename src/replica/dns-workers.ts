// The DNS worker threads (dns.workers > 1), seen from the main thread: starts them on the
// addresses the main thread bound, sends each new policy to all of them (reload and list
// changes: the main thread builds and validates, the workers build their copy around the same
// shared list memory), hands their decisions to the one block-log writer, relays their log
// lines, and gathers their stats for /metrics and health. The main thread keeps DNS over TCP
// (and DoT, DoH); the workers take UDP.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { DecisionSink } from '../audit/types.ts';
import { DnswardError, ErrorCodes, type ErrorCode } from '../errors.ts';
import type { PolicySnapshot } from '../policy/snapshot.ts';
import type { ResolverOptions } from '../resolver/resolver.ts';
import type { DatagramMode } from '../server/datagram-addon.ts';
import type { UpstreamTarget } from '../config/upstreams.ts';
import type { HostPort } from '../util/address.ts';
import { relayLogLine } from '../util/thread-log.ts';
import { unpackDecision } from '../audit/packed.ts';
import type { DnsWorkerInit, DnsWorkerStats, FromDnsWorker, ToDnsWorker } from './dns-worker.ts';
import { policyForWorkers } from './worker-policy.ts';

/** A stopping worker ends its queries within dns.query_timeout_ms (at most 10 s); past this it is ended. */
const STOP_TIMEOUT_MS = 15_000;

export interface DnsWorkersOptions {
  count: number;
  /** The bound addresses (their ports resolved): each worker binds a SO_REUSEPORT socket on each. */
  listen: HostPort[];
  datagram: DatagramMode;
  upstreams: readonly UpstreamTarget[];
  resolver: ResolverOptions;
  policy: PolicySnapshot;
  decisions: DecisionSink;
  logger: Logger;
}

interface Thread {
  readonly worker: Worker;
  readonly exited: Promise<void>;
  stats: DnsWorkerStats | undefined;
  /** The main thread's generation of the policy this worker enforces. */
  generation: number;
  stopping: boolean;
  ended: boolean;
}

export class DnsWorkers {
  private readonly threads: Thread[] = [];
  private readonly logger: Logger;
  private readonly decisions: DecisionSink;
  private latest: number;
  private readonly waiting: (() => void)[] = [];
  private readonly statsWaiting = new Map<number, { left: Set<Thread>; resolve: () => void }>();
  private nextId = 1;
  /** Stats are asked for every second too, so that health sees the workers' upstream state between scrapes. */
  private readonly ticker: NodeJS.Timeout;

  private constructor(options: DnsWorkersOptions) {
    this.logger = options.logger;
    this.decisions = options.decisions;
    this.latest = options.policy.generation;
    this.ticker = setInterval(() => void this.refresh(), 1000);
    this.ticker.unref();
  }

  /** Starts every worker and resolves once each has bound its sockets; on failure stops them and throws. */
  static async start(options: DnsWorkersOptions): Promise<DnsWorkers> {
    const pool = new DnsWorkers(options);
    const url = new URL(import.meta.url.endsWith('.ts') ? './dns-worker.ts' : './dns-worker.js', import.meta.url);
    const policy = policyForWorkers(options.policy);
    const started = Array.from({ length: options.count }, (_, index) => {
      const init: DnsWorkerInit = { index, listen: options.listen, datagram: options.datagram, upstreams: [...options.upstreams], resolver: options.resolver, policy, logLevel: options.logger.level };
      const worker = new Worker(url, { workerData: init, name: `dnsward-dns-${index}` });
      const thread: Thread = { worker, exited: new Promise((resolve) => worker.once('exit', () => resolve())), stats: undefined, generation: policy.generation, stopping: false, ended: false };
      pool.threads.push(thread);
      return pool.watch(thread, index);
    });
    const results = await Promise.allSettled(started);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      await pool.stop();
      throw failed.reason;
    }
    return pool;
  }

  /** Sends a new policy to every worker (the main thread installed it already). */
  install(policy: PolicySnapshot): void {
    this.latest = policy.generation;
    const message: ToDnsWorker = { t: 'policy', policy: policyForWorkers(policy) };
    for (const thread of this.threads) if (!thread.stopping) thread.worker.postMessage(message);
  }

  /** Resolves once every worker enforces the latest policy sent (a reload answers after this). */
  settled(): Promise<void> {
    if (this.allCurrent()) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** The generation of the policy each worker has confirmed it enforces. */
  generations(): number[] {
    return this.threads.map((t) => t.generation);
  }

  /** Each worker's stats as last received (refresh() asks for new ones). */
  stats(): DnsWorkerStats[] {
    return this.threads.flatMap((t) => t.stats ?? []);
  }

  /** Asks every worker for its stats and resolves when all have answered (or gone). */
  refresh(): Promise<void> {
    const live = this.threads.filter((t) => !t.stopping);
    if (live.length === 0) return Promise.resolve();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.statsWaiting.set(id, { left: new Set(live), resolve });
      for (const t of live) t.worker.postMessage({ t: 'stats', id } satisfies ToDnsWorker);
    });
  }

  /** Stops taking datagrams, lets queries in flight end, and waits for every worker's last decisions. */
  async stop(): Promise<void> {
    clearInterval(this.ticker);
    for (const t of this.threads) {
      if (t.stopping) continue;
      t.stopping = true;
      t.worker.postMessage({ t: 'stop' } satisfies ToDnsWorker);
    }
    // A worker that has not stopped in time (a bug: its queries end within query_timeout_ms) is ended, and said so.
    const deadline = setTimeout(() => {
      for (const t of this.threads) {
        if (t.ended) continue;
        this.logger.error({ component: 'dns' }, 'a DNS worker did not stop in time; ended (its last decisions may be missing from the block log)');
        void t.worker.terminate();
      }
    }, STOP_TIMEOUT_MS);
    await Promise.all(this.threads.map((t) => t.exited));
    clearTimeout(deadline);
    for (const waiting of this.statsWaiting.values()) waiting.resolve();
    this.statsWaiting.clear();
  }

  /** Wires one worker's messages; resolves when it is ready, rejects with its start-up error. */
  private watch(thread: Thread, index: number): Promise<void> {
    const { worker } = thread;
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromDnsWorker) => {
        if (m.t === 'decisions') for (const p of m.events) this.decisions.record(unpackDecision(p));
        else if (m.t === 'log') relayLogLine(this.logger, m.line, 'dns worker');
        else if (m.t === 'installed') this.installed(thread, m.generation);
        else if (m.t === 'stats') this.statsArrived(thread, m.id, m.stats);
        // Everything it held has arrived (messages keep their order): end it, whatever handle it still has open.
        else if (m.t === 'stopped') void worker.terminate();
        else if (m.t === 'ready') {
          ready = true;
          resolve();
        }
        else if (m.t === 'fatal') {
          thread.stopping = true;
          reject(new DnswardError((m.code?.startsWith('DNSWARD_') ? (m.code as ErrorCode) : undefined) ?? ErrorCodes.LISTEN, `dns.workers: worker ${index} could not start: ${m.message}`));
        }
      });
      worker.on('error', (error) => {
        this.logger.error({ component: 'dns', worker: index, err: error }, 'DNS worker failed (bug); the others keep answering');
        if (!ready) reject(error);
      });
      worker.once('exit', () => {
        thread.ended = true;
        if (!thread.stopping) this.logger.error({ component: 'dns', worker: index }, 'DNS worker exited unexpectedly; the others keep answering');
        thread.stopping = true;
        if (!ready) reject(new DnswardError(ErrorCodes.LISTEN, `dns.workers: worker ${index} exited before it was ready`));
        // A gone worker answers nothing more: do not keep reloads or scrapes waiting for it.
        this.installed(thread, thread.generation);
        for (const id of [...this.statsWaiting.keys()]) this.answered(thread, id);
      });
    });
  }

  private installed(thread: Thread, generation: number): void {
    thread.generation = generation;
    if (!this.allCurrent()) return;
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  private allCurrent(): boolean {
    return this.threads.every((t) => t.stopping || t.generation === this.latest);
  }

  private statsArrived(thread: Thread, id: number, stats: DnsWorkerStats): void {
    thread.stats = stats;
    this.answered(thread, id);
  }

  private answered(thread: Thread, id: number): void {
    const waiting = this.statsWaiting.get(id);
    if (waiting === undefined || !waiting.left.delete(thread) || waiting.left.size > 0) return;
    this.statsWaiting.delete(id);
    waiting.resolve();
  }
}
