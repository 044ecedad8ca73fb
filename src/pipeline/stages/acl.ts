// Stage acl: clients outside dns.allow get REFUSED (EDE 18 Prohibited) and no upstream
// query: dnsward is never an open resolver (RFC 5358).
import { EDE, RCODE } from '../../dns/constants.ts';
import { edeText } from '../../dns/synthesize.ts';
import type { ResolverCore } from '../../resolver/core.ts';
import type { Handler, QueryContext } from '../context.ts';

const REFUSED_TEXT = edeText('client not allowed by dnsward');

export function aclStage(core: ResolverCore, next: Handler): Handler {
  return (ctx: QueryContext) => {
    if (!ctx.allowed) {
      core.respondSynth(ctx, { rcode: RCODE.REFUSED, ede: { code: EDE.PROHIBITED, text: REFUSED_TEXT } }, 'refused');
      return;
    }
    next(ctx);
  };
}
