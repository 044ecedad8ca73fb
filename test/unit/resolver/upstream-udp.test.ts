// UdpTransport against a UDP/TCP stub upstream on loopback, on both kinds of socket: the
// batched addon's and node:dgram's.
import { createSocket, type Socket } from 'node:dgram';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DatagramPath } from '../../../src/server/datagram-addon.ts';
import type { Attempt } from '../../../src/resolver/upstream-transport.ts';
import { UdpTransport } from '../../../src/resolver/upstream-udp.ts';
import { encodeReply, rr, StubUpstream } from '../../helpers/stub-upstream.ts';
import { prng, randomBytes } from '../../helpers/fault-upstream.ts';
import { attempt, RecordingEvents, upstreamFor } from '../../helpers/upstream-attempts.ts';
import { testAddon } from '../server/udp-test-kit.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(stub: StubUpstream, datagram: DatagramPath, host = '127.0.0.1'): Promise<{ udp: UdpTransport<Attempt>; events: RecordingEvents; send: (name: string) => Attempt }> {
  await stub.start(host);
  const family = host.includes(':') ? 6 : 4;
  const events = new RecordingEvents();
  const udp = new UdpTransport<Attempt>([family], { sockets: 2, rotateMs: 60_000, datagram }, events, pino({ level: 'silent' }));
  expect(udp.path).toBe(datagram);
  await udp.start();
  cleanup.push(() => stub.stop(), () => udp.close());
  const upstream = upstreamFor(family === 6 ? `[${host}]:${stub.port}` : `${host}:${stub.port}`);
  const send = (name: string): Attempt => {
    const job = attempt(upstream, name);
    udp.send(job);
    return job;
  };
  return { udp, events, send };
}

/**
 * One query sent to a stub that never answers, once the stub has it (its bytes and the source
 * port it came from), and a socket on another port to forge replies from.
 */
async function heldQuery(path: DatagramPath, name: string): Promise<{ stub: StubUpstream; events: RecordingEvents; job: Attempt; query: { raw: Buffer; port: number } | undefined; forger: Socket }> {
  let query: { raw: Buffer; port: number } | undefined;
  const stub = new StubUpstream((q) => {
    query = { raw: q.raw, port: q.port };
    return 'drop';
  });
  const { events, send } = await setup(stub, path);
  const job = send(name);
  for (let i = 0; i < 100 && query === undefined; i++) await new Promise((r) => setTimeout(r, 10));
  const forger = createSocket('udp4');
  await new Promise<void>((resolve) => forger.bind(0, '127.0.0.1', resolve));
  cleanup.push(async () => void forger.close());
  return { stub, events, job, query, forger };
}

const paths: DatagramPath[] = testAddon ? ['addon', 'dgram'] : ['dgram'];

