import { describe, expect, it } from 'vitest';
import { RCODE } from '../../../../src/dns/constants.ts';
import type { QueryContext } from '../../../../src/pipeline/context.ts';
import { anyStage } from '../../../../src/pipeline/stages/any.ts';
import { contextFor, nextSpy, recordingReplier, testPolicy } from '../helpers.ts';

describe('any stage', () => {
  it('answers ANY with one HINFO "RFC8482" (RFC 8482) by default', () => {
    const reply = recordingReplier();
    const next = nextSpy<[QueryContext]>();
    anyStage({ reply }, next)(contextFor({ name: 'example.org', type: 255 }));
    expect(next.calls).toHaveLength(0);
    expect(reply.replies[0]?.outcome).toBe('answered');
    expect(reply.replies[0]?.spec?.answer?.type).toBe(13);
    expect(reply.replies[0]?.spec?.answer?.rdata.toString('latin1')).toContain('RFC8482');
  });

  it('refuses ANY when the policy says refuse', () => {
    const reply = recordingReplier();
    anyStage({ reply }, nextSpy<[QueryContext]>())(contextFor({ name: 'example.org', type: 255 }, '10.10.0.1', testPolicy({ dns: { allow: ['10.0.0.0/8'], any: 'refuse' } })));
    expect(reply.replies.map((r) => [r.spec?.rcode, r.outcome])).toEqual([[RCODE.REFUSED, 'refused']]);
  });

  it('passes every other type on', () => {
    const next = nextSpy<[QueryContext]>();
    const stage = anyStage({ reply: recordingReplier() }, next);
    for (const type of [1, 28, 65, 16]) stage(contextFor({ name: 'example.org', type }));
    expect(next.calls).toHaveLength(4);
  });
});
