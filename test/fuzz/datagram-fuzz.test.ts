// The datagram path under fuzz (issue 13): random, mutated, oversized, empty and valid
// datagrams from 48 sources (IPv4 and IPv6, many ports) at the running server, in bursts that
// land as batches of up to 64. Every datagram must be either answered, to the client that
// sent it, or dropped and counted; nothing else may happen, and the server must stay up and
// keep answering. Runs on the path DNSWARD_DATAGRAM names (both, under npm test: vitest.config.ts).
// Reproduce a failure with FUZZ_SEED.
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendUdp } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { prng, randomBytes } from '../helpers/fault-upstream.ts';
import { inspect, pointerChainBombQuery, query, T } from '../helpers/packet-craft.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';
import { loadDatagramAddon } from '../../src/server/datagram-addon.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 0xda7a);
const TOTAL = 6_000;
/** A burst: at most this many datagrams and bytes before the test waits for the server to account for them. */
const BURST = 160;
const BURST_BYTES = 120_000;

interface Source {
  socket: Socket;
  host: string;
  port: number;
  /** Message IDs sent from this socket (the first two bytes of each datagram of 2+ bytes). */
  ids: Map<number, number>;
  answers: Buffer[];
}

/** One fuzz datagram: what kind decides how it is built (and nothing is known of its fate). */
function datagram(random: () => number, corpus: Buffer[]): Buffer {
  const r = random();
  const pick = (): Buffer => Buffer.from(corpus[Math.floor(random() * corpus.length)] as Buffer);
  if (r < 0.3) return randomBytes(random, Math.floor(random() * 700));
  if (r < 0.6) {
    const m = pick();
    const flips = 1 + Math.floor(random() * 6);
    for (let i = 0; i < flips && m.length > 0; i++) m[Math.floor(random() * m.length)] = Math.floor(random() * 256);
    const cut = random();
    if (cut < 0.2) return m.subarray(0, Math.floor(random() * m.length));
    if (cut < 0.3) return Buffer.concat([m, randomBytes(random, Math.floor(random() * 300))]);
    return m;
  }
  if (r < 0.75) {
    const m = pick();
    m.writeUInt16BE(Math.floor(random() * 65536), 0);
    return m;
  }
  if (r < 0.82) return randomBytes(random, Math.floor(random() * 12)); // shorter than a header, empty included
  if (r < 0.88) {
    const m = pick();
    m[2] = (m[2] as number) | 0x80; // QR=1: a response sent to a resolver
    return m;
  }
  if (r < 0.94) return randomBytes(random, 1_000 + Math.floor(random() * 30_000));
  return pointerChainBombQuery(500 + Math.floor(random() * 2_000), 100, 'bomb.example');
}

function corpus(): Buffer[] {
  return [
    query('fuzz.example.test'),
    query('www.tiktok.com', T.AAAA),
    query('api16-normal-c-useast1a.tiktokv.com', T.A, { opts: [{ udpSize: 1232 }] }),
    query('nx.test', T.A, { opts: [{}] }),
    query('any.example.test', T.ANY),
    query('txt.example.test', T.TXT, { opts: [{ options: [{ code: 10, data: Buffer.alloc(8, 1) }] }] }),
  ];
}

// Where the addon is built, or required (DNSWARD_DATAGRAM=addon: then a missing build fails here).
describe.runIf('addon' in loadDatagramAddon() || process.env.DNSWARD_DATAGRAM === 'addon')('the addon does not trust the arrays JavaScript shares with it', () => {
  it('sends exactly the well-formed entries of 5,000 batches mixed with random offsets, lengths, ports and hosts, and never crashes', async () => {
    const loaded = loadDatagramAddon();
    if (!('addon' in loaded)) throw new Error(loaded.error);
    const a = loaded.addon;
    const random = prng(SEED ^ 0x5e9d);
    const sink = createSocket({ type: 'udp4', recvBufferSize: 1 << 22 });
    await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', () => resolve()));
    let received = 0;
    sink.on('message', () => received++);
    const sinkPort = sink.address().port;
    const recvMeta = new Int32Array(a.MAX_BATCH * a.META_INTS);
    const area = Buffer.alloc(a.MAX_DATAGRAM + 1000);
    const meta = new Int32Array(a.MAX_BATCH * a.META_INTS);
    const socket = a.open(4, '127.0.0.1', 0, 0, 0, 0, recvMeta, area, meta, () => undefined);
    const wild = (): number => [0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 65_535, 65_536, area.length, area.length - 1, Math.floor(random() * 2 ** 32) | 0][Math.floor(random() * 10)] as number;
    let expected = 0;
    try {
      for (let round = 0; round < 5_000; round++) {
        const count = Math.floor(random() * (a.MAX_BATCH + 1));
        randomBytes(random, 64).copy(area, 4000 + Math.floor(random() * (area.length - 4064)));
        let good = 0;
        for (let i = 0, m = 0; i < count; i++, m += a.META_INTS) {
          if (random() < 0.3) {
            // Well formed: the host as text at its own offset, data in bounds, the sink's port.
            const hostAt = 100 + i * 16;
            const hostLength = area.write('127.0.0.1', hostAt, 'latin1');
            meta.set([2000 + Math.floor(random() * 1000), Math.floor(random() * 100), hostAt, hostLength, sinkPort], m);
            good++;
          } else {
            // Anything: out of bounds, negative, huge, port 0 or beyond 65535, a host that is no address.
            for (let k = 0; k < a.META_INTS; k++) meta[m + k] = wild();
          }
        }
        const sent = a.sendBatch(socket, count);
        expect(sent).toBe(good);
        expected += sent;
        // Let the sink drain (its buffer would overflow), and check nothing else was sent.
        if (round % 50 === 49) await expect.poll(() => received, { timeout: 5000, interval: 2 }).toBe(expected);
      }
      await expect.poll(() => received, { timeout: 5000 }).toBe(expected);
      expect(expected).toBeGreaterThan(1000);
      expect(() => a.sendBatch(socket, a.MAX_BATCH + 1)).toThrow(TypeError);
      expect(() => a.sendBatch(socket, -1)).toThrow(TypeError);
    } finally {
      a.close(socket);
      sink.close();
    }
  });
});

