import { describe, expect, it } from 'vitest';
import { RCODE } from '../../../../src/dns/constants.ts';
import type { QueryContext } from '../../../../src/pipeline/context.ts';
import { qclassStage } from '../../../../src/pipeline/stages/qclass.ts';
import { contextFor, nextSpy, recordingReplier } from '../helpers.ts';

function withClass(ctx: QueryContext, qclass: number): QueryContext {
  return { ...ctx, q: { ...ctx.q, qclass } };
}

describe('qclass stage', () => {
  it('passes class IN on', () => {
    const reply = recordingReplier();
    const next = nextSpy<[QueryContext]>();
    qclassStage({ reply }, next)(contextFor({ name: 'example.org' }));
    expect(next.calls).toHaveLength(1);
    expect(reply.replies).toHaveLength(0);
  });

  it.each([3, 4, 254, 255])('refuses class %i without forwarding', (qclass) => {
    const reply = recordingReplier();
    const next = nextSpy<[QueryContext]>();
    qclassStage({ reply }, next)(withClass(contextFor({ name: 'version.bind' }), qclass));
    expect(next.calls).toHaveLength(0);
    expect(reply.replies.map((r) => [r.spec?.rcode, r.outcome])).toEqual([[RCODE.REFUSED, 'refused']]);
  });
});
