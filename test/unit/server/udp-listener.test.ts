// The UDP listener with a real socket and a handler that answers by echoing.
import { createSocket } from 'node:dgram';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageHandler, QueryContext, Responder, Transport } from '../../../src/pipeline/context.ts';
import { UdpListener } from '../../../src/server/udp-listener.ts';

const logger = pino({ level: 'silent' });
let listeners: UdpListener[] = [];
afterEach(async () => {
  for (const l of listeners) await l.close();
  listeners = [];
});

/** Answers each message with its own bytes reversed, through the listener as a real resolver would. */
function echo(seen: { client: string; transport: Transport }[]): MessageHandler {
  return {
    handleMessage(buf, client, transport, responder: Responder, replyTo, replyPort) {
      seen.push({ client, transport });
      responder.send({ replyTo, replyPort } as QueryContext, Buffer.from(buf).reverse());
    },
  };
}

describe('UdpListener', () => {
  it('hands each datagram to the resolver with the client address and sends the answer back', async () => {
    const seen: { client: string; transport: Transport }[] = [];
    const listener = new UdpListener({ host: '127.0.0.1', port: 0, family: 4 }, echo(seen), logger);
    listeners.push(listener);
    const port = await listener.start();
    expect(port).toBeGreaterThan(0);
    const client = createSocket('udp4');
    await new Promise<void>((r) => client.bind(0, '127.0.0.3', r));
    const answer = new Promise<Buffer>((r) => client.once('message', r));
    client.send(Buffer.from([1, 2, 3]), port, '127.0.0.1');
    expect([...(await answer)]).toEqual([3, 2, 1]);
    expect(seen).toEqual([{ client: '127.0.0.3', transport: 'udp' }]);
    client.close();
  });

  it('refuses to bind a port another socket holds (exclusive)', async () => {
    const first = new UdpListener({ host: '127.0.0.1', port: 0, family: 4 }, echo([]), logger);
    listeners.push(first);
    const port = await first.start();
    const second = new UdpListener({ host: '127.0.0.1', port, family: 4 }, echo([]), logger);
    await expect(second.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
