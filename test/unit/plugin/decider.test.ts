import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Decision, DecisionSink } from '../../../src/audit/types.ts';
import { EDE, FLAG, RCODE, TYPE } from '../../../src/dns/constants.ts';
import { QueryCounters } from '../../../src/pipeline/counters.ts';
import { createDecider } from '../../../src/plugin/decider.ts';
import { buildQuery, extendedError } from '../../helpers/dns-client.ts';
import { craft, OPCODE, query, T, CLASS } from '../../helpers/packet-craft.ts';
import { encodeReply, rr } from '../../helpers/stub-upstream.ts';
import { testPolicy } from '../pipeline/helpers.ts';

function recordingSink(): DecisionSink & { decisions: Decision[] } {
  const decisions: Decision[] = [];
  return { decisions, record: (d) => void decisions.push(d), flush: async () => undefined, close: async () => undefined };
}

function setup() {
  const sink = recordingSink();
  const counters = new QueryCounters();
  const policy = testPolicy({}, counters);
  const decider = createDecider({ decisions: sink, logger: pino({ level: 'silent' }) });
  return { sink, counters, policy, decider };
}

const rcodeOf = (answer: Buffer): number => answer.readUInt16BE(2) & 0xf;

describe('policy engine decisions (the resolver\'s decision stages)', () => {
  it('blocks a listed name on a blocking segment with the synthesised answer and records it', () => {
    const { sink, policy, decider, counters } = setup();
    const q = buildQuery({ id: 0x4242, name: 'www.TikTok.com', edns: 1232 });
    const verdict = decider.decide(policy, q, '10.10.0.7', 'udp');
    expect(verdict.action).toBe('block');
    if (verdict.action !== 'block') return;
    expect(verdict.segment).toBe('service');
    expect(verdict.answer.readUInt16BE(0)).toBe(0x4242);
    expect(rcodeOf(verdict.answer)).toBe(RCODE.NXDOMAIN);
    // The question is echoed as asked (case included), with EDE 15 naming segment and list.
    expect(verdict.answer.subarray(12, 12 + 16).toString('latin1')).toContain('TikTok');
    expect(extendedError(verdict.answer)).toEqual({ code: EDE.BLOCKED, text: 'blocked by dnsward: segment service, list tiktok' });
    expect(sink.decisions).toEqual([
      expect.objectContaining({ segment: 'service', client: '10.10.0.7', qname: 'www.tiktok.com', action: 'blocked', list: 'tiktok', rule: 'tiktok.com', response: 'nxdomain', transport: 'udp' }),
    ]);
    expect(verdict.decision).toBe(sink.decisions[0]);
    expect(counters.stats()).toEqual([{ segment: 'service', outcome: 'blocked', transport: 'udp', count: 1 }]);
  });

  it('logs a listed name on a log-only segment (resolve as usual), allows elsewhere, and says when answers need checking', () => {
    const { sink, policy, decider } = setup();
    const logged = decider.decide(policy, buildQuery({ name: 'tiktok.com' }), '10.20.0.1', 'tcp');
    expect(logged).toEqual({ action: 'log', segment: 'personal', decision: expect.objectContaining({ action: 'logged', response: 'answer', transport: 'tcp' }) });
    expect(decider.decide(policy, buildQuery({ name: 'example.org' }), '10.10.0.1', 'udp')).toEqual({ action: 'allow', segment: 'service', inspect: true });
    expect(decider.decide(policy, buildQuery({ name: 'ads.tiktok.com' }), '10.10.0.1', 'udp')).toEqual({ action: 'allow', segment: 'service', inspect: true });
    expect(decider.decide(policy, buildQuery({ name: 'tiktok.com' }), '10.30.0.1', 'udp')).toEqual({ action: 'allow', segment: 'lab', inspect: false });
    expect(sink.decisions).toHaveLength(1);
  });

  it('answers what the resolver answers itself: ACL, class, ANY, malformed, opcode, EDNS version; drops responses', () => {
    const { sink, policy, decider } = setup();
    const outside = decider.decide(policy, buildQuery({ name: 'example.org', edns: 1232 }), '192.0.2.9', 'udp');
    expect(outside).toMatchObject({ action: 'answer', outcome: 'refused' });
    if (outside.action === 'answer') expect(extendedError(outside.answer)?.code).toBe(EDE.PROHIBITED);
    expect(decider.decide(policy, query('version.bind', T.TXT, { qclass: CLASS.CH }), '10.30.0.1', 'udp')).toMatchObject({ action: 'answer', outcome: 'refused' });
    expect(decider.decide(policy, query('example.org', T.ANY), '10.30.0.1', 'udp')).toMatchObject({ action: 'answer', outcome: 'answered' });
    const formerr = decider.decide(policy, craft({ questions: [] }), '10.30.0.1', 'udp');
    expect(formerr).toMatchObject({ action: 'answer', outcome: 'formerr' });
    const notimp = decider.decide(policy, craft({ header: { opcode: OPCODE.UPDATE } }), '10.30.0.1', 'udp');
    expect(notimp.action === 'answer' && rcodeOf(notimp.answer)).toBe(RCODE.NOTIMP);
    const badvers = decider.decide(policy, query('example.org', T.A, { opts: [{ version: 1 }] }), '10.30.0.1', 'udp');
    expect(badvers).toMatchObject({ action: 'answer', outcome: 'formerr' });
    expect(decider.decide(policy, craft({ header: { qr: true } }), '10.30.0.1', 'udp')).toEqual({ action: 'drop', reason: 'response' });
    expect(decider.decide(policy, Buffer.alloc(5), '10.30.0.1', 'udp')).toEqual({ action: 'drop', reason: 'short' });
    expect(sink.decisions).toHaveLength(0);
  });

  it('answers the null address or REFUSED per the segment, and says DoH and DoT in the block log', () => {
    const { sink, decider } = setup();
    const policy = testPolicy({
      segments: [
        { name: 'nullseg', networks: ['10.40.0.0/16'], action: 'block', lists: ['tiktok'], block_response: 'null' },
        { name: 'refuseseg', networks: ['10.50.0.0/16'], action: 'block', lists: ['tiktok'], block_response: 'refused' },
      ],
    });
    const nulled = decider.decide(policy, buildQuery({ name: 'tiktok.com', type: TYPE.AAAA }), '10.40.0.1', 'doh');
    expect(nulled.action === 'block' && nulled.answer.subarray(-16)).toEqual(Buffer.alloc(16));
    const refused = decider.decide(policy, buildQuery({ name: 'tiktok.com' }), '10.50.0.1', 'dot');
    expect(refused.action === 'block' && rcodeOf(refused.answer)).toBe(RCODE.REFUSED);
    expect(sink.decisions.map((d) => [d.response, d.transport])).toEqual([
      ['null', 'doh'],
      ['refused', 'dot'],
    ]);
  });

  it('leaves the transport out of a decision when the caller does not say it', () => {
    const { sink, policy, decider } = setup();
    decider.decide(policy, buildQuery({ name: 'tiktok.com' }), '10.10.0.1', undefined);
    expect(sink.decisions[0]).not.toHaveProperty('transport');
  });

  it('checks answers: a CNAME into a listed domain is blocked or logged per segment, listed addresses too', () => {
    const { sink, policy, decider } = setup();
    const q = buildQuery({ id: 7, name: 'cloaked.example.org' });
    const cloaked = encodeReply(q, { answers: [rr.cname('cloaked.example.org', 'edge.tiktokcdn.com'), rr.a('edge.tiktokcdn.com', '192.0.2.9')] }, true);
    const blocked = decider.inspect(policy, q, cloaked, '10.10.0.1', 'udp');
    expect(blocked.action).toBe('block');
    if (blocked.action === 'block') {
      expect(blocked.answer.readUInt16BE(0)).toBe(7);
      expect(rcodeOf(blocked.answer)).toBe(RCODE.NXDOMAIN);
      expect(blocked.decision.rule).toBe('cname:tiktokcdn.com');
    }
    expect(decider.inspect(policy, q, cloaked, '10.20.0.1', 'udp')).toMatchObject({ action: 'log', decision: { action: 'logged', rule: 'cname:tiktokcdn.com' } });
    const bytedance = encodeReply(q, { answers: [rr.a('cloaked.example.org', '101.45.3.4')] }, true);
    const withNetworks = testPolicy({ segments: [{ name: 'service', networks: ['10.10.0.0/16'], action: 'block', lists: ['tiktok', 'bd-networks'] }] });
    expect(decider.inspect(withNetworks, q, bytedance, '10.10.0.1', 'udp')).toMatchObject({ action: 'block', decision: { rule: 'ip:101.45.0.0/16' } });
    expect(decider.inspect(policy, q, bytedance, '10.10.0.1', 'udp')).toEqual({ action: 'allow' });
    const plain = encodeReply(q, { answers: [rr.a('cloaked.example.org', '192.0.2.1')] }, true);
    expect(decider.inspect(policy, q, plain, '10.10.0.1', 'udp')).toEqual({ action: 'allow' });
    expect(decider.inspect(policy, q, cloaked, '10.30.0.1', 'udp')).toEqual({ action: 'allow' });
    // Not an answer it can read: the host's to send.
    expect(decider.inspect(policy, q, Buffer.from('garbage'), '10.10.0.1', 'udp')).toEqual({ action: 'allow' });
    expect(sink.decisions.map((d) => d.action)).toEqual(['blocked', 'logged', 'blocked']);
  });

  it('answers SERVFAIL when a stage throws, and keeps deciding afterwards', () => {
    const { decider } = setup();
    const policy = testPolicy();
    const broken = Object.freeze({ ...policy, matcher: { match: () => { throw new Error('broken matcher'); } } }) as unknown as typeof policy;
    const failed = decider.decide(broken, buildQuery({ name: 'tiktok.com' }), '10.10.0.1', 'udp');
    expect(failed).toMatchObject({ action: 'answer', outcome: 'servfail' });
    expect(failed.action === 'answer' && rcodeOf(failed.answer)).toBe(RCODE.SERVFAIL);
    expect(decider.decide(policy, buildQuery({ name: 'tiktok.com' }), '10.10.0.1', 'udp').action).toBe('block');
    // RD is echoed and RA set, as on every answer the resolver synthesises.
    const again = decider.decide(policy, buildQuery({ name: 'tiktok.com' }), '10.10.0.1', 'udp');
    expect(again.action === 'block' && again.answer.readUInt16BE(2) & (FLAG.RD | FLAG.RA)).toBe(FLAG.RD | FLAG.RA);
  });
});
