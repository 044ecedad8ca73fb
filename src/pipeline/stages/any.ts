// Stage any: QTYPE ANY is an amplification favourite. Answer it minimally (RFC 8482: one
// HINFO "RFC8482") or refuse it, per dns.any; never forward it.
import { RCODE, TYPE } from '../../dns/constants.ts';
import type { Handler } from '../context.ts';
import type { Replier } from '../reply.ts';

const HINFO = 13;
const HINFO_RDATA = Buffer.concat([Buffer.from([7]), Buffer.from('RFC8482', 'ascii'), Buffer.from([0])]);
const HINFO_ANSWER = { type: HINFO, ttl: 3600, rdata: HINFO_RDATA };

export function anyStage(deps: { reply: Replier }, next: Handler): Handler {
  const { reply } = deps;
  return (ctx) => {
    if (ctx.q.qtype !== TYPE.ANY) return next(ctx);
    if (ctx.policy.anyPolicy === 'refuse') reply.synth(ctx, { rcode: RCODE.REFUSED }, 'refused');
    else reply.synth(ctx, { rcode: RCODE.NOERROR, answer: HINFO_ANSWER }, 'answered');
  };
}
