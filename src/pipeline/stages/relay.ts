// Response stage relay (always last): the answer as bytes for this client. Only the ID, the
// question's case and the TTLs (aged, or 30 s for stale answers with EDE 3/19) are patched,
// and the OPT is dropped for clients that sent none (src/dns/answer-render.ts).
import { renderAnswerInto, renderStale } from '../../dns/answer-render.ts';
import { EDE, RCODE } from '../../dns/constants.ts';
import type { ResponseHandler } from '../context.ts';
import { ANSWER_SCRATCH, type Replier } from '../reply.ts';

export function relayStage(deps: { reply: Replier }, _next: ResponseHandler): ResponseHandler {
  const { reply } = deps;
  return (ctx, answer, scan, ageSeconds, source) => {
    const q = ctx.q;
    const hasEdns = q.edns !== undefined;
    if (source === 'stale') {
      const ede = scan.rcode === RCODE.NXDOMAIN ? EDE.STALE_NXDOMAIN : EDE.STALE_ANSWER;
      reply.send(ctx, renderStale(answer, scan, ctx.query, q.id, q.questionEnd, hasEdns, ede), 'stale');
      return;
    }
    // A stored answer is one DNS message, so it fits the scratch.
    const length = renderAnswerInto(ANSWER_SCRATCH, answer, scan, ctx.query, q.id, q.questionEnd, hasEdns, ageSeconds);
    reply.sendScratch(ctx, ANSWER_SCRATCH, length, ctx.logMatch === undefined ? source : 'logged');
  };
}
