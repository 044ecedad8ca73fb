import { describe, expect, it } from 'vitest';
import { EDE, RCODE } from '../../../../src/dns/constants.ts';
import type { QueryContext } from '../../../../src/pipeline/context.ts';
import { aclStage } from '../../../../src/pipeline/stages/acl.ts';
import { contextFor, nextSpy, recordingReplier } from '../helpers.ts';

describe('acl stage', () => {
  it('refuses a client outside dns.allow with EDE 18 and goes no further', () => {
    const reply = recordingReplier();
    const next = nextSpy<[QueryContext]>();
    aclStage({ reply }, next)(contextFor({ name: 'example.org' }, '192.0.2.1'));
    expect(next.calls).toHaveLength(0);
    expect(reply.replies).toHaveLength(1);
    expect(reply.replies[0]?.outcome).toBe('refused');
    expect(reply.replies[0]?.spec?.rcode).toBe(RCODE.REFUSED);
    expect(reply.replies[0]?.spec?.ede?.code).toBe(EDE.PROHIBITED);
  });

  it('passes an allowed client on without answering', () => {
    const reply = recordingReplier();
    const next = nextSpy<[QueryContext]>();
    aclStage({ reply }, next)(contextFor({ name: 'example.org' }, '10.10.0.1'));
    expect(next.calls).toHaveLength(1);
    expect(reply.replies).toHaveLength(0);
  });
});
