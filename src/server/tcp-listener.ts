// TCP listener (RFC 7766): 2-byte length framing across segments, pipelined queries
// answered as they complete, idle and slow connections destroyed (not half-closed),
// a cap on connections and on queries in flight per connection, write backpressure.
// With `tls` it is the DNS-over-TLS listener (RFC 7858): the same framing and limits inside
// TLS, the per-client cap counted from the TCP connection, and a deadline on the handshake.
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { MessageHandler, QueryContext, Responder, Transport } from '../pipeline/context.ts';
import type { HostPort } from '../util/address.ts';
import { guardTlsServer, type TlsGuardStats } from './tls-guard.ts';
import { listenOn } from './listen.ts';

export interface TcpLimits {
  idleTimeoutMs: number;
  /** A started message must be complete within this time (slowloris). */
  messageDeadlineMs: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  maxInFlightPerConnection: number;
}

const EMPTY = Buffer.alloc(0);

interface Connection {
  socket: Socket;
  pending: Buffer;
  partialSince: number;
  inFlight: number;
  peerEnded: boolean;
  writePaused: boolean;
  processing: boolean;
}

export class TcpListener implements Responder {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly perClient = new Map<string, number>();
  private readonly resolver: MessageHandler;
  private readonly logger: Logger;
  private readonly limits: TcpLimits;
  private readonly address: HostPort;
  private readonly transport: Transport;
  private sweeper: NodeJS.Timeout | undefined;
  /** DoT only: what the TLS guards closed. */
  readonly tlsStats: TlsGuardStats | undefined;

  /** `tls`: serve DNS over TLS with this certificate and key (the handshake must finish within messageDeadlineMs). */
  constructor(address: HostPort, resolver: MessageHandler, logger: Logger, limits: TcpLimits, tls?: SecureContextOptions) {
    this.address = address;
    this.resolver = resolver;
    this.logger = logger;
    this.limits = limits;
    this.transport = tls === undefined ? 'tcp' : 'dot';
    const options = { allowHalfOpen: true, noDelay: true };
    if (tls === undefined) {
      this.server = createServer(options, (socket) => this.admit(socket));
    } else {
      const server = createTlsServer({ ...options, ...tls, ALPNProtocols: ['dot'] });
      this.tlsStats = guardTlsServer(server, { maxConnectionsPerClient: limits.maxConnectionsPerClient, handshakeTimeoutMs: limits.messageDeadlineMs });
      server.on('secureConnection', (socket) => this.accept(socket));
      this.server = server;
    }
    this.server.maxConnections = limits.maxConnections;
    this.server.on('error', (error) => this.logger.warn({ err: error }, `${this.transport} server error`));
  }

  /** DoT: new connections use this certificate and key; open ones keep theirs. */
  setSecureContext(tls: SecureContextOptions): void {
    (this.server as TlsServer).setSecureContext(tls);
  }

  async start(port = this.address.port): Promise<number> {
    const bound = await listenOn(this.server, this.address, port);
    this.sweeper = setInterval(() => this.sweepSlow(), 500);
    this.sweeper.unref();
    return bound;
  }

  /** Plain TCP: the per-client cap (DoT counts it in guardTlsServer, before the handshake). */
  private admit(socket: Socket): void {
    const client = socket.remoteAddress ?? '';
    const open = this.perClient.get(client) ?? 0;
    if (open >= this.limits.maxConnectionsPerClient) {
      socket.destroy();
      return;
    }
    this.perClient.set(client, open + 1);
    socket.on('close', () => {
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left <= 0) this.perClient.delete(client);
      else this.perClient.set(client, left);
    });
    this.accept(socket);
  }

  private accept(socket: Socket): void {
    const conn: Connection = { socket, pending: EMPTY, partialSince: 0, inFlight: 0, peerEnded: false, writePaused: false, processing: false };
    this.connections.add(conn);
    socket.setTimeout(this.limits.idleTimeoutMs, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('end', () => {
      conn.peerEnded = true;
      if (conn.inFlight === 0 && conn.pending.length < 2) socket.end();
    });
    socket.on('drain', () => {
      conn.writePaused = false;
      this.updateReading(conn);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.connections.delete(conn));
  }

  private onData(conn: Connection, chunk: Buffer): void {
    conn.pending = conn.pending.length === 0 ? chunk : Buffer.concat([conn.pending, chunk]);
    if (conn.partialSince === 0) conn.partialSince = Date.now();
    this.processPending(conn);
  }

  /**
   * Hands complete messages to the resolver while the connection is under its in-flight cap;
   * the rest waits in `pending` until answers free a slot. The slowloris deadline runs per
   * message: it restarts whenever a message completes.
   */
  private processPending(conn: Connection): void {
    // Answers from cache or policy arrive synchronously and call back into here through
    // settled(); the loop below already picks up the freed slot, so do not nest.
    if (conn.processing) return;
    conn.processing = true;
    const client = conn.socket.remoteAddress ?? '';
    try {
      while (conn.pending.length >= 2 && conn.inFlight < this.limits.maxInFlightPerConnection) {
        const data = conn.pending;
        const length = data.readUInt16BE(0);
        if (length === 0) {
          conn.socket.destroy();
          return;
        }
        if (data.length < 2 + length) break;
        const message = data.subarray(2, 2 + length);
        const rest = data.subarray(2 + length);
        conn.pending = rest.length === 0 ? EMPTY : rest;
        conn.partialSince = rest.length === 0 ? 0 : Date.now();
        conn.inFlight++;
        this.resolver.handleMessage(message, client, this.transport, this, conn, 0);
        if (conn.socket.destroyed) return;
      }
    } finally {
      conn.processing = false;
    }
    // Copy a small remainder so the (possibly large) chunk it came from can be freed.
    if (conn.pending.length > 0 && conn.pending.length < conn.pending.buffer.byteLength / 2) conn.pending = Buffer.from(conn.pending);
    this.updateReading(conn);
  }

  private updateReading(conn: Connection): void {
    const stop = conn.writePaused || conn.inFlight >= this.limits.maxInFlightPerConnection;
    if (stop && !conn.socket.isPaused()) conn.socket.pause();
    else if (!stop && conn.socket.isPaused()) conn.socket.resume();
  }

  send(ctx: QueryContext, response: Buffer): void {
    const conn = ctx.replyTo as Connection;
    if (conn.socket.destroyed || !conn.socket.writable) {
      conn.inFlight--;
      return;
    }
    const framed = Buffer.allocUnsafe(response.length + 2);
    framed.writeUInt16BE(response.length, 0);
    response.copy(framed, 2);
    if (!conn.socket.write(framed)) conn.writePaused = true;
    this.settled(conn);
  }

  /** A message that gets no answer (dropped) still frees its in-flight slot. */
  noReply(replyTo: unknown): void {
    this.settled(replyTo as Connection);
  }

  private settled(conn: Connection): void {
    conn.inFlight--;
    if (conn.socket.destroyed) return;
    if (conn.pending.length >= 2) this.processPending(conn);
    if (conn.peerEnded && conn.inFlight === 0 && conn.pending.length === 0) conn.socket.end();
    else this.updateReading(conn);
  }

  private sweepSlow(): void {
    const cutoff = Date.now() - this.limits.messageDeadlineMs;
    for (const conn of this.connections) if (conn.partialSince !== 0 && conn.partialSince < cutoff) conn.socket.destroy();
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const conn of this.connections) conn.socket.destroy();
    await closed;
  }
}
