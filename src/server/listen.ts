// What every DNS listener over a stream does to start, and a deadline-check interval the
// HTTP servers share.
import type { Server } from 'node:net';
import type { HostPort } from '../util/address.ts';

/** Binds `server` to the address (port 0: any), alone on it (`exclusive`); resolves with the port bound. */
export async function listenOn(server: Server, address: HostPort, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: address.host, ipv6Only: address.family === 6, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  return typeof bound === 'object' && bound !== null ? bound.port : port;
}

/**
 * How often Node checks the header and request deadlines of an HTTP server (30 s by default):
 * often enough for a deadline of `deadlineMs` to mean what it says.
 */
export function deadlineCheckInterval(deadlineMs: number): number {
  return Math.max(100, Math.min(1000, Math.floor(deadlineMs / 4)));
}
