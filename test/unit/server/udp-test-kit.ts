// Shared by the UDP listener tests: a handler that answers through the listener the way the
// resolver does, and a client socket on a chosen loopback address that collects answers.
import { createSocket, type Socket } from 'node:dgram';
import type { MessageHandler, QueryContext, Responder, Transport } from '../../../src/pipeline/context.ts';
import { type DatagramAddon, loadDatagramAddon } from '../../../src/server/datagram-addon.ts';

/** The batched datagram addon is built and loads here. */
export const addonLoads = 'addon' in loadDatagramAddon();
/**
 * Where the addon's own tests run: where it loads, and wherever it is required
 * (DNSWARD_DATAGRAM=addon, which npm test sets on Linux: a missing build fails them there).
 * `DNSWARD_DATAGRAM=auto npm test` on a machine that cannot build it skips them.
 */
export const testAddon = addonLoads || process.env.DNSWARD_DATAGRAM === 'addon';

/** The addon, for tests that run only where testAddon holds (a missing build fails them with its reason). */
export function requireAddon(): DatagramAddon {
  const loaded = loadDatagramAddon();
  if (!('addon' in loaded)) throw new Error(loaded.error);
  return loaded.addon;
}

export interface Seen {
  client: string;
  port: number;
  transport: Transport;
  bytes: number[];
}

/** Answers each message with its own bytes reversed (optionally later), through `responder` as the resolver does. */
export function echo(seen: Seen[], options: { delayMs?: number } = {}): MessageHandler {
  return {
    handleMessage(buf, client, transport, responder: Responder, replyTo, replyPort) {
      seen.push({ client, port: replyPort, transport, bytes: [...buf] });
      const answer = Buffer.from(buf).reverse();
      const ctx = { replyTo, replyPort } as QueryContext;
      if (options.delayMs === undefined) responder.send(ctx, answer);
      else setTimeout(() => responder.send(ctx, answer), options.delayMs);
    },
  };
}

export interface Client {
  socket: Socket;
  port: number;
  answers: Buffer[];
  /** Resolves when `count` answers have arrived in all (rejects after timeoutMs). */
  waitFor(count: number, timeoutMs?: number): Promise<Buffer[]>;
  close(): void;
}

export async function client(address: string): Promise<Client> {
  const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 1 << 20 });
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  const answers: Buffer[] = [];
  let waiter: (() => void) | undefined;
  socket.on('message', (m: Buffer) => {
    answers.push(m);
    waiter?.();
  });
  return {
    socket,
    port: socket.address().port,
    answers,
    waitFor(count, timeoutMs = 3000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${answers.length} of ${count} answers after ${timeoutMs} ms`)), timeoutMs);
        waiter = () => {
          if (answers.length >= count) {
            clearTimeout(timer);
            waiter = undefined;
            resolve(answers);
          }
        };
        waiter();
      });
    },
    close: () => socket.close(),
  };
}
