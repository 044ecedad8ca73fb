// The TCP listener (RFC 7766) with real connections and a handler that answers by echoing,
// at once or later, so framing, pipelining and the limits can be seen from the client side.
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageHandler, QueryContext, Responder } from '../../../src/pipeline/context.ts';
import { type TcpLimits, TcpListener } from '../../../src/server/tcp-listener.ts';
import { dotExchange } from '../../helpers/encrypted-dns-client.ts';
import { makeTestCert } from '../../helpers/tls-certs.ts';

const logger = pino({ level: 'silent' });
const LIMITS: TcpLimits = { idleTimeoutMs: 300, messageDeadlineMs: 400, maxConnections: 10, maxConnectionsPerClient: 2, maxInFlightPerConnection: 2 };
let listeners: TcpListener[] = [];
afterEach(async () => {
  for (const l of listeners) await l.close();
  listeners = [];
});

function frame(message: Buffer): Buffer {
  return Buffer.concat([Buffer.from([message.length >> 8, message.length & 0xff]), message]);
}

/** Echoes each message after `delayMs` (0: synchronously, as cached and blocked answers are). */
function echo(delayMs: number, log: string[] = []): MessageHandler {
  return {
    handleMessage(buf, _client, _transport, responder: Responder, replyTo) {
      const message = Buffer.from(buf);
      log.push(message.toString());
      const answer = () => responder.send({ replyTo } as QueryContext, message);
      if (delayMs === 0) answer();
      else setTimeout(answer, delayMs);
    },
  };
}

async function start(handler: MessageHandler, limits = LIMITS): Promise<number> {
  const listener = new TcpListener({ host: '127.0.0.1', port: 0, family: 4 }, handler, logger, limits);
  listeners.push(listener);
  return listener.start();
}

function open(port: number): Promise<Socket & { frames: string[]; gone: Promise<void> }> {
  const socket = connect({ port, host: '127.0.0.1' }) as Socket & { frames: string[]; gone: Promise<void> };
  socket.frames = [];
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      socket.frames.push(pending.subarray(2, 2 + pending.readUInt16BE(0)).toString());
      pending = pending.subarray(2 + pending.readUInt16BE(0));
    }
  });
  socket.on('error', () => undefined);
  socket.gone = new Promise((r) => socket.once('close', () => r()));
  return new Promise((resolve) => socket.once('connect', () => resolve(socket)));
}

