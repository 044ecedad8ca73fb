// Guards of a TLS listener before any DNS is read: a per-client cap on connections counted
// from the first TCP byte, and a deadline on the handshake. Node's own handshakeTimeout is an
// inactivity timer, so a client that trickles its ClientHello one byte at a time would hold
// the connection for hours; this deadline counts from the connection's start.
import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';

export interface TlsGuardLimits {
  maxConnectionsPerClient: number;
  handshakeTimeoutMs: number;
}

export interface TlsGuardStats {
  /** Connections closed because their handshake did not finish in time. */
  handshakeTimeouts: number;
  /** Connections refused at once: their client had maxConnectionsPerClient open. */
  overClientCap: number;
}

/** Installs both guards on `server`; the returned stats count what they closed. */
export function guardTlsServer(server: TlsServer, limits: TlsGuardLimits): TlsGuardStats {
  const stats: TlsGuardStats = { handshakeTimeouts: 0, overClientCap: 0 };
  const perClient = new Map<string, number>();
  // Keyed by the peer's address and port: the raw socket and its TLSSocket share them.
  const handshaking = new Map<string, NodeJS.Timeout>();
  server.on('connection', (raw: Socket) => {
    const client = raw.remoteAddress ?? '';
    const open = perClient.get(client) ?? 0;
    if (open >= limits.maxConnectionsPerClient) {
      stats.overClientCap++;
      raw.destroy();
      return;
    }
    perClient.set(client, open + 1);
    const key = `${client}|${raw.remotePort}`;
    const timer = setTimeout(() => {
      stats.handshakeTimeouts++;
      raw.destroy();
    }, limits.handshakeTimeoutMs);
    handshaking.set(key, timer);
    raw.once('close', () => {
      clearTimeout(timer);
      if (handshaking.get(key) === timer) handshaking.delete(key);
      const left = (perClient.get(client) ?? 1) - 1;
      if (left <= 0) perClient.delete(client);
      else perClient.set(client, left);
    });
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const key = `${socket.remoteAddress ?? ''}|${socket.remotePort}`;
    clearTimeout(handshaking.get(key));
    handshaking.delete(key);
  });
  // A failed handshake (bad version, no shared cipher, a scanner) closes that socket; nothing to log per client.
  server.on('tlsClientError', (_error, socket) => socket.destroy());
  return stats;
}
