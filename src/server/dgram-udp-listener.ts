// UDP through node:dgram: one socket per configured address, one callback per datagram and
// one send per answer. The fallback wherever the batched addon is not built or not wanted
// (src/server/udp-listener.ts picks).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Logger } from 'pino';
import type { MessageHandler, QueryContext, Responder } from '../pipeline/context.ts';
import type { HostPort } from '../util/address.ts';

/** Kernel socket buffers asked for on every UDP listener (the kernel caps them at net.core.rmem_max / wmem_max). */
export const UDP_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export class DgramUdpListener implements Responder {
  private readonly socket: Socket;
  private readonly resolver: MessageHandler;
  private readonly logger: Logger;
  private readonly address: HostPort;

  constructor(address: HostPort, resolver: MessageHandler, logger: Logger, reusePort = false) {
    this.address = address;
    this.resolver = resolver;
    this.logger = logger;
    this.socket = createSocket({ type: address.family === 4 ? 'udp4' : 'udp6', ipv6Only: address.family === 6, reusePort });
    this.socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.resolver.handleMessage(msg, rinfo.address, 'udp', this, rinfo.address, rinfo.port));
    // Without a send callback, send errors (e.g. EMSGSIZE, unreachable) arrive here; never fatal.
    this.socket.on('error', (error) => {
      this.logger.warn({ err: error }, 'udp socket error');
    });
  }

  /** Binds and returns the bound port (useful when port 0 was asked for). */
  async start(port = this.address.port): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.socket.once('error', onError);
      this.socket.bind({ port, address: this.address.host, exclusive: true }, () => {
        this.socket.off('error', onError);
        resolve();
      });
    });
    try {
      // Absorb bursts: the default receive buffer (~200 KB) drops datagrams under load.
      this.socket.setRecvBufferSize(UDP_SOCKET_BUFFER_BYTES);
      this.socket.setSendBufferSize(UDP_SOCKET_BUFFER_BYTES);
    } catch {
      // The kernel caps these (net.core.rmem_max); the defaults still work.
    }
    return this.socket.address().port;
  }

  send(ctx: QueryContext, response: Buffer): void {
    this.socket.send(response, ctx.replyPort, ctx.replyTo as string);
  }

  noReply(_replyTo: unknown): void {
    // Nothing to release for a datagram.
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
