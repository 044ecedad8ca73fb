// The UDP listener on both datagram paths, with real sockets: what the resolver sees and what
// the client gets back must not depend on the path. Then how the path is chosen.
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UdpListener } from '../../../src/server/udp-listener.ts';
import { addonLoads, client, echo, type Seen, testAddon } from './udp-test-kit.ts';

const logger = pino({ level: 'silent' });
let listeners: UdpListener[] = [];
afterEach(async () => {
  for (const l of listeners) await l.close();
  listeners = [];
});

// The environment variable overrides dns.datagram; these tests choose the path themselves.
const saved = process.env.DNSWARD_DATAGRAM;
beforeAll(() => {
  delete process.env.DNSWARD_DATAGRAM;
});
afterAll(() => {
  if (saved === undefined) delete process.env.DNSWARD_DATAGRAM;
  else process.env.DNSWARD_DATAGRAM = saved;
});

const paths = testAddon ? (['addon', 'dgram'] as const) : (['dgram'] as const);

describe.each(paths)('UdpListener on the %s path', (datagram) => {
  it('hands each datagram to the resolver with the client address and port, and sends the answer back', async () => {
    const seen: Seen[] = [];
    const listener = new UdpListener({ host: '127.0.0.1', port: 0, family: 4 }, echo(seen), logger, { datagram });
    listeners.push(listener);
    expect(listener.path).toBe(datagram);
    const port = await listener.start();
    expect(port).toBeGreaterThan(0);
    const c = await client('127.0.0.3');
    c.socket.send(Buffer.from([1, 2, 3]), port, '127.0.0.1');
    expect([...((await c.waitFor(1))[0] as Buffer)]).toEqual([3, 2, 1]);
    expect(seen).toEqual([{ client: '127.0.0.3', port: c.port, transport: 'udp', bytes: [1, 2, 3] }]);
    c.close();
  });

  it('answers each of several clients, interleaved, at its own address and port', async () => {
    const seen: Seen[] = [];
    const listener = new UdpListener({ host: '127.0.0.1', port: 0, family: 4 }, echo(seen), logger, { datagram });
    listeners.push(listener);
    const port = await listener.start();
    const clients = [await client('127.0.0.3'), await client('127.0.0.3'), await client('127.0.0.4'), await client('127.0.0.5')];
    for (let round = 0; round < 30; round++) {
      clients.forEach((c, i) => c.socket.send(Buffer.from([i, round]), port, '127.0.0.1'));
    }
    for (const [i, c] of clients.entries()) {
      const answers = await c.waitFor(30);
      expect(answers.map((a) => [...a])).toEqual(Array.from({ length: 30 }, (_, round) => [round, i]));
    }
    expect(new Set(seen.map((s) => s.client))).toEqual(new Set(['127.0.0.3', '127.0.0.4', '127.0.0.5']));
    for (const s of seen) expect(s.port).toBe(clients[s.bytes[0] as number]?.port);
    for (const c of clients) c.close();
  });

  it('serves IPv6 on an IPv6 address', async () => {
    const seen: Seen[] = [];
    const listener = new UdpListener({ host: '::1', port: 0, family: 6 }, echo(seen), logger, { datagram });
    listeners.push(listener);
    const port = await listener.start();
    const c = await client('::1');
    c.socket.send(Buffer.from([9, 8]), port, '::1');
    expect([...((await c.waitFor(1))[0] as Buffer)]).toEqual([8, 9]);
    expect(seen[0]?.client).toBe('::1');
    c.close();
  });

  it('carries a 60 KB datagram whole, both ways', async () => {
    const seen: Seen[] = [];
    const listener = new UdpListener({ host: '127.0.0.1', port: 0, family: 4 }, echo(seen), logger, { datagram });
    listeners.push(listener);
    const port = await listener.start();
    const c = await client('127.0.0.1');
    const big = Buffer.alloc(60_000, 0).map((_, i) => i % 251);
    c.socket.send(big, port, '127.0.0.1');
    const answer = (await c.waitFor(1))[0] as Buffer;
    expect(answer.length).toBe(60_000);
    expect(answer.equals(Buffer.from(big).reverse())).toBe(true);
    c.close();
  });

  it('answers later too (an answer from the upstream arrives after the datagram was handled)', async () => {
    const listener = new UdpListener({ host: '127.0.0.1', port: 0, family: 4 }, echo([], { delayMs: 20 }), logger, { datagram });
    listeners.push(listener);
    const port = await listener.start();
    const c = await client('127.0.0.1');
    for (let i = 0; i < 5; i++) c.socket.send(Buffer.from([i, 0]), port, '127.0.0.1');
    expect((await c.waitFor(5)).map((a) => a[1]).sort()).toEqual([0, 1, 2, 3, 4]);
    c.close();
  });

  it('refuses to bind a port another socket holds (exclusive)', async () => {
    const first = new UdpListener({ host: '127.0.0.1', port: 0, family: 4 }, echo([]), logger, { datagram });
    listeners.push(first);
    const port = await first.start();
    const second = new UdpListener({ host: '127.0.0.1', port, family: 4 }, echo([]), logger, { datagram });
    await expect(second.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});

describe('choosing the path', () => {
  it('DNSWARD_DATAGRAM overrides dns.datagram', () => {
    process.env.DNSWARD_DATAGRAM = 'dgram';
    try {
      const listener = new UdpListener({ host: '127.0.0.1', port: 0, family: 4 }, echo([]), logger, { datagram: 'addon' });
      listeners.push(listener);
      expect(listener.path).toBe('dgram');
    } finally {
      delete process.env.DNSWARD_DATAGRAM;
    }
  });

  it('auto takes the addon where it is built, node:dgram elsewhere', () => {
    const listener = new UdpListener({ host: '127.0.0.1', port: 0, family: 4 }, echo([]), logger);
    listeners.push(listener);
    expect(listener.path).toBe(addonLoads ? 'addon' : 'dgram');
    expect(listener.stats() === undefined).toBe(listener.path === 'dgram');
  });
});
