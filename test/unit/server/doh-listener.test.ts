// The DoH listener with real HTTP/2 and HTTP/1.1 clients and a handler that echoes (or drops)
// the message it is handed, recording the client and transport it was told.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as h2connect, constants } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageHandler, QueryContext } from '../../../src/pipeline/context.ts';
import { DohListener, type DohLimits } from '../../../src/server/doh-listener.ts';
import { buildQuery } from '../../helpers/dns-client.ts';
import { dnsParam, dohRequest } from '../../helpers/encrypted-dns-client.ts';
import { makeTestCert } from '../../helpers/tls-certs.ts';

const cert = makeTestCert(mkdtempSync(join(tmpdir(), 'dnsward-doh-unit-')), 'doh');
const tls = { cert: readFileSync(cert.cert), key: readFileSync(cert.key) };
const LIMITS: DohLimits = { idleTimeoutMs: 2000, messageDeadlineMs: 300, maxConnections: 10, maxConnectionsPerClient: 4, maxStreamsPerConnection: 4 };
let listeners: DohListener[] = [];
afterEach(async () => {
  for (const l of listeners) await l.close();
  listeners = [];
});

interface Seen {
  client: string;
  transport: string;
}

/** Echoes each message as its answer; a message whose first byte is 0xff is dropped (noReply). */
function echo(seen: Seen[]): MessageHandler {
  return {
    handleMessage(buf, client, transport, responder, replyTo) {
      seen.push({ client, transport });
      if (buf[0] === 0xff) responder.noReply(replyTo);
      else responder.send({ replyTo } as QueryContext, Buffer.from(buf));
    },
  };
}

async function start(handler: MessageHandler, proxies: string[] = [], limits = LIMITS): Promise<number> {
  return (await startListener(handler, proxies, limits)).port;
}

async function startListener(handler: MessageHandler, proxies: string[] = [], limits = LIMITS): Promise<{ listener: DohListener; port: number }> {
  const listener = new DohListener({ host: '127.0.0.1', port: 0, family: 4 }, handler, pino({ level: 'silent' }), limits, tls, proxies);
  listeners.push(listener);
  return { listener, port: await listener.start() };
}

/** A plain TCP connection (no TLS yet) and a promise of its end. */
async function rawConnection(port: number): Promise<{ socket: Socket; gone: Promise<void> }> {
  const socket = netConnect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  const gone = new Promise<void>((r) => socket.once('close', () => r()));
  await new Promise((r) => socket.once('connect', r));
  return { socket, gone };
}

