import { describe, expect, it } from 'vitest';
import type { QueryContext } from '../../../../src/pipeline/context.ts';
import { policyStage, ruleOffset } from '../../../../src/pipeline/stages/policy.ts';
import { contextFor, nextSpy, recordingVerdicts } from '../helpers.ts';

describe('policy stage', () => {
  it('blocks a listed name and its subdomains on a blocking segment, SOA owned by the listed suffix', () => {
    const verdicts = recordingVerdicts();
    const next = nextSpy<[QueryContext]>();
    const stage = policyStage({ verdicts }, next);
    const ctx = contextFor({ name: 'Www.TikTok.com' }, '10.10.0.1');
    stage(ctx);
    expect(next.calls).toHaveLength(0);
    // "www" is 3 octets: the header (12), its length byte, 3 octets → tiktok.com starts at 16.
    expect(verdicts.verdicts).toEqual([{ kind: 'block', rule: 'tiktok.com', list: 'tiktok', response: 'nxdomain', soaOwnerOffset: 16 }]);
  });

  it('records a log-only decision, marks the query and carries on', () => {
    const verdicts = recordingVerdicts();
    const next = nextSpy<[QueryContext]>();
    const ctx = contextFor({ name: 'v16.tiktokcdn.com' }, '10.20.0.1');
    policyStage({ verdicts }, next)(ctx);
    expect(next.calls).toHaveLength(1);
    expect(ctx.logMatch?.rule).toBe('tiktokcdn.com');
    expect(verdicts.verdicts).toEqual([{ kind: 'record', rule: 'tiktokcdn.com', list: 'tiktok', action: 'logged', response: 'answer' }]);
  });

  it('lets the allowlist beat the list (with its subdomains)', () => {
    const verdicts = recordingVerdicts();
    const next = nextSpy<[QueryContext]>();
    const stage = policyStage({ verdicts }, next);
    stage(contextFor({ name: 'ads.tiktok.com' }, '10.10.0.1'));
    stage(contextFor({ name: 'x.ads.tiktok.com' }, '10.10.0.1'));
    expect(next.calls).toHaveLength(2);
    expect(verdicts.verdicts).toHaveLength(0);
  });

  it('passes unlisted names, lookalikes and allow segments', () => {
    const verdicts = recordingVerdicts();
    const next = nextSpy<[QueryContext]>();
    const stage = policyStage({ verdicts }, next);
    stage(contextFor({ name: 'example.org' }, '10.10.0.1'));
    stage(contextFor({ name: 'nottiktok.com' }, '10.10.0.1'));
    stage(contextFor({ name: 'www.tiktok.com' }, '10.30.0.1'));
    expect(next.calls).toHaveLength(3);
    expect(verdicts.verdicts).toHaveLength(0);
  });
});

describe('ruleOffset', () => {
  it('points at the listed suffix inside the question, or at the qname when the rule is the qname', () => {
    expect(ruleOffset(contextFor({ name: 'a.bb.tiktok.com' }), 'tiktok.com')).toBe(12 + 2 + 3);
    expect(ruleOffset(contextFor({ name: 'tiktok.com' }), 'tiktok.com')).toBe(12);
  });
});
