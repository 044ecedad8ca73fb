// Real upstream answers (encoded as the stub upstream does, scanned as the forwarder does).
import { type AnswerScan, scanAnswer } from '../../../../src/dns/answer-scan.ts';
import type { QueryContext } from '../../../../src/pipeline/context.ts';
import { encodeReply, rr, type StubReply } from '../../../helpers/stub-upstream.ts';

export function upstreamAnswer(ctx: QueryContext, reply: StubReply): { buf: Buffer; scan: AnswerScan } {
  const buf = encodeReply(ctx.query, reply, true);
  const scan = scanAnswer(buf, ctx.q.questionEnd);
  if (scan === undefined) throw new Error('test answer does not scan');
  return { buf, scan };
}

export const aRecord = (ctx: QueryContext): StubReply => ({ answers: [rr.a(ctx.q.qname, '192.0.2.1')] });
export const cnameInto = (ctx: QueryContext, target: string): StubReply => ({ answers: [rr.cname(ctx.q.qname, target), rr.a(target, '192.0.2.9')] });
