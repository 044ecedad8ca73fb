import { describe, expect, it } from 'vitest';
import { HEADER_SIZE } from '../../../../src/dns/constants.ts';
import type { QueryContext } from '../../../../src/pipeline/context.ts';
import { bypassStage } from '../../../../src/pipeline/stages/bypass.ts';
import { contextFor, nextSpy, recordingVerdicts, testPolicy } from '../helpers.ts';

describe('bypass stage', () => {
  it.each(['use-application-dns.net', 'mask.icloud.com', 'mask-h2.icloud.com'])('blocks the canary %s with NXDOMAIN on a blocking segment', (name) => {
    const verdicts = recordingVerdicts();
    const next = nextSpy<[QueryContext]>();
    bypassStage({ verdicts }, next)(contextFor({ name }, '10.10.0.1'));
    expect(next.calls).toHaveLength(0);
    expect(verdicts.verdicts).toEqual([{ kind: 'block', rule: name, list: 'bypass-prevention', response: 'nxdomain', soaOwnerOffset: HEADER_SIZE }]);
  });

  it('ignores canaries on log-only and allow segments', () => {
    const verdicts = recordingVerdicts();
    const next = nextSpy<[QueryContext]>();
    const stage = bypassStage({ verdicts }, next);
    stage(contextFor({ name: 'use-application-dns.net' }, '10.20.0.1'));
    stage(contextFor({ name: 'use-application-dns.net' }, '10.30.0.1'));
    expect(next.calls).toHaveLength(2);
    expect(verdicts.verdicts).toHaveLength(0);
  });

  it('ignores canaries when the segment turned bypass_prevention off', () => {
    const policy = testPolicy({ segments: [{ name: 'service', networks: ['10.10.0.0/16'], action: 'block', lists: ['tiktok'], bypass_prevention: false }] });
    const verdicts = recordingVerdicts();
    const next = nextSpy<[QueryContext]>();
    bypassStage({ verdicts }, next)(contextFor({ name: 'mask.icloud.com' }, '10.10.0.1', policy));
    expect(next.calls).toHaveLength(1);
    expect(verdicts.verdicts).toHaveLength(0);
  });

  it('does not block names under a canary', () => {
    const verdicts = recordingVerdicts();
    const next = nextSpy<[QueryContext]>();
    bypassStage({ verdicts }, next)(contextFor({ name: 'x.use-application-dns.net' }, '10.10.0.1'));
    expect(next.calls).toHaveLength(1);
  });
});
