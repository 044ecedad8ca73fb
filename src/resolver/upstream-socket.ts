// The UDP sockets the upstream transport (upstream-udp.ts) sends queries from: node:dgram,
// one send and one receive callback per datagram, or the batched addon
// (upstream-batch-socket.ts), where the queries of one turn leave in one sendmmsg and
// replies arrive in batches. dns.datagram and DNSWARD_DATAGRAM choose (upstream-udp.ts), as
// for the listeners.
import { createSocket, type RemoteInfo } from 'node:dgram';
import type { Logger } from 'pino';

/** A reply: its bytes (the receiver may keep them), the sender's address as text and port. */
export type UpstreamReceive = (msg: Buffer, address: string, port: number) => void;

/** One bound socket on a kernel-chosen random port (RFC 5452 §9.2). */
export interface UpstreamSocket {
  /** Queues or sends one query; failures are logged and end as the attempt's timeout. */
  send(query: Buffer, port: number, host: string): void;
  close(): void;
}

export type UpstreamSocketOpener = (family: 4 | 6, onMessage: UpstreamReceive) => Promise<UpstreamSocket>;

/**
 * What the batched sockets of one transport have done, across socket rotations (/metrics:
 * dnsward_upstream_udp_*). Stays at zero on node:dgram, which has no batches to count.
 */
export interface UpstreamDatagramCounts {
  /** recvmmsg batches handed to JavaScript, and the replies in them. */
  receivedBatches: number;
  received: number;
  /** sendmmsg calls, queries they sent, and queries that could not be sent. */
  sentBatches: number;
  sent: number;
  sendFailed: number;
}

export function noDatagramCounts(): UpstreamDatagramCounts {
  return { receivedBatches: 0, received: 0, sentBatches: 0, sent: 0, sendFailed: 0 };
}

/** A node:dgram socket on a random port: one send and one receive callback per datagram. */
export async function openDgramSocket(family: 4 | 6, onMessage: UpstreamReceive, logger: Logger): Promise<UpstreamSocket> {
  const socket = createSocket({ type: family === 4 ? 'udp4' : 'udp6' });
  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => onMessage(msg, rinfo.address, rinfo.port));
  // Without a send callback, send errors (unreachable, ...) arrive here; the attempt times out.
  socket.on('error', (error) => logger.warn({ err: error }, 'upstream socket error'));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, family === 4 ? '0.0.0.0' : '::', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return {
    send: (query, port, host) => socket.send(query, port, host),
    close: () => socket.close(),
  };
}
