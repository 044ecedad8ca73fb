// Stage qclass: only class IN is resolved. CHAOS (version.bind, hostname.bind) and the
// rest get REFUSED and are never forwarded, so nothing about the upstream leaks.
import { CLASS_IN, RCODE } from '../../dns/constants.ts';
import type { ResolverCore } from '../../resolver/core.ts';
import type { Handler, QueryContext } from '../context.ts';

export function qclassStage(core: ResolverCore, next: Handler): Handler {
  return (ctx: QueryContext) => {
    if (ctx.q.qclass === CLASS_IN) return next(ctx);
    core.respondSynth(ctx, { rcode: RCODE.REFUSED }, 'refused');
  };
}