describe('datagram fuzz', () => {
  let upstream: StubUpstream;
  let server: TestServer;
  beforeAll(async () => {
    upstream = await new StubUpstream().start();
    server = await startTestServer(testConfig(upstream.port, { dns: { listen: ['127.0.0.1:0', '[::1]:0'] } }));
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.stop();
  });

  /** Answers counted by the resolver (every outcome is one answer sent) and datagrams dropped unanswered. */
  function accounted(): { answered: number; dropped: number } {
    const stats = server.app.resolver.stats();
    const answered = stats.queries.filter((q) => q.transport === 'udp').reduce((sum, q) => sum + q.count, 0);
    return { answered, dropped: stats.dropped };
  }

  it('runs on the datagram path the environment names', () => {
    const expected = process.env.DNSWARD_DATAGRAM === 'dgram' ? 'dgram' : process.env.DNSWARD_DATAGRAM === 'addon' ? 'addon' : undefined;
    const chosen = server.logs.filter((l) => typeof l.datagram === 'string').map((l) => l.datagram);
    // One per listen address, or more: with port 0 a listener whose UDP port is taken for TCP is made again
    // (dns-listeners.ts), and each one made logs its path.
    expect(chosen.length).toBeGreaterThanOrEqual(2);
    if (expected !== undefined) expect(new Set(chosen)).toEqual(new Set([expected]));
  });

  it(`answers or drops each of ${TOTAL.toLocaleString('en-US')} hostile datagrams from 48 sources, each answer to its sender, and stays up`, async () => {
    const random = prng(SEED);
    const messages = corpus();
    const v4 = server.app.dns.find((d) => !d.host.includes(':'))?.port as number;
    const v6 = server.app.dns.find((d) => d.host.includes(':'))?.port as number;
    const sources: Source[] = await Promise.all(
      Array.from({ length: 48 }, async (_, i) => {
        const host = i < 40 ? `127.0.${3 + (i % 5)}.${10 + i}` : '::1';
        const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 1 << 20 });
        await new Promise<void>((resolve) => socket.bind(0, host, () => resolve()));
        const source: Source = { socket, host, port: socket.address().port, ids: new Map(), answers: [] };
        socket.on('message', (m: Buffer) => source.answers.push(m));
        return source;
      }),
    );
    const before = accounted();
    let sent = 0;
    while (sent < TOTAL) {
      let bytes = 0;
      const burstStart = sent;
      while (sent < TOTAL && sent - burstStart < BURST && bytes < BURST_BYTES) {
        const m = datagram(random, messages);
        const source = sources[Math.floor(random() * sources.length)] as Source;
        if (m.length >= 2) source.ids.set(m.readUInt16BE(0), (source.ids.get(m.readUInt16BE(0)) ?? 0) + 1);
        if (source.host.includes(':')) source.socket.send(m, v6, '::1');
        else source.socket.send(m, v4, '127.0.0.1');
        bytes += m.length;
        sent++;
      }
      // Lock-step: the server accounts for the whole burst before the next one (nothing is lost to full buffers).
      await expect
        .poll(
          () => {
            const a = accounted();
            return a.answered + a.dropped - before.answered - before.dropped;
          },
          { timeout: 5000, interval: 5 },
        )
        .toBe(sent);
    }
    const after = accounted();
    const answered = after.answered - before.answered;
    const dropped = after.dropped - before.dropped;
    expect(answered + dropped).toBe(TOTAL);
    expect(answered).toBeGreaterThan(TOTAL / 4);
    expect(dropped).toBeGreaterThan(TOTAL / 20);
    // Every answer reached a client, and the one that asked: its ID is one that socket sent.
    await expect.poll(() => sources.reduce((sum, s) => sum + s.answers.length, 0), { timeout: 3000 }).toBe(answered);
    for (const s of sources) {
      const ids = new Map(s.ids);
      for (const a of s.answers) {
        const id = a.readUInt16BE(0);
        expect(ids.get(id) ?? 0, `${s.host}:${s.port} got an answer with ID ${id} it never sent`).toBeGreaterThan(0);
        ids.set(id, (ids.get(id) as number) - 1);
      }
    }
    for (const s of sources) s.socket.close();
    // Still up and answering, on both families.
    for (const [port, host] of [
      [v4, '127.0.0.1'],
      [v6, '::1'],
    ] as const) {
      const raw = await sendUdp(port, query('after.example.test'), { host, timeoutMs: 2000 });
      expect(raw && inspect(raw).rcode).toBe(0);
    }
  });
});
