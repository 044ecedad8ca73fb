// Real DoH and DoT clients for tests: HTTP/2 (or HTTP/1.1) over TLS and framed DNS over TLS,
// from a chosen loopback source address, trusting one CA file; each reports the server
// certificate's SHA-256 fingerprint so tests can see which certificate was served.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as h2connect, constants } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface DohOptions {
  method?: string;
  /** Path with query string (default /dns-query). */
  path?: string;
  body?: Buffer;
  headers?: Record<string, string>;
  from?: string;
  ca: string;
  /** Speak HTTP/1.1 instead of HTTP/2. */
  http1?: boolean;
}

export interface DohResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  fingerprint: string;
  protocol: string;
}

export const fingerprintOfFile = (file: string): string => createHash('sha256').update(new X509Certificate(readFileSync(file)).raw).digest('hex');

function fingerprintOf(socket: TLSSocket): string {
  return createHash('sha256').update(socket.getPeerCertificate().raw ?? Buffer.alloc(0)).digest('hex');
}

/** The dns= parameter of a GET: base64url without padding (RFC 8484 §4.1). */
export function dnsParam(message: Buffer): string {
  return message.toString('base64url');
}

/** TLS to 127.0.0.1:port from the source address `from` (the certificate is checked for 127.0.0.1). */
export function tlsOver(port: number, from: string | undefined, options: ConnectionOptions, onSecure?: () => void): TLSSocket {
  const raw = netConnect({ host: '127.0.0.1', port, ...(from === undefined ? {} : { localAddress: from }) });
  return tlsConnect({ ...options, socket: raw, host: '127.0.0.1' }, onSecure);
}

export function dohRequest(port: number, options: DohOptions): Promise<DohResponse> {
  return options.http1 ? doh1(port, options) : doh2(port, options);
}

function doh2(port: number, options: DohOptions): Promise<DohResponse> {
  return new Promise((resolve, reject) => {
    let socket: TLSSocket | undefined;
    const session = h2connect(`https://127.0.0.1:${port}`, {
      createConnection: () => {
        socket = tlsOver(port, options.from, { ca: readFileSync(options.ca), ALPNProtocols: ['h2'] });
        return socket;
      },
    });
    session.on('error', reject);
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: options.method ?? 'GET',
      [constants.HTTP2_HEADER_PATH]: options.path ?? '/dns-query',
      ...options.headers,
    });
    const chunks: Buffer[] = [];
    let headers: Record<string, string | string[] | undefined> = {};
    stream.on('response', (h) => {
      headers = h as Record<string, string | string[] | undefined>;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('end', () => {
      session.close();
      resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks), fingerprint: socket ? fingerprintOf(socket) : '', protocol: 'h2' });
    });
    stream.end(options.body);
  });
}

function doh1(port: number, options: DohOptions): Promise<DohResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path ?? '/dns-query', headers: options.headers, ca: readFileSync(options.ca), localAddress: options.from, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), fingerprint: fingerprintOf(res.socket as TLSSocket), protocol: `http/${res.httpVersion}` }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Sends framed messages over one DNS-over-TLS connection and collects as many framed replies. */
export function dotExchange(port: number, messages: Buffer[], options: { from?: string; ca: string }): Promise<{ replies: Buffer[]; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsOver(port, options.from, { ca: readFileSync(options.ca) }, () => {
      socket.write(Buffer.concat(messages.map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]))));
    });
    const replies: Buffer[] = [];
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        replies.push(Buffer.from(pending.subarray(2, 2 + pending.readUInt16BE(0))));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
      if (replies.length >= messages.length) {
        const fingerprint = fingerprintOf(socket);
        socket.destroy();
        resolve({ replies, fingerprint });
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`DoT: connection closed after ${replies.length} of ${messages.length} replies`)));
  });
}
