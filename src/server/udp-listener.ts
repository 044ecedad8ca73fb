// The UDP listener of one configured address: batched through the addon (recvmmsg and
// sendmmsg, src/server/batch-udp-listener.ts) where it is built and wanted, node:dgram
// (src/server/dgram-udp-listener.ts) otherwise. dns.datagram and DNSWARD_DATAGRAM choose
// (src/server/datagram-addon.ts). Both hand every datagram to the resolver and send its
// answers back; they differ only in how many datagrams one system call carries.
import type { Logger } from 'pino';
import type { MessageHandler } from '../pipeline/context.ts';
import type { HostPort } from '../util/address.ts';
import { BatchUdpListener, type BatchUdpStats } from './batch-udp-listener.ts';
import { chooseDatagramPath, type DatagramMode, type DatagramPath } from './datagram-addon.ts';
import { DgramUdpListener } from './dgram-udp-listener.ts';

export interface UdpListenerOptions {
  /** dns.datagram (default auto); DNSWARD_DATAGRAM overrides it. */
  datagram?: DatagramMode;
  /** SO_REUSEPORT: several sockets (one per DNS worker thread) share the address, the kernel spreads datagrams over them. */
  reusePort?: boolean;
}

export class UdpListener {
  /** Which way this listener's datagrams go. */
  readonly path: DatagramPath;
  private readonly impl: BatchUdpListener | DgramUdpListener;

  /** Throws DNSWARD_ERR_CONFIG when the addon is demanded (addon) but cannot be used here. */
  constructor(address: HostPort, resolver: MessageHandler, logger: Logger, options: UdpListenerOptions = {}) {
    const choice = chooseDatagramPath(options.datagram);
    this.path = choice.path;
    this.impl = choice.addon ? new BatchUdpListener(address, resolver, logger, choice.addon, options.reusePort) : new DgramUdpListener(address, resolver, logger, options.reusePort);
    logger.info({ datagram: choice.path, reason: choice.reason }, choice.path === 'addon' ? 'udp: batched datagrams (recvmmsg/sendmmsg addon)' : 'udp: node:dgram');
  }

  /** Binds and returns the bound port (useful when port 0 was asked for). */
  start(port?: number): Promise<number> {
    return this.impl.start(port);
  }

  /** Batch counters of the addon path (undefined on node:dgram). */
  stats(): BatchUdpStats | undefined {
    return this.impl instanceof BatchUdpListener ? this.impl.stats() : undefined;
  }

  close(): Promise<void> {
    return this.impl.close();
  }
}