describe('DohListener', () => {
  const query = buildQuery({ name: 'a.example', id: 0 });

  it('hands GET and POST messages to the handler as transport doh, with the connection as client, over HTTP/2 and HTTP/1.1', async () => {
    const seen: Seen[] = [];
    const port = await start(echo(seen));
    for (const http1 of [false, true]) {
      const get = await dohRequest(port, { path: `/dns-query?dns=${dnsParam(query)}`, ca: cert.cert, from: '127.0.0.4', http1 });
      expect(get.status).toBe(200);
      expect(get.body.equals(query)).toBe(true);
      const post = await dohRequest(port, { method: 'POST', body: query, headers: { 'content-type': 'application/dns-message' }, ca: cert.cert, from: '127.0.0.5', http1 });
      expect(post.body.equals(query)).toBe(true);
      expect(post.headers['content-type']).toBe('application/dns-message');
    }
    expect(seen).toEqual([
      { client: '127.0.0.4', transport: 'doh' },
      { client: '127.0.0.5', transport: 'doh' },
      { client: '127.0.0.4', transport: 'doh' },
      { client: '127.0.0.5', transport: 'doh' },
    ]);
  });

  it('names the client from X-Forwarded-For only when the connection comes from a trusted proxy', async () => {
    const seen: Seen[] = [];
    const port = await start(echo(seen), ['127.0.0.9/32']);
    const path = `/dns-query?dns=${dnsParam(query)}`;
    await dohRequest(port, { path, ca: cert.cert, from: '127.0.0.9', headers: { 'x-forwarded-for': '198.51.100.7' } });
    await dohRequest(port, { path, ca: cert.cert, from: '127.0.0.8', headers: { 'x-forwarded-for': '198.51.100.7' } });
    expect(seen.map((s) => s.client)).toEqual(['198.51.100.7', '127.0.0.8']);
  });

  it('answers 400 when the handler drops the message, and never hands it a bad request', async () => {
    const seen: Seen[] = [];
    const port = await start(echo(seen));
    const dropped = Buffer.from(query);
    dropped[0] = 0xff;
    expect((await dohRequest(port, { path: `/dns-query?dns=${dnsParam(dropped)}`, ca: cert.cert })).status).toBe(400);
    expect((await dohRequest(port, { path: '/dns-query?dns=***', ca: cert.cert })).status).toBe(400);
    expect((await dohRequest(port, { path: '/other', ca: cert.cert })).status).toBe(404);
    expect(seen).toHaveLength(1);
  });

  it('answers 408 to a POST whose body does not arrive within the deadline, and 413 past 65,535 octets without Content-Length', async () => {
    const seen: Seen[] = [];
    const port = await start(echo(seen));
    const session = h2connect(`https://127.0.0.1:${port}`, { ca: tls.cert });
    const status = (stream: ReturnType<typeof session.request>): Promise<number> => new Promise((r) => stream.once('response', (h) => r(Number(h[constants.HTTP2_HEADER_STATUS]))));
    const slow = session.request({ ':method': 'POST', ':path': '/dns-query', 'content-type': 'application/dns-message' });
    slow.write(query.subarray(0, 4));
    const big = session.request({ ':method': 'POST', ':path': '/dns-query', 'content-type': 'application/dns-message' });
    for (let i = 0; i < 5; i++) big.write(Buffer.alloc(16_384));
    expect(await Promise.all([status(slow), status(big)])).toEqual([408, 413]);
    // The slow body ends after its 408: it is not resolved.
    slow.on('error', () => undefined);
    slow.end(query.subarray(4));
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual([]);
    session.destroy();
  });

  it('closes connections over max_connections (all clients together) at once, and answers again once they are gone', async () => {
    // Long idle and handshake timers: only the cap can close the third.
    const { listener, port } = await startListener(echo([]), [], { ...LIMITS, idleTimeoutMs: 10_000, messageDeadlineMs: 1000, maxConnections: 2, maxConnectionsPerClient: 10 });
    const held = [await rawConnection(port), await rawConnection(port)];
    const over = await rawConnection(port);
    await over.gone;
    expect(listener.stats.tls.handshakeTimeouts).toBe(0);
    expect(held.every((h) => !h.socket.destroyed)).toBe(true);
    for (const h of held) h.socket.destroy();
    // Freed once the server sees them go (at the latest by the handshake deadline).
    let status = 0;
    for (let tries = 0; tries < 60 && status !== 200; tries++) {
      status = await dohRequest(port, { path: `/dns-query?dns=${dnsParam(query)}`, ca: cert.cert }).then((r) => r.status, () => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
  });

  it('offers HTTP/2 clients as many concurrent streams as maxStreamsPerConnection', async () => {
    const port = await start(echo([]));
    const session = h2connect(`https://127.0.0.1:${port}`, { ca: tls.cert });
    await new Promise((r) => session.once('remoteSettings', r));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(LIMITS.maxStreamsPerConnection);
    session.destroy();
  });

  it('serves a new certificate to new connections after setSecureContext', async () => {
    const port = await start(echo([]));
    const other = makeTestCert(mkdtempSync(join(tmpdir(), 'dnsward-doh-unit-')), 'other');
    listeners[0]?.setSecureContext({ cert: readFileSync(other.cert), key: readFileSync(other.key) });
    const res = await dohRequest(port, { path: `/dns-query?dns=${dnsParam(query)}`, ca: other.cert });
    expect(res.status).toBe(200);
    await expect(dohRequest(port, { path: `/dns-query?dns=${dnsParam(query)}`, ca: cert.cert })).rejects.toThrow();
  });
});
