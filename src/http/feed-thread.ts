// The public list feed in its own worker thread, so that HTTP work (parsing, routing, writing
// hundreds of MB/s of list bodies, TLS) never delays a DNS answer on the main thread. The
// main thread keeps the list registry and mirrors every published list to the thread as it
// changes; the thread runs the same fastify app and list routes as before.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import type { NetworkListRegistry } from '../lists/network-registry.ts';
import type { ListRegistry } from '../lists/registry.ts';
import type { ListSnapshot } from '../lists/types.ts';
import { threadWanted } from '../util/cpus.ts';
import { relayLogLine } from '../util/thread-log.ts';
import type { FeedFromThread, FeedToThread } from './feed-worker.ts';
import { subscribedSummary, toWire } from './feed-wire.ts';
import { swapTls, type TlsMaterial } from './listener.ts';
import { buildPublicApp } from './app.ts';
import { DEFAULT_PORTS } from '../config/sections/http.ts';
import { listenError } from '../replica/dns-listeners.ts';
import { type HostPort, parseHostPort } from '../util/address.ts';

export interface FeedThread {
  readonly port: number;
  /** Installs a new certificate; resolves once the thread uses it for new connections. */
  swapTls(tls: TlsMaterial): Promise<void>;
  close(): Promise<void>;
}

/**
 * The public feed as configured: in its own thread (http.thread: true, or auto with 4 or more
 * CPUs), or on the thread that answers DNS, which saves the thread's ~25-30 MB.
 */
export function startFeed(config: Config, lists: ListRegistry, tls: TlsMaterial | undefined, logger: Logger, networks?: NetworkListRegistry): Promise<FeedThread> {
  const threaded = threadWanted(config.http.thread);
  logger.debug({ component: 'http', threaded, cpus: availableParallelism() }, 'public feed placement');
  return threaded ? startFeedThread(config, lists, tls, logger, networks) : startFeedInProcess(config, lists, tls, logger, networks);
}

async function startFeedInProcess(config: Config, lists: ListRegistry, tls: TlsMaterial | undefined, logger: Logger, networks?: NetworkListRegistry): Promise<FeedThread> {
  const app = buildPublicApp({ config, logger, lists, networks }, tls);
  const address = parseHostPort(config.http.listen, DEFAULT_PORTS.http) as HostPort;
  await app.listen({ host: address.host, port: address.port }).catch((error: Error) => listenError('http.listen', config.http.listen, error));
  const info = app.server.address();
  return {
    port: typeof info === 'object' && info !== null ? info.port : address.port,
    swapTls: async (material) => swapTls(app, material),
    close: () => app.close(),
  };
}

/** Starts the thread and resolves once its listener is bound (or rejects with its error). */
export async function startFeedThread(config: Config, lists: ListRegistry, tls: TlsMaterial | undefined, logger: Logger, networks?: NetworkListRegistry): Promise<FeedThread> {
  const url = new URL(import.meta.url.endsWith('.ts') ? './feed-worker.ts' : './feed-worker.js', import.meta.url);
  // A small young generation, as the main thread has (bin/dnsward): the feed makes little short-lived garbage.
  const worker = new Worker(url, { workerData: { config, tls, logLevel: logger.level }, name: 'dnsward-feed', resourceLimits: { maxYoungGenerationSizeMb: 4 } });
  const log = logger.child({ component: 'http' });
  // The log relay writes the thread's lines with `logger` (the lines carry their own component).
  const post = (message: FeedToThread): void => worker.postMessage(message);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

  // Every published list now, then each change (in order: a slow export never overtakes a later one).
  let sending = Promise.resolve();
  const mirror = (snapshot: ListSnapshot): void => {
    sending = sending
      .then(async () => {
        if (lists.get(snapshot.name) !== snapshot) post({ t: 'remove', name: snapshot.name });
        // Sources are not republished: the thread gets their name, version and guarded entries only (for /lists).
        else post({ t: 'list', snapshot: snapshot.origin === 'subscribed' ? subscribedSummary(snapshot) : await toWire(snapshot) });
      })
      .catch((error: unknown) => log.error({ err: error, list: snapshot.name }, 'a list could not be handed to the feed thread; the feed keeps the previous version'));
  };
  for (const snapshot of lists.all()) mirror(snapshot);
  const unsubscribeLists = lists.onChange(mirror);
  // Network lists are small plain data: the whole set crosses on each change.
  const mirrorNetworks = (): void => {
    if (networks) sending = sending.then(() => post({ t: 'networks', lists: networks.all() }));
  };
  mirrorNetworks();
  const unsubscribeNetworks = networks?.onChange(mirrorNetworks);
  const unsubscribe = (): void => {
    unsubscribeLists();
    unsubscribeNetworks?.();
  };

  const port = await new Promise<number>((resolve, reject) => {
    const onMessage = (m: FeedFromThread): void => {
      if (m.t === 'log') return relayLogLine(logger, m.line, 'feed');
      if (m.t === 'listening') resolve(m.port);
      else if (m.t === 'fatal') reject(new DnswardError(m.code === ErrorCodes.LISTEN ? ErrorCodes.LISTEN : ErrorCodes.CONFIG, m.message));
    };
    worker.on('message', onMessage);
    worker.once('error', (error) => reject(new DnswardError(ErrorCodes.CONFIG, `the list feed thread failed to start: ${error.message}`, { cause: error })));
    void exited.then(() => reject(new DnswardError(ErrorCodes.CONFIG, 'the list feed thread exited before it listened')));
  }).catch(async (error: unknown) => {
    unsubscribe();
    await worker.terminate();
    throw error;
  });
  worker.on('error', (error) => log.error({ err: error }, 'the list feed thread failed (bug); the feed is down until a restart'));

  return {
    port,
    swapTls: (material) =>
      new Promise<void>((resolve) => {
        const onSwapped = (m: FeedFromThread): void => {
          if (m.t !== 'tls-swapped') return;
          worker.off('message', onSwapped);
          resolve();
        };
        worker.on('message', onSwapped);
        post({ t: 'tls', tls: material });
      }),
    async close() {
      unsubscribe();
      await sending;
      post({ t: 'close' });
      await exited;
    },
  };
}