describe.each(paths)('UdpTransport on %s sockets', (path) => {
  // DNSWARD_DATAGRAM (set by npm test for each project) would override the path asked for.
  const fromEnv = process.env.DNSWARD_DATAGRAM;
  beforeAll(() => {
    process.env.DNSWARD_DATAGRAM = path;
  });
  afterAll(() => {
    if (fromEnv === undefined) delete process.env.DNSWARD_DATAGRAM;
    else process.env.DNSWARD_DATAGRAM = fromEnv;
  });

  it('sends with a random ID and reports the matching answer', async () => {
    const stub = new StubUpstream();
    const { events, send } = await setup(stub, path);
    const job = send('plain.example');
    const [outcome] = await events.until(1);
    expect(stub.received[0]?.id).toBe(job.id);
    expect(outcome?.answer?.readUInt16BE(0)).toBe(job.id);
    expect(job.handle).toBeUndefined();
  });

  it('drops a reply with another ID or question, counts it, and takes the real one', async () => {
    const stub = new StubUpstream((q) => {
      const wrongId = encodeReply(q.raw, { answers: [rr.a(q.qname, '192.0.2.66')] }, true);
      wrongId.writeUInt16BE((q.id + 1) & 0xffff, 0);
      const wrongName = Buffer.from(encodeReply(q.raw, { answers: [] }, true));
      wrongName[13] = 0x7a;
      return [wrongId, wrongName, encodeReply(q.raw, { answers: [rr.a(q.qname, '192.0.2.7')] }, true)];
    });
    const { events, send } = await setup(stub, path);
    send('spoofed.example');
    const [outcome] = await events.until(1);
    expect(outcome?.answer?.includes(Buffer.from([192, 0, 2, 7]))).toBe(true);
    expect(events.mismatches).toBe(2);
  });

  it('retries a truncated answer over TCP with the rest of the query budget', async () => {
    const stub = new StubUpstream((q) => ({ truncateUdp: true, answers: [rr.a(q.qname, '192.0.2.9')] }));
    const { udp, events, send } = await setup(stub, path);
    const job = send('big.example');
    const [outcome] = await events.until(1);
    expect((outcome?.answer?.readUInt16BE(2) ?? 0x0200) & 0x0200).toBe(0);
    expect(outcome?.answer?.includes(Buffer.from([192, 0, 2, 9]))).toBe(true);
    expect(stub.received.map((q) => q.transport)).toEqual(['udp', 'tcp']);
    expect(udp.tcpRetries).toBe(1);
    expect(job.attemptDeadline).toBe(job.deadline);
  });

  it('after cancel, a late reply is only counted as mismatched', async () => {
    let release: (() => void) | undefined;
    const stub = new StubUpstream((q) => {
      if (q.qname !== 'late.example') return { answers: [rr.a(q.qname, '192.0.2.1')] };
      release = () => stub.sendRaw(encodeReply(q.raw, { answers: [rr.a(q.qname, '192.0.2.1')] }, true), q.port);
      return 'drop';
    });
    const { udp, events, send } = await setup(stub, path);
    const job = send('late.example');
    for (let i = 0; i < 100 && release === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    udp.cancel(job);
    release?.();
    for (let i = 0; i < 100 && events.mismatches === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(events.mismatches).toBe(1);
    send('next.example');
    const outcomes = await events.until(1);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]?.job).not.toBe(job);
  });

  it('over IPv6: takes the answer from the upstream address', async () => {
    const stub = new StubUpstream();
    const { events, send } = await setup(stub, path, '::1');
    const job = send('six.example');
    const [outcome] = await events.until(1);
    expect(outcome?.answer?.readUInt16BE(0)).toBe(job.id);
  });

  it('drops a reply with the right ID and question from another port (RFC 5452), then takes the one from the upstream', async () => {
    const { stub, events, query, forger } = await heldQuery(path, 'forged.example');
    const forged = encodeReply(query?.raw as Buffer, { answers: [rr.a('forged.example', '192.0.2.66')] }, true);
    forger.send(forged, query?.port as number, '127.0.0.1');
    for (let i = 0; i < 100 && events.mismatches === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(events.mismatches).toBe(1);
    stub.sendRaw(encodeReply(query?.raw as Buffer, { answers: [rr.a('forged.example', '192.0.2.7')] }, true), query?.port as number);
    const [outcome] = await events.until(1);
    expect(outcome?.answer?.includes(Buffer.from([192, 0, 2, 7]))).toBe(true);
  });

  it('takes 3,000 random and mutated replies at its port (forged sources, random IDs) as mismatches, then the real answer', async () => {
    const { stub, events, job, query, forger } = await heldQuery(path, 'under-fire.example');
    const random = prng(0x5eed);
    const real = encodeReply(query?.raw as Buffer, { answers: [rr.a('under-fire.example', '192.0.2.7')] }, true);
    let sent = 0;
    for (let burst = 0; burst < 30; burst++) {
      for (let i = 0; i < 100; i++, sent++) {
        // Half noise, half the real answer with bytes flipped (its ID too, sometimes): all from the wrong port.
        const garbage = random() < 0.5 ? randomBytes(random, Math.floor(random() * 600)) : Buffer.from(real);
        if (garbage.length === real.length) for (let f = 0; f < 3; f++) garbage[Math.floor(random() * garbage.length)] = Math.floor(random() * 256);
        forger.send(garbage, query?.port as number, '127.0.0.1');
      }
      // Paced: one burst (100 datagrams) fits the socket's default receive buffer on a busy machine too.
      for (let i = 0; i < 100 && events.mismatches < sent - 10; i++) await new Promise((r) => setTimeout(r, 2));
    }
    for (let i = 0; i < 200 && events.mismatches < sent * 0.9; i++) await new Promise((r) => setTimeout(r, 10));
    expect(events.outcomes).toHaveLength(0);
    // Loopback may drop a few under the burst; each one that arrived was refused.
    expect(events.mismatches).toBeGreaterThan(sent * 0.9);
    expect(events.mismatches).toBeLessThanOrEqual(sent);
    stub.sendRaw(real, query?.port as number);
    const [outcome] = await events.until(1);
    expect(outcome?.job).toBe(job);
    expect(outcome?.answer?.includes(Buffer.from([192, 0, 2, 7]))).toBe(true);
  });
});
