// Stage qclass: only class IN is resolved. CHAOS (version.bind, hostname.bind) and the
// rest get REFUSED and are never forwarded, so nothing about the upstream leaks.
import { CLASS_IN, RCODE } from '../../dns/constants.ts';
import type { Handler } from '../context.ts';
import type { Replier } from '../reply.ts';

export function qclassStage(deps: { reply: Replier }, next: Handler): Handler {
  const { reply } = deps;
  return (ctx) => {
    if (ctx.q.qclass === CLASS_IN) return next(ctx);
    reply.synth(ctx, { rcode: RCODE.REFUSED }, 'refused');
  };
}
