// Issue 4, upstream faults: in-flight cap and coalescing, RFC 5452 spoofing resistance,
// garbage / truncated / pointer-looping answers, a TCP upstream that never answers,
// serve-stale (RFC 8767) and optional 0x20, against fault-injecting stub upstreams.
import { createSocket } from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sendUdp } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { delayedHandler, faults, SlowTcpUpstream, spoofFrom } from '../helpers/fault-upstream.ts';
import { inspect, loopStallProbe, query, RC, T, tcpOnce } from '../helpers/packet-craft.ts';
import { defaultHandler, encodeReply, rr, StubUpstream, type StubHandler } from '../helpers/stub-upstream.ts';

const ALLOW = ['127.0.0.0/8', '::1/128'];
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function stub(handler: StubHandler): Promise<StubUpstream> {
  const s = await new StubUpstream(handler).start();
  cleanup.push(() => s.stop());
  return s;
}

async function server(upstreamPort: number, dns: Record<string, unknown> = {}): Promise<TestServer> {
  const s = await startTestServer(testConfig(upstreamPort, { dns: { listen: ['127.0.0.1:0'], allow: ALLOW, rate_limit: { enabled: false }, ...dns } }));
  cleanup.push(() => s.stop());
  return s;
}

async function metric(s: TestServer, name: string): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${s.app.api?.port}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

async function udp(s: TestServer, message: Buffer, options: { from?: string; timeoutMs?: number } = {}): Promise<ReturnType<typeof inspect>> {
  const raw = await sendUdp(s.port, message, { from: options.from, timeoutMs: options.timeoutMs ?? 4000 });
  if (raw === undefined) throw new Error('no UDP reply');
  return inspect(raw);
}

