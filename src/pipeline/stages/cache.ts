// Stage cache: answer from a stored upstream answer, TTLs aged, ID and question patched.
import { AnswerCache } from '../../resolver/answer-cache.ts';
import type { ResolverCore } from '../../resolver/core.ts';
import type { Handler, QueryContext } from '../context.ts';

export function cacheStage(core: ResolverCore, next: Handler): Handler {
  return (ctx: QueryContext) => {
    const q = ctx.q;
    const key = AnswerCache.key(q.qname, q.qtype, q.qclass, q.edns?.dnssecOk === true);
    const entry = core.cache.get(key, ctx.receivedAt);
    if (entry === undefined) return next(ctx);
    core.answerFromUpstream(ctx, entry.buf, entry.scan, Math.floor((ctx.receivedAt - entry.storedAt) / 1000), 'cached');
  };
}
