// The send queue over a real addon socket and a node:dgram peer on loopback: what is packed
// leaves in one sendmmsg, a full batch or a full area goes at once, and what cannot be sent
// is counted and logged, never thrown.
import { createSocket, type Socket } from 'node:dgram';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AddonSocket } from '../../../src/server/datagram-addon.ts';
import { DatagramSendQueue } from '../../../src/server/datagram-send-queue.ts';
import { requireAddon as addon, testAddon } from './udp-test-kit.ts';

const labels = { refused: 'test: refused', failed: 'test: could not be sent' };
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});


function setup(areaBytes = 65_536): { queue: DatagramSendQueue; socket: AddonSocket; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const a = addon();
  const queue = new DatagramSendQueue(a, areaBytes, logger, labels);
  const socket = a.open(4, '127.0.0.1', 0, 0, 0, 0, new Int32Array(a.MAX_BATCH * a.META_INTS), queue.area, queue.meta, () => undefined);
  cleanup.push(() => a.close(socket));
  return { queue, socket, lines };
}

interface Peer {
  address: string;
  port: number;
  got: Buffer[];
  until(n: number): Promise<void>;
}

async function peer(address = '127.0.0.1'): Promise<Peer> {
  const socket: Socket = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
  const got: Buffer[] = [];
  socket.on('message', (m) => got.push(m));
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  cleanup.push(() => socket.close());
  return {
    address,
    port: socket.address().port,
    got,
    async until(n) {
      for (let i = 0; i < 200 && got.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    },
  };
}

describe.runIf(testAddon)('DatagramSendQueue', () => {
  it('sends what is packed in one call, in order, and counts it', async () => {
    const p = await peer();
    const { queue, socket } = setup();
    for (let i = 0; i < 5; i++) expect(queue.add(socket, Buffer.from([i, 1, 2]), '127.0.0.1', p.port)).toBe(true);
    expect(queue.size).toBe(5);
    queue.flush(socket);
    expect(queue.size).toBe(0);
    await p.until(5);
    expect(p.got.map((m) => [...m])).toEqual([0, 1, 2, 3, 4].map((i) => [i, 1, 2]));
    expect({ batches: queue.batches, sent: queue.sent, failed: queue.failed }).toEqual({ batches: 1, sent: 5, failed: 0 });
  });

  it('sends the first `length` bytes when given a length, and refuses a length past the bytes', async () => {
    const p = await peer();
    const { queue, socket } = setup();
    const scratch = Buffer.from([9, 8, 7, 6, 5]);
    expect(queue.add(socket, scratch, '127.0.0.1', p.port, 3)).toBe(true);
    scratch.fill(0);
    expect(queue.add(socket, scratch, '127.0.0.1', p.port, 6)).toBe(false);
    queue.flush(socket);
    await p.until(1);
    expect(p.got.map((m) => [...m])).toEqual([[9, 8, 7]]);
    expect(queue.failed).toBe(1);
  });

  it('sends a full batch (64) at once, and what is packed first when the area would overflow', async () => {
    const p = await peer();
    const { queue, socket } = setup(65_536);
    for (let i = 0; i < 64; i++) queue.add(socket, Buffer.from([i]), '127.0.0.1', p.port);
    expect(queue.size).toBe(0);
    expect(queue.batches).toBe(1);
    // Two datagrams of 30,000 bytes fit the 64 KB area; the third sends them first.
    for (let i = 0; i < 3; i++) queue.add(socket, Buffer.alloc(30_000, i), '127.0.0.1', p.port);
    expect(queue.batches).toBe(2);
    expect(queue.size).toBe(1);
    queue.flush(socket);
    await p.until(67);
    expect(p.got.slice(64).map((m) => [m.length, m[0]])).toEqual([
      [30_000, 0],
      [30_000, 1],
      [30_000, 2],
    ]);
  });

  it('sends runs of datagrams to one host, and a host again after the area was sent, each to its own peer', async () => {
    const a = await peer('127.0.0.1');
    const b = await peer('127.0.0.2');
    const { queue, socket } = setup(65_536);
    // Two 30,000-byte datagrams fill the area: the queue sends once in the middle of b's first run
    // (after its 10-byte datagram), so the next one to b must have b's text written again.
    const plan: [Peer, number][] = [[a, 30_000], [a, 10], [a, 30_000], [b, 10], [b, 30_000], [a, 10], [a, 10], [b, 30_500], [b, 10]];
    plan.forEach(([to, size], i) => expect(queue.add(socket, Buffer.alloc(size, i), to.address, to.port)).toBe(true));
    queue.flush(socket);
    await a.until(5);
    await b.until(4);
    const expected = (to: Peer): number[][] => plan.flatMap(([p, size], i) => (p === to ? [[size, i]] : []));
    expect(a.got.map((m) => [m.length, m[0]])).toEqual(expected(a));
    expect(b.got.map((m) => [m.length, m[0]])).toEqual(expected(b));
    expect({ failed: queue.failed, sent: queue.sent }).toEqual({ failed: 0, sent: 9 });
    expect(queue.batches).toBe(2);
  });

  it('points a run to one host at one copy of its text, and writes it anew after a send and after drop()', async () => {
    const p = await peer();
    const { queue, socket } = setup();
    const hostAt = (i: number): number => queue.meta[i * addon().META_INTS + 2] as number;
    const hostLength = (i: number): number => queue.meta[i * addon().META_INTS + 3] as number;
    for (const host of ['127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.2', '127.0.0.1']) queue.add(socket, Buffer.from([1, 2, 3]), host, p.port);
    // Text right after the first datagram, shared by the next two; the other host and the first again each get a copy.
    expect([0, 1, 2, 3, 4].map(hostAt)).toEqual([3, 3, 3, 21, 33]);
    expect([0, 1, 2, 3, 4].map(hostLength)).toEqual([9, 9, 9, 9, 9]);
    queue.flush(socket);
    queue.add(socket, Buffer.from([1, 2, 3, 4]), '127.0.0.1', p.port);
    expect(hostAt(0)).toBe(4);
    queue.drop();
    queue.add(socket, Buffer.from([1, 2]), '127.0.0.1', p.port);
    expect(hostAt(0)).toBe(2);
    queue.flush(socket);
    // The four to 127.0.0.1 of the first send, then the one packed after drop() (the one dropped never leaves).
    await p.until(5);
    await new Promise((r) => setTimeout(r, 30));
    expect(p.got.map((m) => m.length)).toEqual([3, 3, 3, 3, 2]);
  });

  it('refuses what cannot be a datagram, and counts and logs what the addon could not send', async () => {
    const p = await peer();
    const { queue, socket, lines } = setup(200_000);
    expect(queue.add(socket, Buffer.alloc(70_000), '127.0.0.1', p.port)).toBe(false);
    expect(queue.add(socket, Buffer.from([1]), 'x'.repeat(63), p.port)).toBe(false);
    expect(queue.add(socket, Buffer.from([2]), 'not-an-address', p.port)).toBe(true);
    expect(queue.add(socket, Buffer.from([3]), '127.0.0.1', p.port)).toBe(true);
    queue.flush(socket);
    await p.until(1);
    expect(p.got.map((m) => m[0])).toEqual([3]);
    expect({ sent: queue.sent, failed: queue.failed }).toEqual({ sent: 1, failed: 3 });
    expect(lines.find((l) => l.msg === labels.failed)).toMatchObject({ failed: 1, code: 'EINVAL' });
  });

  it('logs instead of throwing when the socket is gone, and drop() forgets what was packed', () => {
    const { queue, socket, lines } = setup();
    addon().close(socket);
    queue.add(socket, Buffer.from([1]), '127.0.0.1', 9);
    queue.flush(socket);
    expect(lines.some((l) => l.msg === labels.refused)).toBe(true);
    expect(queue.failed).toBe(1);
    queue.add(socket, Buffer.from([2]), '127.0.0.1', 9);
    queue.drop();
    expect(queue.size).toBe(0);
  });
});
