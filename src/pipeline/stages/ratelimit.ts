// Stage ratelimit: a client (prefix) over its UDP query rate gets TC=1 ("slip": a real
// client retries over TCP, which a spoofed source cannot) or nothing ("drop").
// TCP is not limited here: it cannot be spoofed and has its own connection caps.
import { RCODE } from '../../dns/constants.ts';
import type { ResolverCore } from '../../resolver/core.ts';
import type { Handler, QueryContext } from '../context.ts';

export function rateLimitStage(core: ResolverCore, next: Handler): Handler {
  const limiter = core.rateLimiter;
  return (ctx: QueryContext) => {
    if (ctx.bucket === undefined || ctx.transport !== 'udp' || limiter.take(ctx.bucket, ctx.receivedAt)) return next(ctx);
    if (limiter.action === 'slip') core.respondSynth(ctx, { rcode: RCODE.NOERROR, truncated: true }, 'ratelimited');
    else core.drop(ctx, 'ratelimited');
  };
}
