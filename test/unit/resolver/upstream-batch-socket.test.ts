// The upstream socket on the batched addon, against a real node:dgram peer on loopback: the
// queries of one turn leave in one sendmmsg, replies arrive with their sender, and nothing a
// caller or a reply handler does can throw into the event loop.
import { createSocket, type Socket } from 'node:dgram';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchUpstreamSocket } from '../../../src/resolver/upstream-batch-socket.ts';
import { requireAddon as addon, testAddon } from '../server/udp-test-kit.ts';

const silent = pino({ level: 'silent' });
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});


interface Received {
  msg: Buffer;
  address: string;
  port: number;
}

function open(onMessage: (r: Received) => void = () => undefined, logger = silent): BatchUpstreamSocket {
  const socket = new BatchUpstreamSocket(addon(), 4, (msg, address, port) => onMessage({ msg: Buffer.from(msg), address, port }), logger);
  cleanup.push(() => socket.close());
  return socket;
}

/** A peer that records what it gets (bytes and source port) and can answer. */
async function peer(): Promise<{ socket: Socket; port: number; got: { msg: Buffer; port: number }[]; until(n: number): Promise<void> }> {
  const socket = createSocket('udp4');
  const got: { msg: Buffer; port: number }[] = [];
  socket.on('message', (msg, rinfo) => got.push({ msg, port: rinfo.port }));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanup.push(() => socket.close());
  const until = async (n: number): Promise<void> => {
    for (let i = 0; i < 200 && got.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  };
  return { socket, port: socket.address().port, got, until };
}

describe.runIf(testAddon)('BatchUpstreamSocket', () => {
  it('binds a kernel-chosen port and sends the queries of one turn in one sendmmsg, in order', async () => {
    const p = await peer();
    const socket = open();
    expect(socket.localPort).toBeGreaterThan(0);
    for (let i = 0; i < 10; i++) socket.send(Buffer.from([i, 0xaa]), p.port, '127.0.0.1');
    expect(socket.sendBatches).toBe(0);
    await p.until(10);
    expect(p.got.map((g) => g.msg[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(p.got.map((g) => g.port))).toEqual(new Set([socket.localPort]));
    expect(socket.sendBatches).toBe(1);
    expect(socket.sent).toBe(10);
  });

  it('sends a full batch at once and the rest at the end of the turn', async () => {
    const p = await peer();
    const socket = open();
    for (let i = 0; i < 100; i++) socket.send(Buffer.from([i]), p.port, '127.0.0.1');
    expect(socket.sendBatches).toBe(1);
    await p.until(100);
    expect(p.got).toHaveLength(100);
    expect(socket.sendBatches).toBe(2);
  });

  it('hands every reply of a burst over with its sender, in batches', async () => {
    const p = await peer();
    const got: Received[] = [];
    const socket = open((r) => got.push(r));
    for (let i = 0; i < 200; i++) p.socket.send(Buffer.from([i]), socket.localPort, '127.0.0.1');
    for (let i = 0; i < 200 && got.length < 200; i++) await new Promise((r) => setTimeout(r, 10));
    expect(got.map((r) => r.msg[0])).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(new Set(got.map((r) => `${r.address}:${r.port}`))).toEqual(new Set([`127.0.0.1:${p.port}`]));
  });

  it('keeps delivering the rest of a batch when the handler throws for one reply', async () => {
    const p = await peer();
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
        callback();
      },
    });
    const got: number[] = [];
    const socket = open((r) => {
      if (r.msg[0] === 2) throw new Error('boom');
      got.push(r.msg[0] as number);
    }, pino({ level: 'info' }, sink));
    for (const b of [1, 2, 3]) p.socket.send(Buffer.from([b]), socket.localPort, '127.0.0.1');
    for (let i = 0; i < 200 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual([1, 3]);
    expect(lines.some((l) => l.msg === 'upstream: reply handler threw')).toBe(true);
  });

  it('drops a query for a host that is not an address, logs it, and still sends the others', async () => {
    const p = await peer();
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        callback();
      },
    });
    const socket = open(undefined, pino({ level: 'warn' }, sink));
    socket.send(Buffer.from([1]), p.port, 'not-an-address');
    socket.send(Buffer.from([2]), p.port, '127.0.0.1');
    await p.until(1);
    await new Promise((r) => setTimeout(r, 30));
    expect(p.got.map((g) => g.msg[0])).toEqual([2]);
    expect(socket.sent).toBe(1);
    expect(lines.find((l) => l.msg === 'upstream: queries could not be sent')).toMatchObject({ failed: 1, code: 'EINVAL' });
  });

  it('sends nothing after close, without throwing', async () => {
    const p = await peer();
    const socket = open();
    socket.send(Buffer.from([1]), p.port, '127.0.0.1');
    socket.close();
    socket.send(Buffer.from([2]), p.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 50));
    expect(p.got).toHaveLength(0);
    expect(socket.localPort).toBe(0);
  });
});
