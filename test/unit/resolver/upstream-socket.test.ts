// The node:dgram upstream socket (the fallback of upstream-batch-socket.ts): a random port, and
// replies handed over with their sender.
import { createSocket } from 'node:dgram';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { openDgramSocket } from '../../../src/resolver/upstream-socket.ts';

describe('openDgramSocket', () => {
  it('sends from a kernel-chosen port and hands replies over with their sender', async () => {
    const peer = createSocket('udp4');
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));
    const got: { msg: number[]; address: string; port: number }[] = [];
    const socket = await openDgramSocket(4, (msg, address, port) => got.push({ msg: [...msg], address, port }), pino({ level: 'silent' }));
    const sourcePort = new Promise<number>((resolve) => peer.once('message', (_m, rinfo) => resolve(rinfo.port)));
    socket.send(Buffer.from([7, 8]), peer.address().port, '127.0.0.1');
    const from = await sourcePort;
    expect(from).toBeGreaterThan(0);
    peer.send(Buffer.from([9]), from, '127.0.0.1');
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual([{ msg: [9], address: '127.0.0.1', port: peer.address().port }]);
    socket.close();
    peer.close();
  });
});