const until = async (check: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('TcpListener', () => {
  it('reassembles messages split across segments and answers pipelined ones as they complete', async () => {
    const port = await start(echo(0));
    const socket = await open(port);
    const two = Buffer.concat([frame(Buffer.from('first')), frame(Buffer.from('second'))]);
    socket.write(two.subarray(0, 3));
    await new Promise((r) => setTimeout(r, 20));
    socket.write(two.subarray(3));
    await until(() => socket.frames.length === 2);
    expect(socket.frames).toEqual(['first', 'second']);
    socket.destroy();
  });

  it('holds messages beyond max_inflight_per_connection until answers free a slot', async () => {
    const log: string[] = [];
    const port = await start(echo(50, log));
    const socket = await open(port);
    socket.write(Buffer.concat(['a', 'b', 'c', 'd'].map((m) => frame(Buffer.from(m)))));
    await new Promise((r) => setTimeout(r, 25));
    expect(log).toEqual(['a', 'b']);
    await until(() => socket.frames.length === 4);
    expect(socket.frames).toEqual(['a', 'b', 'c', 'd']);
    socket.destroy();
  });

  it('closes connections over max_connections_per_client at once', async () => {
    const port = await start(echo(0));
    const a = await open(port);
    const b = await open(port);
    const c = await open(port);
    await c.gone;
    expect(a.destroyed || b.destroyed).toBe(false);
    a.destroy();
    b.destroy();
  });

  it('closes connections over max_connections (all clients together) at once, and takes new ones when one ends', async () => {
    // Long idle and message timers: only the cap can close the fourth.
    const port = await start(echo(0), { ...LIMITS, idleTimeoutMs: 10_000, messageDeadlineMs: 10_000, maxConnections: 3, maxConnectionsPerClient: 10 });
    const held = [await open(port), await open(port), await open(port)];
    const over = await open(port);
    await over.gone;
    // The three within the cap still answer.
    for (const [i, socket] of held.entries()) socket.write(frame(Buffer.from(`q${i}`)));
    await until(() => held.every((s, i) => s.frames.includes(`q${i}`)));
    (held[0] as Socket).destroy();
    await (held[0] as Socket & { gone: Promise<void> }).gone;
    const next = await open(port);
    // The server may see the close a moment after the client: retry until one is admitted and answered.
    let admitted = next;
    for (let tries = 0; tries < 20; tries++) {
      admitted.write(frame(Buffer.from('again')));
      const answered = await until(() => admitted.frames.includes('again'), 200).then(() => true, () => false);
      if (answered) break;
      admitted = await open(port);
    }
    expect(admitted.frames).toEqual(['again']);
    for (const s of [...held, admitted]) s.destroy();
  });

  it('destroys an idle connection, and one whose message never completes (slowloris)', async () => {
    const port = await start(echo(0));
    const idle = await open(port);
    const slow = await open(port);
    const started = Date.now();
    slow.write(Buffer.from([0, 50, 1, 2])); // promises 50 octets, sends 2
    const dripping = setInterval(() => slow.writable && slow.write(Buffer.from([3])), 100);
    await Promise.all([idle.gone, slow.gone]);
    clearInterval(dripping);
    // Slowloris: the idle timer never fires while bytes drip in; the message deadline does.
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('ends the connection after answering everything once the client half-closes', async () => {
    const port = await start(echo(30));
    const socket = await open(port);
    socket.end(frame(Buffer.from('last')));
    await socket.gone;
    expect(socket.frames).toEqual(['last']);
  });
});

describe('TcpListener with TLS (DNS over TLS)', () => {
  const cert = makeTestCert(mkdtempSync(join(tmpdir(), 'dnsward-dot-unit-')), 'dot');
  const tls = { cert: readFileSync(cert.cert), key: readFileSync(cert.key) };

  it('frames messages inside TLS like TCP and tells the handler the transport is dot', async () => {
    const transports: string[] = [];
    const handler: MessageHandler = {
      handleMessage(buf, _client, transport, responder, replyTo) {
        transports.push(transport);
        responder.send({ replyTo } as QueryContext, Buffer.from(buf));
      },
    };
    const listener = new TcpListener({ host: '127.0.0.1', port: 0, family: 4 }, handler, logger, LIMITS, tls);
    listeners.push(listener);
    const port = await listener.start();
    const { replies } = await dotExchange(port, [Buffer.from('first'), Buffer.from('second')], { ca: cert.cert });
    expect(replies.map((r) => r.toString())).toEqual(['first', 'second']);
    expect(transports).toEqual(['dot', 'dot']);
  });

  it('closes TLS connections over max_connections at once, before any handshake; a slot left before its handshake frees by the handshake deadline', async () => {
    const listener = new TcpListener({ host: '127.0.0.1', port: 0, family: 4 }, echo(0), logger, { ...LIMITS, idleTimeoutMs: 5000, messageDeadlineMs: 1000, maxConnections: 2, maxConnectionsPerClient: 10 }, tls);
    listeners.push(listener);
    const port = await listener.start();
    const held = [await open(port), await open(port)];
    const over = await open(port);
    await over.gone;
    // Dropped by the cap, not by the handshake deadline.
    expect(listener.tlsStats?.handshakeTimeouts).toBe(0);
    expect(held.every((s) => !s.destroyed)).toBe(true);
    for (const s of held) s.destroy();
    // Once the server has let them go (at the latest when their handshake deadline passes), DoT works again.
    const left = Date.now();
    let replies: Buffer[] = [];
    for (let tries = 0; tries < 60 && replies.length === 0; tries++) {
      replies = await dotExchange(port, [Buffer.from('after')], { ca: cert.cert }).then((r) => r.replies, () => []);
      if (replies.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(replies.map((r) => r.toString())).toEqual(['after']);
    expect(Date.now() - left).toBeLessThan(3000);
  });

  it('closes a connection that never completes its handshake, and one idle after it', async () => {
    const listener = new TcpListener({ host: '127.0.0.1', port: 0, family: 4 }, echo(0), logger, LIMITS, tls);
    listeners.push(listener);
    const port = await listener.start();
    const raw = await open(port);
    const idle = tlsConnect({ port, host: '127.0.0.1', ca: tls.cert });
    idle.on('error', () => undefined);
    await new Promise((r) => idle.once('secureConnect', r));
    await Promise.all([raw.gone, new Promise((r) => idle.once('close', r))]);
    expect(listener.tlsStats?.handshakeTimeouts).toBe(1);
  });
});
