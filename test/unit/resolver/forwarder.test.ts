// The Forwarder against a real stub upstream on loopback; the reply and the response side
// are recording fakes.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnswerScan } from '../../../src/dns/answer-scan.ts';
import { RCODE } from '../../../src/dns/constants.ts';
import type { AnswerSource, QueryContext } from '../../../src/pipeline/context.ts';
import { AnswerCache } from '../../../src/resolver/answer-cache.ts';
import { Forwarder, type ForwarderOptions } from '../../../src/resolver/forwarder.ts';
import { encodeReply, rr, StubUpstream } from '../../helpers/stub-upstream.ts';
import { contextFor, recordingReplier } from '../pipeline/helpers.ts';
import { parseUpstream, type UpstreamTarget } from '../../../src/config/upstreams.ts';

const OPTIONS: ForwarderOptions = { queryTimeoutMs: 800, upstreamTimeoutMs: 300, upstreamSockets: 2, maxInflight: 2, use0x20: false, serveStale: true, staleAfterMs: 5000 };

interface Relayed {
  ctx: QueryContext;
  answer: Buffer;
  scan: AnswerScan;
  source: AnswerSource;
}

async function setup(handlerDelayMs = 0) {
  const upstream = new StubUpstream();
  upstream.handler = (q) => {
    setTimeout(() => upstream.sendRaw(encodeReply(q.raw, { answers: [rr.a(q.qname, '192.0.2.1', 60)] }, true), q.port), handlerDelayMs);
    return 'drop';
  };
  await upstream.start();
  const cache = new AnswerCache(100, 86_400, 3600);
  const reply = recordingReplier();
  const relayed: Relayed[] = [];
  const forwarder = new Forwarder(
    { upstreams: [parseUpstream(`127.0.0.1:${upstream.port}`) as UpstreamTarget], cache, reply, respond: (ctx, answer, scan, _age, source) => void relayed.push({ ctx, answer, scan, source }), logger: pino({ level: 'silent' }) },
    OPTIONS,
  );
  await forwarder.start();
  return { upstream, cache, reply, relayed, forwarder };
}

const until = async (check: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
};

let stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops) await stop();
  stops = [];
});

describe('Forwarder', () => {
  it('asks the upstream once for identical questions in flight, caches the answer and relays it to each waiter', async () => {
    const t = await setup(30);
    stops.push(() => t.forwarder.stop(), () => t.upstream.stop());
    const now = Date.now();
    const a = { ...contextFor({ name: 'example.org', id: 1 }), receivedAt: now };
    const b = { ...contextFor({ name: 'example.org', id: 2 }), receivedAt: now };
    t.forwarder.forward(a);
    t.forwarder.forward(b);
    await until(() => t.relayed.length === 2);
    expect(t.upstream.count('example.org')).toBe(1);
    expect(t.relayed.map((r) => [r.ctx, r.source])).toEqual([
      [a, 'forwarded'],
      [b, 'forwarded'],
    ]);
    expect(t.cache.get(a.q.cacheKey, Date.now())).toBeDefined();
    expect(t.forwarder.stats()).toMatchObject({ coalesced: 1, inflight: 0, mismatched: 0 });
    expect(t.forwarder.stats().upstreams[0]).toMatchObject({ up: true, sent: 1, answered: 1, timeouts: 0 });
  });

  it('answers SERVFAIL at once beyond max_inflight_upstream distinct questions', async () => {
    const t = await setup(100);
    stops.push(() => t.forwarder.stop(), () => t.upstream.stop());
    const now = Date.now();
    for (const name of ['a.example', 'b.example', 'c.example']) t.forwarder.forward({ ...contextFor({ name }), receivedAt: now });
    expect(t.reply.replies.map((r) => [r.spec?.rcode, r.outcome])).toEqual([[RCODE.SERVFAIL, 'servfail']]);
    await until(() => t.relayed.length === 2);
  });

  it('serves a stale answer when the upstream stops answering, and SERVFAIL when there is none', async () => {
    const t = await setup();
    stops.push(() => t.forwarder.stop(), () => t.upstream.stop());
    const ctx = contextFor({ name: 'example.org' });
    t.forwarder.forward({ ...ctx, receivedAt: Date.now() });
    await until(() => t.relayed.length === 1);
    // Expire it, then silence the upstream.
    const stored = t.cache.get(ctx.q.cacheKey, Date.now());
    t.cache.set(ctx.q.cacheKey, stored?.buf as Buffer, stored?.scan as AnswerScan, Date.now() - 61_000);
    t.upstream.handler = () => 'drop';
    t.forwarder.forward({ ...ctx, receivedAt: Date.now() });
    t.forwarder.forward({ ...contextFor({ name: 'never.example' }), receivedAt: Date.now() });
    await until(() => t.relayed.length === 2 && t.reply.replies.length === 1);
    expect(t.relayed[1]?.source).toBe('stale');
    expect(t.reply.replies[0]?.spec?.rcode).toBe(RCODE.SERVFAIL);
    expect(t.forwarder.stats().upstreams[0]?.timeouts).toBeGreaterThan(0);
  });
});
