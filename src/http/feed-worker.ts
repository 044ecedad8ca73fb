// Worker-thread side of the public list feed (see feed-thread.ts): a local list registry fed
// by the main thread, and the public fastify app listening on http.listen.
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config/schema.ts';
import { DEFAULT_PORTS } from '../config/sections/http.ts';
import { DnswardError } from '../errors.ts';
import type { NetworkListSnapshot } from '../lists/network-list.ts';
import { NetworkListRegistry } from '../lists/network-registry.ts';
import { ListRegistry } from '../lists/registry.ts';
import { type HostPort, parseHostPort } from '../util/address.ts';
import { threadLogger } from '../util/thread-log.ts';
import { buildPublicApp } from './app.ts';
import { fromWire, type WireSnapshot } from './feed-wire.ts';
import { swapTls, type TlsMaterial } from './listener.ts';
import { configureBackgroundNice } from '../util/thread-priority.ts';

export type FeedToThread =
  | { t: 'list'; snapshot: WireSnapshot }
  | { t: 'remove'; name: string }
  | { t: 'networks'; lists: NetworkListSnapshot[] } | { t: 'tls'; tls: TlsMaterial } | { t: 'close' };
export type FeedFromThread = { t: 'log'; line: string } | { t: 'listening'; port: number } | { t: 'tls-swapped' } | { t: 'fatal'; message: string; code?: string | undefined };

interface FeedInit {
  config: Config;
  tls: TlsMaterial | undefined;
  logLevel: string;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('feed worker started outside a worker thread');
  const init = workerData as FeedInit;
  // This thread renders lists too (render-thread.ts): its render threads are lowered as they come online.
  configureBackgroundNice(init.config.dns.background_nice);
  const post = (message: FeedFromThread): void => port.postMessage(message);
  const logger = threadLogger(init.logLevel, (line) => post({ t: 'log', line }));
  const lists = new ListRegistry();
  const networks = new NetworkListRegistry();
  const app = buildPublicApp({ config: init.config, logger, lists, networks }, init.tls);
  port.on('message', (m: FeedToThread) => {
    if (m.t === 'list') lists.set(fromWire(m.snapshot));
    else if (m.t === 'networks') networks.replace(m.lists);
    else if (m.t === 'remove') lists.remove(m.name);
    else if (m.t === 'tls') {
      swapTls(app, m.tls);
      post({ t: 'tls-swapped' });
    }
    else if (m.t === 'close') void app.close().finally(() => port.close());
  });
  const address = parseHostPort(init.config.http.listen, DEFAULT_PORTS.http) as HostPort;
  try {
    await app.listen({ host: address.host, port: address.port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'EADDRINUSE' ? 'another process uses that port; pick a free one' : code === 'EACCES' ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE' : (error as Error).message;
    post({ t: 'fatal', code: 'DNSWARD_ERR_LISTEN', message: `http.listen: cannot listen on "${init.config.http.listen}": ${code ?? ''}; ${hint}` });
    port.close();
    return;
  }
  const info = app.server.address();
  post({ t: 'listening', port: typeof info === 'object' && info !== null ? info.port : address.port });
}

main().catch((error: unknown) => {
  parentPort?.postMessage({ t: 'fatal', message: error instanceof DnswardError ? error.message : String(error), code: error instanceof DnswardError ? error.code : undefined } satisfies FeedFromThread);
  parentPort?.close();
});
