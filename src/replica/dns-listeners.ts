// DNS listeners: UDP and TCP on the same port for each configured address.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import type { MessageHandler } from '../pipeline/context.ts';
import { TcpListener, type TcpLimits } from '../server/tcp-listener.ts';
import type { BatchUdpStats } from '../server/batch-udp-listener.ts';
import { UdpListener } from '../server/udp-listener.ts';
import { type HostPort, parseHostPort } from '../util/address.ts';

export interface BoundAddress {
  host: string;
  port: number;
}

export interface DnsListeners {
  /** Bound DNS addresses; UDP and TCP share each port. */
  readonly bound: readonly BoundAddress[];
  close(): Promise<void>;
  /** Closes the UDP sockets only (DNS worker threads took over the addresses with their own). */
  closeUdp(): Promise<void>;
  /** Batch counters of the UDP listeners on the batched datagram path (none on node:dgram). */
  udpStats(): BatchUdpStats[];
}

export interface BindOptions {
  /** SO_REUSEPORT on the UDP sockets, so that DNS worker threads can bind the same addresses. */
  reusePort?: boolean;
}

/** Binds every dns.listen address; on failure closes what was bound and throws DnswardError naming the key. */
export async function bindDnsListeners(dns: Config['dns'], resolver: MessageHandler, logger: Logger, options: BindOptions = {}): Promise<DnsListeners> {
  const listeners: { close(): Promise<void> }[] = [];
  const udps: UdpListener[] = [];
  const bound: BoundAddress[] = [];
  const close = async (): Promise<void> => {
    await Promise.allSettled(listeners.map((l) => l.close()));
  };
  const tcpLimits = tcpLimitsOf(dns);
  try {
    for (const text of dns.listen) {
      const address = parseHostPort(text, 53) as HostPort;
      // UDP and TCP share the port. With port 0 the kernel picks the UDP port, and that
      // number can already be taken for TCP: then try again with another one.
      for (let attempt = 1; ; attempt++) {
        const udp = new UdpListener(address, resolver, logger.child({ component: 'udp' }), { datagram: dns.datagram, reusePort: options.reusePort ?? false });
        const port = await udp.start().catch((error: Error) => listenError('dns.listen', text, error));
        const tcp = new TcpListener(address, resolver, logger.child({ component: 'tcp' }), tcpLimits);
        const tcpError = await tcp.start(port).then(
          () => undefined,
          (error: Error) => error,
        );
        if (tcpError === undefined) {
          listeners.push(udp, tcp);
          udps.push(udp);
          bound.push({ host: address.host, port });
          break;
        }
        await udp.close();
        const retry = address.port === 0 && (tcpError as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 10;
        if (!retry) listenError('dns.listen', text, tcpError);
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  const closeUdp = async (): Promise<void> => {
    await Promise.allSettled(udps.map((l) => l.close()));
  };
  return { bound, close, closeUdp, udpStats: () => udps.flatMap((u) => u.stats() ?? []) };
}

export function listenError(key: string, value: string, error: Error): never {
  const code = (error as NodeJS.ErrnoException).code;
  const hint = code === 'EADDRINUSE' ? 'another process uses that port; pick a free one' : code === 'EACCES' ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE' : code === 'EADDRNOTAVAIL' ? 'that address is not configured on this host' : error.message;
  throw new DnswardError(ErrorCodes.LISTEN, `${key}: cannot listen on "${value}": ${code ?? error.message}; ${hint}`, { cause: error });
}

export function formatAddress(a: BoundAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** The limits every stream listener (TCP, DoT, DoH) takes from dns.tcp, each listener on its own. */
export function tcpLimitsOf(dns: Config['dns']): TcpLimits {
  return {
    idleTimeoutMs: dns.tcp_idle_timeout_ms,
    messageDeadlineMs: dns.tcp.message_deadline_ms,
    maxConnections: dns.tcp.max_connections,
    maxConnectionsPerClient: dns.tcp.max_connections_per_client,
    maxInFlightPerConnection: dns.tcp.max_inflight_per_connection,
  };
}
