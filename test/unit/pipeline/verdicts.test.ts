import { describe, expect, it } from 'vitest';
import type { Decision, DecisionSink } from '../../../src/audit/types.ts';
import { EDE, RCODE } from '../../../src/dns/constants.ts';
import { createVerdicts } from '../../../src/pipeline/verdicts.ts';
import { contextFor, recordingReplier } from './helpers.ts';

function sink(): DecisionSink & { decisions: Decision[] } {
  const decisions: Decision[] = [];
  return { decisions, record: (d) => void decisions.push(d), flush: async () => undefined, close: async () => undefined };
}

const match = { rule: 'tiktok.com', list: { name: 'tiktok', version: 'v1' } };

describe('verdicts', () => {
  it.each([
    ['nxdomain', RCODE.NXDOMAIN, undefined],
    ['null', RCODE.NOERROR, true],
    ['refused', RCODE.REFUSED, undefined],
  ] as const)('blocks with block_response %s, EDE 15 naming segment and list, and records it', (response, rcode, nullAddress) => {
    const reply = recordingReplier();
    const decisions = sink();
    const ctx = contextFor({ name: 'www.tiktok.com', type: 1 }, '10.10.0.1');
    createVerdicts({ reply, decisions }).block(ctx, match, 'tiktok.com', response, 16);
    const sent = reply.replies[0];
    expect(sent?.outcome).toBe('blocked');
    expect(sent?.spec?.rcode).toBe(rcode);
    expect(sent?.spec?.nullAddress).toBe(nullAddress);
    expect(sent?.spec?.ede?.code).toBe(EDE.BLOCKED);
    expect(sent?.spec?.ede?.text.toString()).toBe('blocked by dnsward: segment service, list tiktok');
    expect(decisions.decisions).toEqual([
      { ts: ctx.receivedAt, segment: 'service', client: '10.10.0.1', pseudonymize: false, qname: 'www.tiktok.com', qtype: 1, action: 'blocked', list: 'tiktok', rule: 'tiktok.com', listVersion: 'v1', response, transport: 'udp' },
    ]);
  });

  it('records a log-only decision without answering', () => {
    const reply = recordingReplier();
    const decisions = sink();
    const ctx = contextFor({ name: 'www.tiktok.com' }, '10.20.0.1');
    createVerdicts({ reply, decisions }).record(ctx, match, 'cname:tiktok.com', 'logged', 'answer');
    expect(reply.replies).toHaveLength(0);
    expect(decisions.decisions[0]).toMatchObject({ segment: 'personal', action: 'logged', rule: 'cname:tiktok.com', response: 'answer' });
  });

  it('uses a generic EDE text for lists the segment does not name (bypass canaries)', () => {
    const reply = recordingReplier();
    createVerdicts({ reply, decisions: sink() }).block(contextFor({ name: 'mask.icloud.com' }), { rule: 'mask.icloud.com', list: { name: 'bypass-prevention', version: 'b' } }, 'mask.icloud.com', 'nxdomain', 12);
    expect(reply.replies[0]?.spec?.ede?.text.toString()).toBe('blocked by dnsward');
  });
});
