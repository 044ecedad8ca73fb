// Stage cache: answer from a stored upstream answer, TTLs aged, ID and question patched.
import type { ResolverCore } from '../../resolver/core.ts';
import type { Handler, QueryContext } from '../context.ts';

export function cacheStage(core: ResolverCore, next: Handler): Handler {
  return (ctx: QueryContext) => {
    const entry = core.cache.get(ctx.q.cacheKey, ctx.receivedAt);
    if (entry === undefined) return next(ctx);
    core.answerFromUpstream(ctx, entry.buf, entry.scan, Math.floor((ctx.receivedAt - entry.storedAt) / 1000), 'cached');
  };
}
