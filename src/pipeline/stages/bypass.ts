// Stage bypass: on blocking segments, browser DoH canaries and iCloud Private Relay names
// (the snapshot's bypassNames) get NXDOMAIN, so devices keep using this resolver instead of
// routing around it.
import { HEADER_SIZE } from '../../dns/constants.ts';
import { BYPASS_LIST } from '../../policy/bypass-names.ts';
import type { Handler } from '../context.ts';
import type { Verdicts } from '../verdicts.ts';

export function bypassStage(deps: { verdicts: Verdicts }, next: Handler): Handler {
  const { verdicts } = deps;
  return (ctx) => {
    const segment = ctx.segment;
    const qname = ctx.q.qname;
    if (segment.action === 'block' && segment.bypassPrevention && ctx.policy.bypassNames.has(qname)) {
      // The SOA is owned by the qname itself (right after the header).
      verdicts.block(ctx, { rule: qname, list: BYPASS_LIST }, qname, 'nxdomain', HEADER_SIZE);
      return;
    }
    next(ctx);
  };
}
