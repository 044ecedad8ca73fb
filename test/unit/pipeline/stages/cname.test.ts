import { describe, expect, it } from 'vitest';
import type { AnswerScan } from '../../../../src/dns/answer-scan.ts';
import { HEADER_SIZE } from '../../../../src/dns/constants.ts';
import type { AnswerSource, QueryContext } from '../../../../src/pipeline/context.ts';
import { cnameStage } from '../../../../src/pipeline/stages/cname.ts';
import { contextFor, nextSpy, recordingVerdicts } from '../helpers.ts';
import { aRecord, cnameInto, upstreamAnswer } from './answers.ts';

type Args = [QueryContext, Buffer, AnswerScan, number, AnswerSource];

describe('cname stage (CNAME cloaking)', () => {
  it('blocks an answer whose chain enters a listed domain, on a blocking segment', () => {
    const verdicts = recordingVerdicts();
    const next = nextSpy<Args>();
    const ctx = contextFor({ name: 'cloaked.example.org' }, '10.10.0.1');
    const { buf, scan } = upstreamAnswer(ctx, cnameInto(ctx, 'edge.tiktokcdn.com'));
    cnameStage({ verdicts }, next)(ctx, buf, scan, 0, 'forwarded');
    expect(next.calls).toHaveLength(0);
    expect(verdicts.verdicts).toEqual([{ kind: 'block', rule: 'cname:tiktokcdn.com', list: 'tiktok', response: 'nxdomain', soaOwnerOffset: HEADER_SIZE }]);
  });

  it('records once and relays on a log-only segment; not again when the name was already logged', () => {
    const verdicts = recordingVerdicts();
    const next = nextSpy<Args>();
    const stage = cnameStage({ verdicts }, next);
    const ctx = contextFor({ name: 'cloaked.example.org' }, '10.20.0.1');
    const { buf, scan } = upstreamAnswer(ctx, cnameInto(ctx, 'edge.tiktokcdn.com'));
    stage(ctx, buf, scan, 0, 'cached');
    expect(ctx.logMatch?.rule).toBe('tiktokcdn.com');
    stage(ctx, buf, scan, 0, 'cached');
    expect(verdicts.verdicts).toEqual([{ kind: 'record', rule: 'cname:tiktokcdn.com', list: 'tiktok', action: 'logged', response: 'answer' }]);
    expect(next.calls).toHaveLength(2);
  });

  it('relays answers without listed CNAMEs, for allowlisted names, and on allow segments', () => {
    const verdicts = recordingVerdicts();
    const next = nextSpy<Args>();
    const stage = cnameStage({ verdicts }, next);
    const plain = contextFor({ name: 'example.org' }, '10.10.0.1');
    const p = upstreamAnswer(plain, aRecord(plain));
    stage(plain, p.buf, p.scan, 0, 'forwarded');
    const allowlisted = contextFor({ name: 'ads.tiktok.com' }, '10.10.0.1');
    const a = upstreamAnswer(allowlisted, cnameInto(allowlisted, 'edge.tiktokcdn.com'));
    stage(allowlisted, a.buf, a.scan, 0, 'forwarded');
    const lab = contextFor({ name: 'cloaked.example.org' }, '10.30.0.1');
    const l = upstreamAnswer(lab, cnameInto(lab, 'edge.tiktokcdn.com'));
    stage(lab, l.buf, l.scan, 0, 'forwarded');
    expect(verdicts.verdicts).toHaveLength(0);
    expect(next.calls).toHaveLength(3);
  });
});
