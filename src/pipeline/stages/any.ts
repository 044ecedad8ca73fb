// Stage any: QTYPE ANY is an amplification favourite. Answer it minimally (RFC 8482: one
// HINFO "RFC8482") or refuse it, per dns.any; never forward it.
import { RCODE, TYPE } from '../../dns/constants.ts';
import type { ResolverCore } from '../../resolver/core.ts';
import type { Handler, QueryContext } from '../context.ts';

const HINFO = 13;
const HINFO_RDATA = Buffer.concat([Buffer.from([7]), Buffer.from('RFC8482', 'ascii'), Buffer.from([0])]);

export function anyStage(core: ResolverCore, next: Handler): Handler {
  const refuse = core.anyPolicy === 'refuse';
  return (ctx: QueryContext) => {
    if (ctx.q.qtype !== TYPE.ANY) return next(ctx);
    if (refuse) core.respondSynth(ctx, { rcode: RCODE.REFUSED }, 'refused');
    else core.respondSynth(ctx, { rcode: RCODE.NOERROR, answer: { type: HINFO, ttl: 3600, rdata: HINFO_RDATA } }, 'answered');
  };
}
