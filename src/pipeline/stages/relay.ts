// Response stage relay (always last): the answer as bytes for this client. Only the ID, the
// question's case and the TTLs (aged, or 30 s for stale answers with EDE 3/19) are patched,
// and the OPT is dropped for clients that sent none (src/dns/answer-render.ts).
import { renderAnswer, renderAnswerInto, renderedLength, renderStale } from '../../dns/answer-render.ts';
import { EDE, RCODE } from '../../dns/constants.ts';
import type { ResponseHandler } from '../context.ts';
import type { Replier } from '../reply.ts';

/**
 * Where answers are rendered before the listener copies them: a Buffer per answer was a
 * third of what a cached answer still allocated (young-generation GC pauses set the p99).
 * Any DNS message fits; relaying never nests, so one serves every answer.
 */
const SCRATCH = Buffer.allocUnsafeSlow(65_535);

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
    const outcome = ctx.logMatch === undefined ? source : 'logged';
    if (renderedLength(answer, scan, hasEdns) > SCRATCH.length) {
      reply.send(ctx, renderAnswer(answer, scan, ctx.query, q.id, q.questionEnd, hasEdns, ageSeconds), outcome);
      return;
    }
    reply.sendScratch(ctx, SCRATCH, renderAnswerInto(SCRATCH, answer, scan, ctx.query, q.id, q.questionEnd, hasEdns, ageSeconds), outcome);
  };
}
