import { describe, expect, it } from 'vitest';
import type { AnswerScan } from '../../../../src/dns/answer-scan.ts';
import { HEADER_SIZE } from '../../../../src/dns/constants.ts';
import type { AnswerSource, QueryContext } from '../../../../src/pipeline/context.ts';
import { responseIpStage } from '../../../../src/pipeline/stages/response-ip.ts';
import { rr } from '../../../helpers/stub-upstream.ts';
import { contextFor, nextSpy, recordingVerdicts, testPolicy } from '../helpers.ts';
import { upstreamAnswer } from './answers.ts';

type Args = [QueryContext, Buffer, AnswerScan, number, AnswerSource];

/** service and personal both name the network list too. */
const policy = testPolicy({
  segments: [
    { name: 'service', networks: ['10.10.0.0/16'], action: 'block', lists: ['tiktok', 'bd-networks'], allowlist: ['ok.example'] },
    { name: 'personal', networks: ['10.20.0.0/16'], action: 'log', lists: ['tiktok', 'bd-networks'] },
    { name: 'plain', networks: ['10.40.0.0/16'], action: 'block', lists: ['tiktok'] },
  ],
});

function run(name: string, client: string, answers: ReturnType<typeof rr.a>[], type = 1) {
  const verdicts = recordingVerdicts();
  const next = nextSpy<Args>();
  const ctx = contextFor({ name, type }, client, policy);
  const { buf, scan } = upstreamAnswer(ctx, { answers });
  responseIpStage({ verdicts }, next)(ctx, buf, scan, 0, 'forwarded');
  return { verdicts: verdicts.verdicts, passed: next.calls.length, ctx };
}

const aaaa = (name: string, hex: string) => rr.raw(name, 28, Buffer.from(hex, 'hex'));

describe('response-ip stage', () => {
  it('blocks an unlisted name whose A record is in a listed network, on a blocking segment', () => {
    const r = run('new-app.example', '10.10.0.1', [rr.a('new-app.example', '101.45.3.4')]);
    expect(r.passed).toBe(0);
    expect(r.verdicts).toEqual([{ kind: 'block', rule: 'ip:101.45.0.0/16', list: 'bd-networks', response: 'nxdomain', soaOwnerOffset: HEADER_SIZE }]);
  });

  it('looks at AAAA records and at any record of a CNAME chain', () => {
    expect(run('v6.example', '10.10.0.1', [aaaa('v6.example', '2402e7c0000100000000000000000001')], 28).verdicts[0]?.rule).toBe('ip:2402:e7c0::/32');
    expect(run('chain.example', '10.10.0.1', [rr.cname('chain.example', 'edge.example'), rr.a('edge.example', '101.45.9.9')]).verdicts[0]?.rule).toBe('ip:101.45.0.0/16');
  });

  it('records once and passes the answer on a log-only segment', () => {
    const r = run('new-app.example', '10.20.0.1', [rr.a('new-app.example', '101.45.3.4')]);
    expect(r.passed).toBe(1);
    expect(r.ctx.logMatch?.rule).toBe('ip:101.45.0.0/16');
    expect(r.verdicts).toEqual([{ kind: 'record', rule: 'ip:101.45.0.0/16', list: 'bd-networks', action: 'logged', response: 'answer' }]);
  });

  it('passes addresses outside the networks, segments without network lists, allow segments and allowlisted names', () => {
    expect(run('elsewhere.example', '10.10.0.1', [rr.a('elsewhere.example', '192.0.2.1')])).toMatchObject({ passed: 1, verdicts: [] });
    expect(run('new-app.example', '10.40.0.1', [rr.a('new-app.example', '101.45.3.4')])).toMatchObject({ passed: 1, verdicts: [] });
    expect(run('new-app.example', '10.30.0.1', [rr.a('new-app.example', '101.45.3.4')])).toMatchObject({ passed: 1, verdicts: [] });
    expect(run('www.ok.example', '10.10.0.1', [rr.a('www.ok.example', '101.45.3.4')])).toMatchObject({ passed: 1, verdicts: [] });
  });

  it('leaves a query already logged by name alone (one decision per query)', () => {
    const verdicts = recordingVerdicts();
    const next = nextSpy<Args>();
    const ctx = contextFor({ name: 'www.tiktok.com' }, '10.20.0.1', policy);
    ctx.logMatch = { rule: 'tiktok.com', list: { name: 'tiktok', version: 'v1' } };
    const { buf, scan } = upstreamAnswer(ctx, { answers: [rr.a('www.tiktok.com', '101.45.3.4')] });
    responseIpStage({ verdicts }, next)(ctx, buf, scan, 0, 'cached');
    expect(verdicts.verdicts).toEqual([]);
    expect(next.calls).toHaveLength(1);
  });
});
