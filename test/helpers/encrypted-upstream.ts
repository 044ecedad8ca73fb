// Encrypted upstreams on loopback for tests: DNS over HTTPS (node:http2 secure server,
// RFC 8484 POST) and DNS over TLS (node:tls, two-octet length framing, RFC 7858). Both answer
// from a StubHandler like the UDP stubs (test/helpers/stub-upstream.ts), count what they see
// (queries, connections, HTTP/2 sessions), and misbehave on demand.
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { defaultHandler, encodeReply, type StubHandler } from './stub-upstream.ts';
import type { TestCert } from './tls-certs.ts';

export interface SeenQuery {
  raw: Buffer;
  id: number;
  qname: string;
  qtype: number;
}

/**
 * answer: from the handler; hang: never answer; wrong-question: answer another name;
 * status: HTTP 503 (DoH); media-type: 200 with text/plain (DoH); close: close the connection
 * after reading a query (DoT).
 */
export type Fault = 'answer' | 'hang' | 'wrong-question' | 'status' | 'media-type' | 'close';

export function parseSeen(raw: Buffer): SeenQuery | undefined {
  if (raw.length < 17) return undefined;
  let pos = 12;
  const labels: string[] = [];
  while (pos < raw.length && raw[pos] !== 0) {
    const len = raw[pos] as number;
    labels.push(raw.toString('latin1', pos + 1, pos + 1 + len));
    pos += len + 1;
  }
  return { raw, id: raw.readUInt16BE(0), qname: labels.join('.').toLowerCase(), qtype: raw.readUInt16BE(pos + 1) };
}

/** The reply the fault calls for, or undefined for none. */
function replyFor(query: Buffer, q: SeenQuery, handler: StubHandler, fault: Fault): Buffer | undefined {
  if (fault === 'hang' || fault === 'close') return undefined;
  const reply = handler({ ...q, transport: 'tcp', port: 0 });
  if (reply === 'drop') return undefined;
  const message = Array.isArray(reply) ? reply[0] : encodeReply(query, reply, false);
  if (message === undefined) return undefined;
  if (fault === 'wrong-question') {
    const out = Buffer.from(message);
    out[13] = out[13] === 0x78 ? 0x79 : 0x78; // first letter of the name: now another name
    return out;
  }
  return message;
}

export class DohUpstream {
  readonly seen: SeenQuery[] = [];
  readonly methods: string[] = [];
  sessions = 0;
  fault: Fault = 'answer';
  handler: StubHandler;
  port = 0;
  private server: Http2SecureServer | undefined;
  private readonly open = new Set<ServerHttp2Session>();

  private readonly cert: TestCert;

  constructor(cert: TestCert, handler: StubHandler = defaultHandler) {
    this.cert = cert;
    this.handler = handler;
  }

  async start(): Promise<this> {
    const server = createSecureServer({ cert: readFileSync(this.cert.cert), key: readFileSync(this.cert.key) });
    server.on('session', (session) => {
      this.sessions++;
      this.open.add(session);
      session.on('close', () => this.open.delete(session));
    });
    server.on('stream', (stream, headers) => {
      this.methods.push(String(headers[':method']));
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', () => undefined);
      stream.on('end', () => {
        const query = Buffer.concat(chunks);
        const q = parseSeen(query);
        if (q === undefined) {
          stream.respond({ ':status': 400 });
          stream.end();
          return;
        }
        this.seen.push(q);
        if (this.fault === 'status') {
          stream.respond({ ':status': 503 });
          stream.end();
          return;
        }
        const reply = replyFor(query, q, this.handler, this.fault);
        if (reply === undefined) return;
        stream.respond({ ':status': 200, 'content-type': this.fault === 'media-type' ? 'text/plain' : 'application/dns-message' });
        stream.end(reply);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  url(path = '/dns-query'): string {
    return `https://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    for (const session of this.open) session.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

export class DotUpstream {
  readonly seen: SeenQuery[] = [];
  connections = 0;
  fault: Fault = 'answer';
  /** Close each connection after this many answers (0: never), as a server with a query limit would. */
  closeAfter = 0;
  handler: StubHandler;
  port = 0;
  private server: Server | undefined;
  private readonly open = new Set<TLSSocket>();

  private readonly cert: TestCert;

  constructor(cert: TestCert, handler: StubHandler = defaultHandler) {
    this.cert = cert;
    this.handler = handler;
  }

  async start(): Promise<this> {
    const server = createServer({ cert: readFileSync(this.cert.cert), key: readFileSync(this.cert.key) }, (socket) => this.onConnection(socket));
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  address(): string {
    return `tls://127.0.0.1:${this.port}`;
  }

  get openConnections(): number {
    return this.open.size;
  }

  async stop(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private onConnection(socket: TLSSocket): void {
    this.connections++;
    this.open.add(socket);
    socket.on('close', () => this.open.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    let answers = 0;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const query = Buffer.from(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + query.length);
        const q = parseSeen(query);
        if (q === undefined) continue;
        this.seen.push(q);
        if (this.fault === 'close') {
          socket.destroy();
          return;
        }
        const reply = replyFor(query, q, this.handler, this.fault);
        if (reply === undefined) continue;
        socket.write(Buffer.concat([Buffer.from([reply.length >> 8, reply.length & 0xff]), reply]));
        if (this.closeAfter > 0 && ++answers >= this.closeAfter) {
          socket.end();
          return;
        }
      }
    });
  }
}
