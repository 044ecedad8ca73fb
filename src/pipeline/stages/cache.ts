// Stage cache: a stored upstream answer goes to the response side (which inspects it per
// the client's segment and relays it with TTLs aged); a miss goes on to the forwarder.
import type { AnswerCache } from '../../resolver/answer-cache.ts';
import type { Handler, ResponseHandler } from '../context.ts';

export function cacheStage(deps: { cache: AnswerCache; respond: ResponseHandler }, next: Handler): Handler {
  const { cache, respond } = deps;
  return (ctx) => {
    const entry = cache.get(ctx.q.cacheKey, ctx.receivedAt);
    if (entry === undefined) return next(ctx);
    respond(ctx, entry.buf, entry.scan, Math.floor((ctx.receivedAt - entry.storedAt) / 1000), 'cached');
  };
}
