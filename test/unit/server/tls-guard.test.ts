// The guards in front of a TLS server, with real connections: the per-client cap counted before
// the handshake, and the handshake deadline that a silent or trickling client runs into.
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer, type Server } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { guardTlsServer } from '../../../src/server/tls-guard.ts';
import { makeTestCert } from '../../helpers/tls-certs.ts';

const cert = makeTestCert(mkdtempSync(join(tmpdir(), 'dnsward-tls-guard-')), 'guard');
const tls = { cert: readFileSync(cert.cert), key: readFileSync(cert.key) };
let servers: Server[] = [];
let sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
  sockets = [];
});

async function serve(limits: { maxConnectionsPerClient: number; handshakeTimeoutMs: number }) {
  const server = createServer(tls, (socket) => socket.end('hello'));
  const stats = guardTlsServer(server, limits);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, stats };
}

const open = (port: number, from = '127.0.0.1'): Socket => {
  const s = connect({ port, host: '127.0.0.1', localAddress: from });
  s.on('error', () => undefined);
  sockets.push(s);
  return s;
};
const closed = (s: Socket): Promise<void> => new Promise((r) => (s.destroyed ? r() : s.once('close', () => r())));

describe('guardTlsServer', () => {
  it('closes a connection whose handshake has not finished by the deadline, silent or trickling', async () => {
    const { port, stats } = await serve({ maxConnectionsPerClient: 10, handshakeTimeoutMs: 200 });
    const silent = open(port);
    const trickle = open(port);
    const ticks = setInterval(() => trickle.write(Buffer.from([0x16])), 50);
    await Promise.all([closed(silent), closed(trickle)]);
    clearInterval(ticks);
    expect(stats.handshakeTimeouts).toBe(2);
  });

  it('leaves a connection alone once its handshake is done', async () => {
    const { port, stats } = await serve({ maxConnectionsPerClient: 10, handshakeTimeoutMs: 200 });
    const client = tlsConnect({ port, host: '127.0.0.1', ca: tls.cert });
    const greeting = await new Promise<string>((resolve) => {
      let text = '';
      client.on('data', (c: Buffer) => (text += c.toString()));
      client.on('end', () => resolve(text));
    });
    expect(greeting).toBe('hello');
    expect(stats.handshakeTimeouts).toBe(0);
  });

  it('refuses a client over its cap at once, counted from the TCP connection; others still get in', async () => {
    const { port, stats } = await serve({ maxConnectionsPerClient: 2, handshakeTimeoutMs: 60_000 });
    const held = [open(port, '127.0.0.7'), open(port, '127.0.0.7')];
    await Promise.all(held.map((s) => new Promise((r) => s.once('connect', r))));
    const third = open(port, '127.0.0.7');
    await closed(third);
    expect(stats.overClientCap).toBe(1);
    expect(held.every((s) => !s.destroyed)).toBe(true);
    // Another client gets in meanwhile.
    const other = tlsConnect({ port, host: '127.0.0.1', ca: tls.cert });
    sockets.push(other);
    await new Promise((r) => other.once('secureConnect', r));
    // A slot of this client frees when one of its connections closes (once the server has seen the close).
    held[0]?.destroy();
    await closed(held[0] as Socket);
    await new Promise((r) => setTimeout(r, 200));
    const again = tlsConnect({ socket: connect({ port, host: '127.0.0.1', localAddress: '127.0.0.7' }), host: '127.0.0.1', ca: tls.cert });
    sockets.push(again);
    const outcome = await new Promise((r) => {
      again.once('secureConnect', () => r('in'));
      again.once('close', () => r('refused'));
    });
    expect(outcome).toBe('in');
    expect(stats.overClientCap).toBe(1);
  });
});