async function tcp(s: TestServer, message: Buffer, timeoutMs = 4000): Promise<ReturnType<typeof inspect>> {
  const raw = await tcpOnce(s.port, message, { timeoutMs });
  if (raw === undefined) throw new Error('no TCP reply');
  return inspect(raw);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('queries in flight to upstreams', () => {
  it('caps distinct questions in flight (max_inflight_upstream): beyond it SERVFAIL at once', async () => {
    const silent = await stub(faults.silent());
    const s = await server(silent.port, { max_inflight_upstream: 2, serve_stale: { enabled: false } });
    const slow = [udp(s, query('held1.example')), udp(s, query('held2.example'))];
    await sleep(50);
    const started = performance.now();
    const over = await udp(s, query('over.example'));
    expect(over.rcode).toBe(RC.SERVFAIL);
    expect(performance.now() - started).toBeLessThan(300);
    expect(silent.count('over.example')).toBe(0);
    expect(silent.count('held1.example') + silent.count('held2.example')).toBeGreaterThanOrEqual(2);
    for (const r of await Promise.all(slow)) expect(r.rcode).toBe(RC.SERVFAIL);
  });

  it('coalesces identical questions in flight into one upstream query (same name/type/class/DO)', async () => {
    const ref: { stub?: StubUpstream } = {};
    const delayed = await stub(delayedHandler(() => ref.stub as StubUpstream, 200));
    ref.stub = delayed;
    const s = await server(delayed.port);
    const name = 'coalesce.example';
    const asks: Promise<ReturnType<typeof inspect>>[] = [];
    for (let i = 0; i < 16; i++) asks.push(udp(s, query(i % 2 ? name.toUpperCase() : name, T.A, { header: { id: 100 + i } }), { from: `127.0.0.${70 + i}` }));
    for (let i = 0; i < 4; i++) asks.push(tcp(s, query(name, T.A, { header: { id: 200 + i } })));
    // Different DO bit or type: separate upstream questions.
    asks.push(udp(s, query(name, T.A, { header: { id: 300 }, opts: [{ dnssecOk: true }] })));
    asks.push(udp(s, query(name, T.AAAA, { header: { id: 301 } })));
    const replies = await Promise.all(asks);
    for (const r of replies) expect(r.rcode).toBe(RC.NOERROR);
    expect(replies.map((r) => r.id)).toEqual([...Array.from({ length: 16 }, (_, i) => 100 + i), 200, 201, 202, 203, 300, 301]);
    // Each client sees its own question case.
    expect(replies[1]?.question.toString('latin1')).toContain('COALESCE');
    expect(delayed.received.filter((q) => q.qname === name && q.qtype === T.A && q.raw.readUInt32BE(q.raw.length - 6) === 0).length).toBe(1);
    expect(delayed.count(name)).toBe(3);
    expect(await metric(s, 'dnsward_upstream_coalesced_total')).toBeGreaterThanOrEqual(19);
  });
});

describe('spoofed upstream replies (RFC 5452)', () => {
  it('drops replies with a wrong ID, question, QR=0, source port or source address, counts them, and uses the real answer', async () => {
    const ref: { real?: StubUpstream } = {};
    const spoofPortSocket = createSocket('udp4');
    await new Promise<void>((resolve) => spoofPortSocket.bind(0, '127.0.0.1', () => resolve()));
    cleanup.push(async () => {
      spoofPortSocket.close();
    });
    const handler: StubHandler = (q) => {
      if (q.transport !== 'udp') return defaultHandler(q);
      const forged = encodeReply(q.raw, { answers: [rr.a(q.qname, '203.0.113.66')] }, true);
      const variants = faults.spoofsThenAnswer(
        (x) => ({ answers: [rr.a(x.qname, '192.0.2.99')] }),
        (x) => ({ answers: [rr.a(x.qname, '203.0.113.66')] }),
      )(q) as Buffer[];
      void (async () => {
        // Right ID and question, wrong source port; then wrong source address (127.0.0.2, the upstream's port).
        spoofPortSocket.send(forged, q.port, '127.0.0.1');
        await spoofFrom('127.0.0.2', (ref.real as StubUpstream).port, forged, q.port);
        await sleep(20);
        for (const v of variants) (ref.real as StubUpstream).sendRaw(v, q.port);
      })();
      return 'drop';
    };
    const real = await stub(handler);
    ref.real = real;
    const s = await server(real.port);
    const reply = await udp(s, query('spoof.example'));
    expect(reply.rcode).toBe(RC.NOERROR);
    expect(reply.records.filter((r) => r.type === T.A).map((r) => [...r.rdata].join('.'))).toEqual(['192.0.2.99']);
    await sleep(50);
    expect(await metric(s, 'dnsward_upstream_mismatched_total')).toBeGreaterThanOrEqual(5);
    // The forged address never reached the cache.
    const cached = await udp(s, query('spoof.example'));
    expect(cached.records.map((r) => [...r.rdata].join('.'))).toEqual(['192.0.2.99']);
  });
});

describe('malformed upstream answers', () => {
  let s: TestServer;
  let up: StubUpstream;
  const byName: Record<string, StubHandler> = {
    'garbage.fault.test': faults.garbageAfterQuestion(7),
    'cut.fault.test': faults.truncatedMessage(),
    'ownerloop.fault.test': faults.ownerPointerLoop(),
    'cnameloop.fault.test': faults.cnamePointerLoop(),
    'forward.fault.test': faults.cnameForwardPointer(),
    'chain100.fault.test': faults.cnameThroughChain(100),
    'chain200.fault.test': faults.cnameThroughChain(200),
    'bomb.fault.test': faults.pointerChainBomb(60_000, 8000),
    'validbomb.fault.test': faults.pointerChainBomb(60_000, 120),
    'random.fault.test': faults.randomBytes(3),
  };
  beforeAll(async () => {
    up = await new StubUpstream((q) => (byName[q.qname] ?? defaultHandler)(q)).start();
    s = await startTestServer(testConfig(up.port, { dns: { listen: ['127.0.0.1:0'], allow: ALLOW, rate_limit: { enabled: false }, serve_stale: { enabled: false } } }));
  });
  afterAll(async () => {
    await s?.stop();
    await up?.stop();
  });

  const servfail = ['garbage', 'cut', 'ownerloop', 'cnameloop', 'forward', 'chain200', 'bomb'];
  for (const fault of servfail) {
    it(`answers SERVFAIL to a ${fault} upstream answer, quickly, over UDP and TCP`, async () => {
      const started = performance.now();
      const overUdp = await udp(s, query(`${fault}.fault.test`, T.A, { opts: [{}] }));
      expect(overUdp.rcode).toBe(RC.SERVFAIL);
      expect(performance.now() - started).toBeLessThan(1000);
      const overTcp = await tcp(s, query(`${fault}.fault.test`));
      expect(overTcp.rcode).toBe(RC.SERVFAIL);
      expect(s.app.resolver.stats().internalErrors).toBe(0);
    });
  }

  it('follows a 100-hop backward pointer chain in a CNAME target (under the 126 limit)', async () => {
    const reply = await udp(s, query('chain100.fault.test', T.A, { opts: [{}] }));
    expect(reply.rcode).toBe(RC.NOERROR);
    expect(reply.ancount).toBe(2);
  });

  it('does not stall the event loop on ~60 KB pointer-chain answers (rejected or valid)', async () => {
    // Warm up once (JIT), then measure. The server shares this process, so the probe also sees
    // the OS descheduling us on a busy machine: take the best of three rounds (a real stall
    // shows in every round; dns2's parser took 2 s on this input).
    await udp(s, query('bomb.fault.test'));
    await tcp(s, query('validbomb.fault.test'));
    const rounds: number[] = [];
    for (let round = 0; round < 3; round++) {
      const probe = loopStallProbe();
      for (let i = 0; i < 3; i++) {
        expect((await udp(s, query('bomb.fault.test'))).rcode).toBe(RC.SERVFAIL);
        // Well formed but with thousands of CNAMEs (over MAX_CNAMES): SERVFAIL, quickly.
        expect((await tcp(s, query('validbomb.fault.test'))).rcode).toBe(RC.SERVFAIL);
        expect((await udp(s, query('validbomb.fault.test', T.A, { opts: [{ udpSize: 65535 }] }))).rcode).toBe(RC.SERVFAIL);
      }
      rounds.push(probe.stop());
    }
    expect(Math.min(...rounds)).toBeLessThan(50);
  });

  it('answers SERVFAIL within the query budget when the upstream sends only random bytes', async () => {
    const started = performance.now();
    const reply = await udp(s, query('random.fault.test'));
    expect(reply.rcode).toBe(RC.SERVFAIL);
    expect(performance.now() - started).toBeLessThan(2500);
    expect(await metric(s, 'dnsward_upstream_mismatched_total')).toBeGreaterThan(0);
  });
});

describe('a TCP upstream that accepts and never answers', () => {
  it('costs at most the query budget and leaves no socket open', async () => {
    const slow = await new SlowTcpUpstream().start();
    cleanup.push(() => slow.stop());
    const s = await server(slow.port, { serve_stale: { enabled: false } });
    const started = performance.now();
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => udp(s, query(`tcp-hang${i}.example`))));
    const elapsed = performance.now() - started;
    for (const r of replies) expect(r.rcode).toBe(RC.SERVFAIL);
    expect(slow.accepted).toBeGreaterThanOrEqual(8);
    expect(elapsed).toBeLessThan(1500 + 500); // testConfig's query_timeout_ms is 1500
    const closedInTime = await (async () => {
      for (let i = 0; i < 20 && slow.open > 0; i++) await sleep(25);
      return slow.open === 0;
    })();
    expect(closedInTime).toBe(true);
  });
});

