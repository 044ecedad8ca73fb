// Stage acl: clients outside dns.allow get REFUSED (EDE 18 Prohibited) and no upstream
// query: dnsward is never an open resolver (RFC 5358).
import { EDE, RCODE } from '../../dns/constants.ts';
import { edeText } from '../../dns/synthesize.ts';
import type { Handler } from '../context.ts';
import type { Replier } from '../reply.ts';

const REFUSED_TEXT = edeText('client not allowed by dnsward');

export function aclStage(deps: { reply: Replier }, next: Handler): Handler {
  const { reply } = deps;
  return (ctx) => {
    if (!ctx.allowed) {
      reply.synth(ctx, { rcode: RCODE.REFUSED, ede: { code: EDE.PROHIBITED, text: REFUSED_TEXT } }, 'refused');
      return;
    }
    next(ctx);
  };
}
