// The Resolver's front door, driven with real messages and a recording responder: rate
// limiting before parsing, rejected messages, BADVERS, the policy swap, and internal errors.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Decision, DecisionSink } from '../../../src/audit/types.ts';
import { RCODE } from '../../../src/dns/constants.ts';
import type { QueryContext, Responder } from '../../../src/pipeline/context.ts';
import { QueryCounters } from '../../../src/pipeline/counters.ts';
import { Resolver } from '../../../src/resolver/resolver.ts';
import { buildQuery, decode } from '../../helpers/dns-client.ts';
import { testPolicy } from '../pipeline/helpers.ts';
import { parseUpstream, type UpstreamTarget } from '../../../src/config/upstreams.ts';

function recorder(): Responder & { sent: Buffer[]; dropped: number } {
  const r = { sent: [] as Buffer[], dropped: 0, send: (_ctx: QueryContext, response: Buffer) => void r.sent.push(response), noReply: () => void r.dropped++ };
  return r;
}

function sink(onRecord: (d: Decision) => void = () => undefined): DecisionSink {
  return { record: onRecord, flush: async () => undefined, close: async () => undefined };
}

const OPTIONS = { queryTimeoutMs: 500, upstreamTimeoutMs: 200, upstreamSockets: 1, maxInflight: 10, use0x20: false, serveStale: false, staleAfterMs: 1800, cacheSize: 10, maxStaleSeconds: 0 };

let resolvers: Resolver[] = [];
afterEach(async () => {
  for (const r of resolvers) await r.stop();
  resolvers = [];
});

/** The counters must be the ones the policy's segments count into (as src/app.ts wires them). */
async function resolver(counters = new QueryCounters(), policy = testPolicy({}, counters), decisions = sink()): Promise<{ resolver: Resolver; counters: QueryCounters }> {
  // An upstream nobody answers on: these tests never reach it.
  const r = new Resolver({ upstreams: [parseUpstream('127.0.0.1:9') as UpstreamTarget], decisions, logger: pino({ level: 'silent' }), counters }, OPTIONS, policy);
  await r.start();
  resolvers.push(r);
  return { resolver: r, counters };
}

describe('Resolver.handleMessage', () => {
  it('blocks a listed name for a client of a blocking segment', async () => {
    const { resolver: r } = await resolver();
    const out = recorder();
    r.handleMessage(buildQuery({ name: 'www.tiktok.com', id: 9 }), '10.10.0.1', 'udp', out, '10.10.0.1', 5353);
    expect(decode(out.sent[0] as Buffer).rcode).toBe(RCODE.NXDOMAIN);
    expect(r.stats().queries).toContainEqual({ segment: 'service', outcome: 'blocked', transport: 'udp', count: 1 });
  });

  it("dates a query by the time its listener gives (one read for a batch), else by the clock", async () => {
    const decided: Decision[] = [];
    const { resolver: r } = await resolver(undefined, undefined, sink((d) => decided.push(d)));
    const out = recorder();
    const batchRead = Date.UTC(2026, 11, 6, 3, 0, 0, 123);
    r.handleMessage(buildQuery({ name: 'www.tiktok.com', id: 1 }), '10.10.0.1', 'udp', out, '10.10.0.1', 5353, batchRead);
    const before = Date.now();
    r.handleMessage(buildQuery({ name: 'www.tiktok.com', id: 2 }), '10.10.0.1', 'udp', out, '10.10.0.1', 5353);
    expect(decided.map((d) => d.ts)).toHaveLength(2);
    expect(decided[0]?.ts).toBe(batchRead);
    expect(decided[1]?.ts).toBeGreaterThanOrEqual(before);
    expect(decided[1]?.ts).toBeLessThanOrEqual(Date.now());
  });

  it('drops datagrams too short to parse, and responses, counting them', async () => {
    const { resolver: r } = await resolver();
    const out = recorder();
    r.handleMessage(Buffer.alloc(5), '10.10.0.1', 'udp', out, '10.10.0.1', 5353);
    const response = buildQuery({ name: 'example.org' });
    response.writeUInt16BE(0x8100, 2);
    r.handleMessage(response, '10.10.0.1', 'udp', out, '10.10.0.1', 5353);
    expect(out.sent).toHaveLength(0);
    expect(out.dropped).toBe(2);
    expect(r.stats().dropped).toBe(2);
  });

  it('answers an unknown EDNS version with BADVERS', async () => {
    const { resolver: r } = await resolver();
    const out = recorder();
    const query = buildQuery({ name: 'example.org', edns: 1232 });
    query.writeUInt8(1, query.length - 5); // OPT TTL byte 2: version
    r.handleMessage(query, '10.10.0.1', 'udp', out, '10.10.0.1', 5353);
    const reply = out.sent[0] as Buffer;
    // BADVERS = 16: the low 4 bits in the header, the upper 8 in the OPT's extended rcode.
    expect(reply.readUInt16BE(2) & 0xf).toBe(RCODE.BADVERS & 0xf);
  });

  it('rate-limits UDP before parsing: over the burst, garbage costs no FORMERR', async () => {
    const counters = new QueryCounters();
    const { resolver: r } = await resolver(counters, testPolicy({ dns: { allow: ['10.0.0.0/8'], rate_limit: { qps: 1, burst: 2, action: 'drop' } } }, counters));
    const out = recorder();
    for (let i = 0; i < 5; i++) r.handleMessage(Buffer.from('not dns at all'), '10.10.0.1', 'udp', out, '10.10.0.1', 5353);
    expect(out.sent).toHaveLength(2); // two FORMERRs within the burst
    expect(out.dropped).toBe(3);
    expect(r.stats().rateLimited).toBe(3);
  });

  it('runs each query on the policy in force when it arrived; install() swaps it', async () => {
    const { resolver: r } = await resolver();
    const out = recorder();
    const allowAll = testPolicy({ segments: [{ name: 'service', networks: ['10.10.0.0/16'], action: 'allow' }] });
    r.install(allowAll);
    expect(r.currentPolicy).toBe(allowAll);
    expect(r.stats().policyGeneration).toBe(allowAll.generation);
    r.handleMessage(buildQuery({ name: 'www.tiktok.com' }), '10.10.0.1', 'udp', out, '10.10.0.1', 5353);
    // Not blocked: it went to the (silent) upstream instead.
    expect(out.sent).toHaveLength(0);
    expect(r.stats().forwarder.inflight).toBe(1);
  });

  it('answers SERVFAIL and counts an internal error when a stage throws', async () => {
    const { resolver: r } = await resolver(
      undefined,
      undefined,
      sink(() => {
        throw new Error('sink exploded');
      }),
    );
    const out = recorder();
    r.handleMessage(buildQuery({ name: 'www.tiktok.com' }), '10.10.0.1', 'udp', out, '10.10.0.1', 5353);
    expect(out.sent.map((b) => decode(b).rcode)).toContain(RCODE.SERVFAIL);
    expect(r.stats().internalErrors).toBe(1);
  });
});
