import dns2, { type DnsServer, type Packet } from 'dns2';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RCODE } from '../../../src/dns/constants.ts';
import { guardDns2Server, rawRequestBytes } from '../../../src/plugin/dns2-guard.ts';
import { buildQuery, decode, exchangeTcp, sendUdp } from '../../helpers/dns-client.ts';
import { craft, frame, pointerChainBombQuery } from '../../helpers/packet-craft.ts';

const { Packet: PacketClass } = dns2;
type Send = (response: Packet | Buffer) => unknown;

interface Seen {
  name: string;
  raw: Buffer | undefined;
}

const servers: DnsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A guarded dns2 server whose handler records what it saw (and the raw bytes) and answers A 192.0.2.1, now or later. */
async function guarded(options: Parameters<typeof guardDns2Server>[1] = {}, delayMs = 0, tune?: (server: DnsServer) => void) {
  const seen: Seen[] = [];
  let inHandler = 0;
  let mostInHandler = 0;
  const handle = (request: Packet, send: Send): void => {
    seen.push({ name: request.questions[0]?.name ?? '', raw: rawRequestBytes(request) });
    inHandler++;
    mostInHandler = Math.max(mostInHandler, inHandler);
    const answer = (): void => {
      inHandler--;
      const response = PacketClass.createResponseFromRequest(request);
      response.answers.push({ name: request.questions[0]?.name ?? '', type: 1, class: 1, ttl: 60, address: '192.0.2.1' } as never);
      void send(response);
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  };
  const server = dns2.createServer({ udp: true, tcp: true, handle });
  tune?.(server);
  guardDns2Server(server, options);
  servers.push(server);
  const bound = await server.listen({ udp: { port: 0, address: '127.0.0.1' }, tcp: { port: 0, host: '127.0.0.1' } as never });
  return { seen, udp: bound.udp?.port ?? 0, tcp: bound.tcp?.port ?? 0, most: () => mostInHandler };
}

function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe('dns2 guard', () => {
  it('lets well-formed UDP queries through with the bytes as they arrived, case included', async () => {
    const { seen, udp } = await guarded();
    const query = buildQuery({ id: 77, name: 'WwW.ExAmPlE.oRg', edns: 1232 });
    const answer = await sendUdp(udp, query);
    expect(answer && decode(answer).packet.answers[0]).toMatchObject({ address: '192.0.2.1' });
    expect(seen).toEqual([{ name: 'WwW.ExAmPlE.oRg', raw: query }]);
  });

  it('answers FORMERR itself to a pointer-chain bomb and never lets dns2 decode it; drops responses', async () => {
    const { seen, udp, tcp } = await guarded();
    const bomb = pointerChainBombQuery(30_000, 2000);
    const started = Date.now();
    const [overTcp] = await exchangeTcp(tcp, [bomb]);
    expect(overTcp && decode(overTcp).rcode).toBe(RCODE.FORMERR);
    expect(Date.now() - started).toBeLessThan(250);
    const overUdp = await sendUdp(udp, craft({ header: { arcount: 3 } }));
    expect(overUdp && overUdp.readUInt16BE(2) & 0xf).toBe(RCODE.FORMERR);
    expect(await sendUdp(udp, craft({ header: { qr: true } }), { timeoutMs: 300 })).toBeUndefined();
    expect(seen).toEqual([]);
  });

  it('reads pipelined TCP queries, answers each, and checks each frame on its own', async () => {
    const { seen, tcp } = await guarded();
    const queries = ['a.example', 'b.example', 'c.example'].map((name, i) => buildQuery({ id: i + 1, name }));
    const replies = await exchangeTcp(tcp, [queries[0]!, craft({ header: { id: 9, arcount: 5 } }), queries[1]!, queries[2]!], { expect: 4 });
    expect(replies.map((r) => [r.readUInt16BE(0), r.readUInt16BE(2) & 0xf]).sort()).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
      [9, RCODE.FORMERR],
    ]);
    expect(seen.map((s) => s.raw)).toEqual(queries);
  });

  it('answers a query sent with a half-close, then closes', async () => {
    const { tcp } = await guarded({}, 50);
    const socket = connect({ port: tcp, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const closed = closedWithin(socket, 2000);
    socket.end(frame(buildQuery({ id: 5, name: 'late.example' })));
    expect(await closed).toBe(true);
    const reply = Buffer.concat(chunks);
    expect(reply.readUInt16BE(2)).toBe(5);
  });

  it('bounds the queries in flight per connection and answers them all', async () => {
    const server = await guarded({ maxInFlightPerConnection: 2 }, 60);
    const queries = Array.from({ length: 6 }, (_, i) => buildQuery({ id: i + 1, name: `q${i}.example` }));
    const replies = await exchangeTcp(server.tcp, queries, { timeoutMs: 3000 });
    expect(replies.map((r) => r.readUInt16BE(0)).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(server.most()).toBe(2);
  });

  it('destroys a connection whose message trickles in past the deadline, and an idle one', async () => {
    const { tcp } = await guarded({ messageDeadlineMs: 200 }, 0, (server) => {
      (server as unknown as { servers: { tcp: { idleTimeout: number } } }).servers.tcp.idleTimeout = 300;
    });
    const slow = connect({ port: tcp, host: '127.0.0.1' });
    slow.on('error', () => undefined);
    slow.write(Buffer.from([0, 40, 0x12]));
    const keepTrickling = setInterval(() => slow.writable && slow.write(Buffer.from([0])), 50);
    expect(await closedWithin(slow, 1500)).toBe(true);
    clearInterval(keepTrickling);
    const idle = connect({ port: tcp, host: '127.0.0.1' });
    idle.on('error', () => undefined);
    expect(await closedWithin(idle, 1500)).toBe(true);
  });

  it('refuses what it cannot guard: DoH unless allowed, PROXY protocol, anything but a dns2 server', () => {
    const doh = dns2.createServer({ doh: true, handle: () => undefined });
    expect(() => guardDns2Server(doh)).toThrow(/dns2 decodes DoH requests.*allowUnguardedDoh/);
    expect(() => guardDns2Server(doh, { allowUnguardedDoh: true })).not.toThrow();
    const proxied = dns2.createServer({ udp: { type: 'udp4', proxyProtocol: true } as never, handle: () => undefined });
    expect(() => guardDns2Server(proxied)).toThrow(/proxyProtocol on/);
    expect(() => guardDns2Server({})).toThrow(/give it the server dns2.createServer\(\) returned/);
    const twice = dns2.createServer({ udp: true, handle: () => undefined });
    guardDns2Server(twice);
    expect(() => guardDns2Server(twice)).not.toThrow();
  });
});
