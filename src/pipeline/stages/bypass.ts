// Stage bypass: on blocking segments, browser DoH canaries and iCloud Private Relay names
// get NXDOMAIN so devices keep using this resolver instead of routing around it.
import { HEADER_SIZE } from '../../dns/constants.ts';
import type { ResolverCore } from '../../resolver/core.ts';
import type { Handler, QueryContext } from '../context.ts';

/** Firefox: use-application-dns.net; Apple: mask.icloud.com, mask-h2.icloud.com. */
export const BYPASS_CANARIES: ReadonlySet<string> = new Set(['use-application-dns.net', 'mask.icloud.com', 'mask-h2.icloud.com']);
export const BYPASS_LIST = { name: 'bypass-prevention', version: 'builtin-1' } as const;

export function bypassStage(core: ResolverCore, next: Handler): Handler {
  return (ctx: QueryContext) => {
    const segment = ctx.segment;
    if (segment.action === 'block' && segment.bypassPrevention && BYPASS_CANARIES.has(ctx.q.qname)) {
      // The SOA is owned by the qname itself (offset 12, right after the header).
      core.block(ctx, { rule: ctx.q.qname, list: BYPASS_LIST }, 'nxdomain', HEADER_SIZE);
      return;
    }
    next(ctx);
  };
}
