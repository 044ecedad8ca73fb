// tcpQuery against a real TCP server on loopback.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { tcpQuery } from '../../../src/resolver/upstream-tcp.ts';

function frame(message: Buffer): Buffer {
  return Buffer.concat([Buffer.from([message.length >> 8, message.length & 0xff]), message]);
}

const QUERY = Buffer.from('abcd01000001000000000000', 'hex');
const reply = (id: number, qr = true): Buffer => {
  const b = Buffer.from(QUERY);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(qr ? 0x8180 : 0x0100, 2);
  return b;
};

let servers: Server[] = [];
afterEach(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  servers = [];
});

async function serve(onQuery: (socket: Socket, message: Buffer) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', (data) => onQuery(socket, data.subarray(2)));
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

function ask(port: number, timeoutMs = 1000): Promise<{ answer: Buffer | undefined; reason: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => tcpQuery('127.0.0.1', port, QUERY, () => true, timeoutMs, (answer, reason) => resolve({ answer, reason, ms: Date.now() - started })));
}

describe('tcpQuery', () => {
  it('returns the answer with our ID, split across segments, skipping other messages', async () => {
    const port = await serve((socket) => {
      const good = frame(reply(0xabcd));
      socket.write(Buffer.concat([frame(reply(0x1111)), frame(reply(0xabcd, false)), good.subarray(0, 5)]));
      setTimeout(() => socket.write(good.subarray(5)), 20);
    });
    const { answer, reason } = await ask(port);
    expect(reason).toBe('ok');
    expect(answer?.readUInt16BE(0)).toBe(0xabcd);
    expect(answer?.readUInt16BE(2)).toBe(0x8180);
  });

  it('gives up at the deadline on a server that never answers', async () => {
    const port = await serve(() => undefined);
    const { answer, reason } = await ask(port, 150);
    expect(answer).toBeUndefined();
    expect(reason).toBe('tcp-timeout');
  });

  it('fails at once when the connection is refused or closed', async () => {
    const closing = await serve((socket) => socket.end());
    expect((await ask(closing)).reason).toBe('tcp-closed');
    const refused = await serve(() => undefined);
    await new Promise((r) => (servers.pop() as Server).close(r));
    expect((await ask(refused)).reason).toBe('tcp-error');
  });
});