describe('serve-stale (RFC 8767)', () => {
  /** An upstream answering `name` with TTL 1 while `up` is true, silent afterwards. */
  async function flaky(failure: 'silent' | 'servfail' = 'silent'): Promise<{ up: StubUpstream; state: { up: boolean } }> {
    const state = { up: true };
    const up = await stub((q) => {
      if (state.up) return { answers: [rr.a(q.qname, '192.0.2.77', 1)] };
      return failure === 'silent' ? 'drop' : { rcode: RC.SERVFAIL };
    });
    return { up, state };
  }

  async function primeAndExpire(s: TestServer, state: { up: boolean }, name: string): Promise<void> {
    expect((await udp(s, query(name))).records[0]?.ttl).toBe(1);
    state.up = false;
    await sleep(1300);
  }

  it('serves an expired answer with TTL 30 and EDE 3 when the upstream stops answering, within ~1.8 s', async () => {
    const { up, state } = await flaky();
    const s = await server(up.port);
    await primeAndExpire(s, state, 'stale.example');
    for (const [label, ask] of [
      ['udp+edns', () => udp(s, query('stale.example', T.A, { opts: [{}] }))],
      ['tcp+edns', () => tcp(s, query('stale.example', T.A, { opts: [{}] }))],
    ] as const) {
      const started = performance.now();
      const reply = await ask();
      expect(performance.now() - started, label).toBeLessThan(2000);
      expect(reply.rcode, label).toBe(RC.NOERROR);
      expect(reply.records.filter((r) => r.type === T.A).map((r) => r.ttl), label).toEqual([30]);
      expect(reply.opt?.options.find((o) => o.code === 15)?.data.readUInt16BE(0), label).toBe(3);
    }
    // A client without EDNS gets the stale answer without any OPT.
    const plain = await udp(s, query('stale.example'));
    expect(plain.rcode).toBe(RC.NOERROR);
    expect(plain.records[0]?.ttl).toBe(30);
    expect(plain.opts).toHaveLength(0);
  });

  it('answers stale after client_timeout_ms, before the upstream budget runs out', async () => {
    const { up, state } = await flaky();
    const s = await server(up.port, { query_timeout_ms: 3000, upstream_timeout_ms: 2500, serve_stale: { enabled: true, client_timeout_ms: 300 } });
    await primeAndExpire(s, state, 'quickstale.example');
    const started = performance.now();
    const reply = await udp(s, query('quickstale.example', T.A, { opts: [{}] }));
    const elapsed = performance.now() - started;
    expect(reply.rcode).toBe(RC.NOERROR);
    expect(reply.records[0]?.ttl).toBe(30);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    // Before the upstream's own 2.5 s budget: the stale answer came from the client timer.
    expect(elapsed).toBeLessThan(2500);
  });

  it('serves stale when the upstream answers SERVFAIL', async () => {
    const { up, state } = await flaky('servfail');
    const s = await server(up.port);
    await primeAndExpire(s, state, 'stale-servfail.example');
    const reply = await udp(s, query('stale-servfail.example', T.A, { opts: [{}] }));
    expect(reply.rcode).toBe(RC.NOERROR);
    expect(reply.records[0]?.ttl).toBe(30);
  });

  it('answers SERVFAIL once the entry is older than max_stale_s, or with serve-stale off', async () => {
    const { up, state } = await flaky();
    const short = await server(up.port, { serve_stale: { enabled: true, max_stale_s: 1 } });
    const off = await server(up.port, { serve_stale: { enabled: false } });
    expect((await udp(short, query('old.example'))).rcode).toBe(RC.NOERROR);
    expect((await udp(off, query('old.example'))).rcode).toBe(RC.NOERROR);
    state.up = false;
    await sleep(2300); // TTL 1 s + max_stale_s 1 s
    expect((await udp(short, query('old.example'))).rcode).toBe(RC.SERVFAIL);
    expect((await udp(off, query('old.example'))).rcode).toBe(RC.SERVFAIL);
  });
});

