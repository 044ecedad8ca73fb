// DNS-over-HTTPS listener (RFC 8484): HTTP/2 and HTTP/1.1 over TLS (node:http2 with
// allowHTTP1), DNS at /dns-query by GET ?dns= and POST application/dns-message. Each query
// goes to the same MessageHandler as UDP and TCP, with transport 'doh' and the client taken
// from the connection (or from X-Forwarded-For when the connection is a trusted proxy).
// Limits: connections in total and per client, a handshake deadline, an idle timeout, streams
// per HTTP/2 connection, and a deadline on reading a request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { MessageHandler, QueryContext, Responder } from '../pipeline/context.ts';
import type { HostPort } from '../util/address.ts';
import { deadlineCheckInterval, listenOn } from './listen.ts';
import { cacheControl, checkMessage, classifyDohRequest, DNS_MESSAGE, type DohFailure, MAX_DNS_MESSAGE } from './doh-message.ts';
import { TrustedProxies } from './forwarded-for.ts';
import { guardTlsServer, type TlsGuardStats } from './tls-guard.ts';

export interface DohLimits {
  idleTimeoutMs: number;
  /** The TLS handshake, the request headers (HTTP/1.1) and a POST body must each arrive within this time. */
  messageDeadlineMs: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  /** HTTP/2 streams (queries) open at once on one connection. */
  maxStreamsPerConnection: number;
}

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

/** One HTTP request on its way through the resolver (the QueryContext's replyTo). */
interface Exchange {
  res: Response;
  done: boolean;
}

export interface DohStats {
  /** Requests answered with an HTTP error status, by status. */
  rejected: Record<number, number>;
  tls: TlsGuardStats;
}

export class DohListener implements Responder {
  private readonly server: Http2SecureServer;
  private readonly sockets = new Set<Socket>();
  private readonly resolver: MessageHandler;
  private readonly logger: Logger;
  private readonly address: HostPort;
  private readonly limits: DohLimits;
  private readonly proxies: TrustedProxies;
  readonly stats: DohStats;

  constructor(address: HostPort, resolver: MessageHandler, logger: Logger, limits: DohLimits, tls: SecureContextOptions, trustedProxies: readonly string[] = []) {
    this.address = address;
    this.resolver = resolver;
    this.logger = logger;
    this.limits = limits;
    this.proxies = new TrustedProxies(trustedProxies);
    // HTTP/1.1 (allowHTTP1) takes node:http's deadlines: headers and the whole request within
    // messageDeadlineMs (slowloris), checked often enough for that to mean what it says.
    const http1 = { headersTimeout: limits.messageDeadlineMs, requestTimeout: limits.messageDeadlineMs, connectionsCheckingInterval: deadlineCheckInterval(limits.messageDeadlineMs) };
    this.server = createSecureServer({ ...tls, ...http1, allowHTTP1: true, settings: { maxConcurrentStreams: limits.maxStreamsPerConnection } }, (req, res) => this.onRequest(req, res));
    this.server.maxConnections = limits.maxConnections;
    this.stats = { rejected: {}, tls: guardTlsServer(this.server, { maxConnectionsPerClient: limits.maxConnectionsPerClient, handshakeTimeoutMs: limits.messageDeadlineMs }) };
    // No 'timeout' listener: an idle HTTP/2 session or HTTP/1.1 socket is then destroyed.
    this.server.setTimeout(limits.idleTimeoutMs);
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server.on('sessionError', () => undefined);
    this.server.on('error', (error) => this.logger.warn({ err: error }, 'doh server error'));
  }

  start(port = this.address.port): Promise<number> {
    return listenOn(this.server, this.address, port);
  }

  /** New connections use this certificate and key; open ones keep theirs. */
  setSecureContext(tls: SecureContextOptions): void {
    this.server.setSecureContext(tls);
  }

  private onRequest(req: Request, res: Response): void {
    const request = classifyDohRequest(req.method ?? '', req.url ?? '', req.headers['content-type'], req.headers['content-length']);
    if (request.kind === 'fail') {
      this.fail(res, request, req);
      return;
    }
    const client = this.proxies.clientOf(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for']);
    const exchange: Exchange = { res, done: false };
    res.once('close', () => {
      exchange.done = true;
    });
    if (request.kind === 'message') {
      this.resolver.handleMessage(request.message, client, 'doh', this, exchange, 0);
      return;
    }
    this.readBody(req, exchange, (message) => this.resolver.handleMessage(message, client, 'doh', this, exchange, 0));
  }

  /** Reads a POST body of at most MAX_DNS_MESSAGE octets within messageDeadlineMs. */
  private readBody(req: Request, exchange: Exchange, then: (message: Buffer) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (failure: DohFailure): void => {
      clearTimeout(deadline);
      req.removeAllListeners('data');
      this.fail(exchange.res, failure, req);
    };
    const deadline = setTimeout(() => stop({ status: 408, reason: 'the request body came too slowly' }), this.limits.messageDeadlineMs);
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_DNS_MESSAGE) stop({ status: 413, reason: `a DNS message is at most ${MAX_DNS_MESSAGE} octets` });
      else chunks.push(chunk);
    });
    req.once('end', () => {
      if (exchange.done || size > MAX_DNS_MESSAGE) return;
      clearTimeout(deadline);
      const checked = checkMessage(Buffer.concat(chunks, size));
      if (checked.kind === 'message') then(checked.message);
      else if (checked.kind === 'fail') this.fail(exchange.res, checked, req);
    });
    req.once('error', () => clearTimeout(deadline));
    req.once('close', () => clearTimeout(deadline));
  }

  send(ctx: QueryContext, response: Buffer): void {
    const exchange = ctx.replyTo as Exchange;
    if (exchange.done || exchange.res.writableEnded) return;
    exchange.done = true;
    (exchange.res as ServerResponse).writeHead(200, { 'content-type': DNS_MESSAGE, 'content-length': response.length, 'cache-control': cacheControl(response) });
    exchange.res.end(response);
  }

  /** The resolver dropped the message (not a query it answers, e.g. a response): say so. */
  noReply(replyTo: unknown): void {
    const exchange = replyTo as Exchange;
    if (exchange.done) return;
    this.fail(exchange.res, { status: 400, reason: 'not a DNS query' });
  }

  private fail(res: Response, failure: { status: number; reason: string }, req?: Request): void {
    if (res.writableEnded || res.headersSent) return;
    this.stats.rejected[failure.status] = (this.stats.rejected[failure.status] ?? 0) + 1;
    const body = `${failure.reason}\n`;
    const headers: Record<string, string | number> = { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' };
    if (failure.status === 405) headers.allow = 'GET, POST';
    // HTTP/1.1: an unread body leaves the connection unusable; close it after this answer.
    const unread = req !== undefined && !req.complete && req.httpVersionMajor === 1;
    if (unread) headers.connection = 'close';
    // Both response kinds take (status, headers); the union's overloads do not line up in the types.
    (res as ServerResponse).writeHead(failure.status, headers);
    res.end(body);
    if (unread) res.once('finish', () => req.socket.destroy());
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}
