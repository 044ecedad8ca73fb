// One DNS worker thread (dns.workers > 1; src/replica/dns-workers.ts starts them): its own
// resolver (cache, upstream sockets, counters) behind its own UDP socket on every dns.listen
// address, bound with SO_REUSEPORT so the kernel spreads datagrams over the workers. The
// policy comes from the main thread (src/replica/worker-policy.ts: the lists' memory is
// shared), decisions go back to the main thread's block log (decision-relay.ts), log lines
// to its logger, and stats on request.
import { parentPort, workerData } from 'node:worker_threads';
import type { PackedDecision } from '../audit/packed.ts';
import { DnswardError } from '../errors.ts';
import { QueryCounters } from '../pipeline/counters.ts';
import type { PolicySnapshot } from '../policy/snapshot.ts';
import { Resolver, type ResolverOptions, type ResolverStats } from '../resolver/resolver.ts';
import type { BatchUdpStats } from '../server/batch-udp-listener.ts';
import type { DatagramMode } from '../server/datagram-addon.ts';
import { UdpListener } from '../server/udp-listener.ts';
import type { UpstreamTarget } from '../config/upstreams.ts';
import type { HostPort } from '../util/address.ts';
import { threadLogger } from '../util/thread-log.ts';
import { relayDecisions } from './decision-relay.ts';
import { policyFromMain, type WirePolicy } from './worker-policy.ts';

export interface DnsWorkerInit {
  /** 0-based, for logs and per-worker stats. */
  index: number;
  /** Addresses with the ports the main thread bound (port 0 already resolved). */
  listen: HostPort[];
  datagram: DatagramMode;
  upstreams: UpstreamTarget[];
  resolver: ResolverOptions;
  policy: WirePolicy;
  logLevel: string;
}

export interface DnsWorkerStats {
  resolver: ResolverStats;
  /** The addon path's counters per socket (empty on node:dgram). */
  udp: BatchUdpStats[];
}

export type ToDnsWorker = { t: 'policy'; policy: WirePolicy } | { t: 'stats'; id: number } | { t: 'stop' };
export type FromDnsWorker =
  | { t: 'ready' }
  | { t: 'fatal'; code?: string | undefined; message: string }
  | { t: 'log'; line: string }
  | { t: 'decisions'; events: PackedDecision[] }
  | { t: 'installed'; generation: number }
  | { t: 'stats'; id: number; stats: DnsWorkerStats }
  | { t: 'stopped' };

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('DNS worker started outside a worker thread');
  const init = workerData as DnsWorkerInit;
  const post = (message: FromDnsWorker): void => port.postMessage(message);
  const logger = threadLogger(init.logLevel, (line) => post({ t: 'log', line })).child({ worker: init.index });
  const counters = new QueryCounters();
  const decisions = relayDecisions((events) => post({ t: 'decisions', events }), logger.child({ component: 'audit' }));
  // The generation the main thread gave the policy in force here (this thread numbers its own copies).
  let generation = init.policy.generation;
  const build = (wire: WirePolicy, previous?: PolicySnapshot): PolicySnapshot => policyFromMain(wire, { countsFor: counters.forSegment, previous });
  const resolver = new Resolver({ upstreams: init.upstreams, decisions, logger: logger.child({ component: 'resolver' }), counters }, init.resolver, build(init.policy));
  const listeners: UdpListener[] = [];
  try {
    await resolver.start();
    for (const address of init.listen) {
      const udp = new UdpListener(address, resolver, logger.child({ component: 'udp' }), { datagram: init.datagram, reusePort: true });
      listeners.push(udp);
      await udp.start(address.port);
    }
  } catch (error) {
    await Promise.allSettled(listeners.map((l) => l.close()));
    await resolver.stop();
    post({ t: 'fatal', code: error instanceof DnswardError ? error.code : (error as NodeJS.ErrnoException).code, message: (error as Error).message });
    return;
  }
  const stats = (): DnsWorkerStats => {
    const udp = listeners.flatMap((l) => l.stats() ?? []);
    return { resolver: { ...resolver.stats(), policyGeneration: generation }, udp };
  };
  port.on('message', (message: ToDnsWorker) => {
    if (message.t === 'policy') {
      // Validated on the main thread; built here around the same shared sets.
      resolver.install(build(message.policy, resolver.currentPolicy));
      generation = message.policy.generation;
      post({ t: 'installed', generation });
    } else if (message.t === 'stats') {
      post({ t: 'stats', id: message.id, stats: stats() });
    } else {
      // Stop taking datagrams, let queries in flight finish or fail, then hand over the last decisions.
      void (async () => {
        await Promise.allSettled(listeners.map((l) => l.close()));
        await resolver.stop();
        await decisions.close();
        post({ t: 'stopped' });
        port.close();
      })();
    }
  });
  post({ t: 'ready' });
}

await main();