describe('0x20 case randomisation (upstream_0x20: true)', () => {
  it('randomises the case of upstream questions and still echoes the client case', async () => {
    const up = await stub(defaultHandler);
    const s = await server(up.port, { upstream_0x20: true });
    const upper: number[] = [];
    for (let i = 0; i < 8; i++) {
      const name = `abcdefghijklmnopqrstuvwxyz${i}.example`;
      const q = query(name);
      const reply = await udp(s, q);
      expect(reply.rcode).toBe(RC.NOERROR);
      expect(reply.question.equals(q.subarray(12))).toBe(true);
      const sent = up.received.at(-1)?.raw.subarray(12, q.length).toString('latin1') ?? '';
      expect(sent.toLowerCase()).toBe(q.subarray(12).toString('latin1').toLowerCase());
      upper.push([...sent].filter((c) => c >= 'A' && c <= 'Z').length);
    }
    expect(upper.filter((n) => n > 0).length).toBeGreaterThanOrEqual(7);
  });

  it('rejects a reply that does not echo the case exactly', async () => {
    const lowering = await stub((q) => {
      const reply = Buffer.from(encodeReply(q.raw, { answers: [rr.a(q.qname, '192.0.2.20')] }, q.transport === 'udp'));
      for (let i = 12; i < 12 + q.qname.length + 2; i++) {
        const c = reply[i] as number;
        if (c >= 0x41 && c <= 0x5a) reply[i] = c + 32;
      }
      return [reply];
    });
    const s = await server(lowering.port, { upstream_0x20: true, serve_stale: { enabled: false } });
    const reply = await udp(s, query('abcdefghijklmnopqrstuvwxyz.example'));
    expect(reply.rcode).toBe(RC.SERVFAIL);
    expect(await metric(s, 'dnsward_upstream_mismatched_total')).toBeGreaterThan(0);
  });
});
