// The batched listener with the real addon and real sockets: datagrams arrive in batches and
// answers leave in batches; nothing a handler or a caller does can throw into the event loop
// or send to the wrong client.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageHandler, QueryContext } from '../../../src/pipeline/context.ts';
import { BatchUdpListener } from '../../../src/server/batch-udp-listener.ts';
import { type DatagramAddon, loadDatagramAddon } from '../../../src/server/datagram-addon.ts';
import { client, echo, type Seen, testAddon } from './udp-test-kit.ts';

const loaded = loadDatagramAddon();
const silent = pino({ level: 'silent' });
let listeners: BatchUdpListener[] = [];
afterEach(async () => {
  for (const l of listeners) await l.close();
  listeners = [];
});

function addon(): DatagramAddon {
  if (!('addon' in loaded)) throw new Error(loaded.error);
  return loaded.addon;
}

async function listen(handler: MessageHandler, logger = silent): Promise<{ listener: BatchUdpListener; port: number }> {
  const listener = new BatchUdpListener({ host: '127.0.0.1', port: 0, family: 4 }, handler, logger, addon());
  listeners.push(listener);
  return { listener, port: await listener.start() };
}

function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe.runIf(testAddon)('BatchUdpListener', () => {
  it('loads the addon that npm ci builds', () => {
    expect(loaded).toHaveProperty('addon');
  });

  it('takes a burst in batches of up to 64 and answers it in batches, every datagram once', async () => {
    const seen: Seen[] = [];
    const { listener, port } = await listen(echo(seen));
    const c = await client('127.0.0.1');
    for (let i = 0; i < 300; i++) c.socket.send(Buffer.from([i & 0xff, i >> 8]), port, '127.0.0.1');
    const answers = await c.waitFor(300);
    expect(answers.map((a) => (a[1] as number) | ((a[0] as number) << 8)).sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    const stats = listener.stats();
    expect(stats.datagrams).toBe(300);
    expect(stats.sent).toBe(300);
    expect(stats.sendFailed).toBe(0);
    // The burst was in the kernel before the first readable event: far fewer calls than datagrams.
    expect(stats.batches).toBeLessThan(300 / 4);
    expect(stats.sendBatches).toBeLessThan(300 / 4);
    c.close();
  });

  it('shares a receive area between batches and never overwrites what an earlier batch left in it', async () => {
    // A forwarded query keeps a view of its datagram until the upstream answers; later batches must not touch it.
    const kept: Buffer[] = [];
    const handler: MessageHandler = {
      handleMessage(buf, _client, _transport, responder, replyTo, replyPort) {
        kept.push(buf);
        responder.send({ replyTo, replyPort } as QueryContext, buf.subarray(0, 2));
      },
    };
    const { listener, port } = await listen(handler);
    const c = await client('127.0.0.1');
    const datagram = (i: number): Buffer => Buffer.from(Array.from({ length: 1000 }, (_, k) => (k < 2 ? (k === 0 ? i >> 8 : i & 0xff) : (i * 7 + k) & 0xff)));
    // 800 datagrams of 1,000 bytes in bursts: over 3 areas of 256 KiB, in many batches.
    for (let burst = 0; burst < 8; burst++) {
      for (let i = burst * 100; i < (burst + 1) * 100; i++) c.socket.send(datagram(i), port, '127.0.0.1');
      await c.waitFor((burst + 1) * 100);
    }
    expect(kept).toHaveLength(800);
    for (const view of kept) expect(view.equals(datagram(view.readUInt16BE(0)))).toBe(true);
    expect(new Set(kept.map((view) => view.readUInt16BE(0))).size).toBe(800);
    const areas = new Set(kept.map((view) => view.buffer));
    expect(areas.size).toBeGreaterThanOrEqual(3);
    expect(areas.size).toBeLessThan(listener.stats().batches);
    c.close();
  });

  it('names the right sender for every datagram of batches that mix clients (same length, differing early or late)', async () => {
    const seen: Seen[] = [];
    const { port } = await listen(echo(seen));
    // One, two and three digits in every position (the addon writes IPv4 text itself).
    const addresses = ['127.0.1.5', '127.1.0.5', '127.0.0.1', '127.0.0.11', '127.0.1.5', '127.100.200.255', '127.10.99.100', '127.255.0.9'];
    const clients = await Promise.all(addresses.map((a) => client(a)));
    for (let i = 0; i < 400; i++) {
      const c = clients[i % clients.length] as Awaited<ReturnType<typeof client>>;
      c.socket.send(Buffer.from([i % clients.length, i]), port, '127.0.0.1');
    }
    await Promise.all(clients.map((c) => c.waitFor(50)));
    expect(seen).toHaveLength(400);
    for (const s of seen) {
      const from = clients[s.bytes[0] as number] as Awaited<ReturnType<typeof client>>;
      expect([s.client, s.port]).toEqual([addresses[s.bytes[0] as number], from.port]);
    }
    for (const c of clients) c.close();
  });

  it('sends answers given after the batch (from timers, the upstream) at the end of the turn', async () => {
    const { listener, port } = await listen(echo([], { delayMs: 10 }));
    const c = await client('127.0.0.1');
    for (let i = 0; i < 10; i++) c.socket.send(Buffer.from([i, 1]), port, '127.0.0.1');
    expect(await c.waitFor(10)).toHaveLength(10);
    expect(listener.stats().sent).toBe(10);
    c.close();
  });

  it('keeps answering the rest of a batch when the handler throws for one datagram', async () => {
    const { logger, lines } = capture();
    const inner = echo([]);
    const handler: MessageHandler = {
      handleMessage(buf, ...rest) {
        if (buf[0] === 0xee) throw new Error('handler bug');
        inner.handleMessage(buf, ...rest);
      },
    };
    const { port } = await listen(handler, logger);
    const c = await client('127.0.0.1');
    for (const first of [1, 0xee, 2, 3]) c.socket.send(Buffer.from([first, 7]), port, '127.0.0.1');
    expect((await c.waitFor(3)).map((a) => a[1]).sort()).toEqual([1, 2, 3]);
    expect(lines.some((l) => l.msg === 'udp: query handler threw')).toBe(true);
    c.close();
  });

  it('counts answers it cannot send (not an address, too big) and still sends the others', async () => {
    const bad: MessageHandler = {
      handleMessage(buf, _client, _transport, responder, replyTo, replyPort) {
        if (buf[0] === 1) responder.send({ replyTo: 'not-an-address', replyPort } as QueryContext, buf);
        else if (buf[0] === 2) responder.send({ replyTo, replyPort } as QueryContext, Buffer.alloc(70_000));
        else if (buf[0] === 3) responder.send({ replyTo, replyPort: 0 } as QueryContext, buf);
        else responder.send({ replyTo, replyPort } as QueryContext, buf);
      },
    };
    const { listener, port } = await listen(bad);
    const c = await client('127.0.0.1');
    for (const first of [1, 4, 2, 4, 3, 4]) c.socket.send(Buffer.from([first]), port, '127.0.0.1');
    expect(await c.waitFor(3)).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 50));
    expect(c.answers).toHaveLength(3);
    expect(listener.stats()).toMatchObject({ sent: 3, sendFailed: 3 });
    c.close();
  });

  it('drops answers that come after close, without throwing', async () => {
    let later: (() => void) | undefined;
    const handler: MessageHandler = {
      handleMessage(buf, _client, _transport, responder, replyTo, replyPort) {
        later = () => responder.send({ replyTo, replyPort } as QueryContext, buf);
      },
    };
    const { listener, port } = await listen(handler);
    const c = await client('127.0.0.1');
    c.socket.send(Buffer.from([1]), port, '127.0.0.1');
    await expect.poll(() => later !== undefined).toBe(true);
    await listener.close();
    expect(() => later?.()).not.toThrow();
    expect(listener.stats().sent).toBe(0);
    c.close();
  });

  it('rejects bad arguments to open() with a TypeError and a bind failure with the errno code', async () => {
    const a = addon();
    const meta = new Int32Array(a.MAX_BATCH * a.META_INTS);
    const area = new Uint8Array(a.MAX_DATAGRAM);
    const noop = (): void => {};
    expect(() => a.open(5 as 4, '127.0.0.1', 0, 0, 0, 0, meta, area, meta, noop)).toThrow(TypeError);
    expect(() => a.open(4, 'not an address', 0, 0, 0, 0, meta, area, meta, noop)).toThrow(TypeError);
    expect(() => a.open(4, '::1', 0, 0, 0, 0, meta, area, meta, noop)).toThrow(TypeError);
    expect(() => a.open(4, '127.0.0.1', 70_000, 0, 0, 0, meta, area, meta, noop)).toThrow(TypeError);
    expect(() => a.open(4, '127.0.0.1', 0, 0, 0, 0, new Int32Array(10), area, meta, noop)).toThrow(TypeError);
    expect(() => a.open(4, '127.0.0.1', 0, 0, 0, 0, meta, new Uint8Array(100), meta, noop)).toThrow(TypeError);
    expect(() => a.open(4, '127.0.0.1', 0, 0, 0, 0, meta, area, meta, 'nope' as unknown as () => void)).toThrow(TypeError);
    expect(() => a.open(4, '192.0.2.1', 0, 0, 0, 0, meta, area, meta, noop)).toThrow(expect.objectContaining({ code: 'EADDRNOTAVAIL' }));
    // SO_REUSEPORT on both: two sockets may share a port (the workers' way).
    const one = a.open(4, '127.0.0.1', 0, 1, 0, 0, meta, area, meta, noop);
    const port = a.localPort(one);
    const two = a.open(4, '127.0.0.1', port, 1, 0, 0, meta, area, meta, noop);
    expect(a.localPort(two)).toBe(port);
    a.close(one);
    a.close(two);
    expect(() => a.sendBatch(one, 0)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});
