// The node:dgram listener (the fallback) on its own, with real sockets. The behaviour both
// paths share is in udp-listener.test.ts.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DgramUdpListener } from '../../../src/server/dgram-udp-listener.ts';
import { client, echo, type Seen } from './udp-test-kit.ts';

const logger = pino({ level: 'silent' });
let listeners: DgramUdpListener[] = [];
afterEach(async () => {
  for (const l of listeners) await l.close();
  listeners = [];
});

describe('DgramUdpListener', () => {
  it('hands each datagram to the resolver and sends its answer to the sender', async () => {
    const seen: Seen[] = [];
    const listener = new DgramUdpListener({ host: '127.0.0.1', port: 0, family: 4 }, echo(seen), logger);
    listeners.push(listener);
    const port = await listener.start();
    const c = await client('127.0.0.6');
    c.socket.send(Buffer.from([4, 5, 6]), port, '127.0.0.1');
    expect([...((await c.waitFor(1))[0] as Buffer)]).toEqual([6, 5, 4]);
    expect(seen).toEqual([{ client: '127.0.0.6', port: c.port, transport: 'udp', bytes: [4, 5, 6] }]);
    c.close();
  });

  it('refuses a port another socket holds', async () => {
    const first = new DgramUdpListener({ host: '127.0.0.1', port: 0, family: 4 }, echo([]), logger);
    listeners.push(first);
    const port = await first.start();
    await expect(new DgramUdpListener({ host: '127.0.0.1', port, family: 4 }, echo([]), logger).start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
