// Response stage response-ip: a domain list is always behind, so the addresses are checked
// too. An answer to a name no list matched, whose A or AAAA records fall inside a listed
// network (ByteDance's own address space), gets the block answer on a blocking segment and a
// log record on a log-only one; the rule names the prefix ("ip:101.45.0.0/16"). Applies to
// cached answers too. Allowlisted names pass.
import { findListedSuffix } from '../../dns/domain-name.ts';
import { HEADER_SIZE } from '../../dns/constants.ts';
import type { NetworkMatch } from '../../policy/network-matcher.ts';
import type { ResponseHandler } from '../context.ts';
import type { Verdicts } from '../verdicts.ts';

export function responseIpStage(deps: { verdicts: Verdicts }, next: ResponseHandler): ResponseHandler {
  const { verdicts } = deps;
  return (ctx, answer, scan, ageSeconds, source) => {
    const segment = ctx.segment;
    // Already decided by name (a log-only segment's listed name or CNAME), or nothing to check.
    if (segment.netMask === 0 || ctx.logMatch !== undefined || (scan.aOffsets.length === 0 && scan.aaaaOffsets.length === 0)) {
      next(ctx, answer, scan, ageSeconds, source);
      return;
    }
    const networks = ctx.policy.networks;
    let found: NetworkMatch | undefined;
    for (let i = 0; i < scan.aOffsets.length && found === undefined; i++) found = networks.matchV4(answer, scan.aOffsets[i] as number, segment.netMask);
    for (let i = 0; i < scan.aaaaOffsets.length && found === undefined; i++) found = networks.matchV6(answer, scan.aaaaOffsets[i] as number, segment.netMask);
    if (found === undefined || (segment.allowlist.size > 0 && findListedSuffix(ctx.q.qname, segment.allowlist) !== undefined)) {
      next(ctx, answer, scan, ageSeconds, source);
      return;
    }
    const rule = `ip:${found.prefix}`;
    const match = { rule, list: found.list };
    if (segment.action === 'block') {
      // The SOA is owned by the qname: the block is about the answer, not a listed suffix.
      verdicts.block(ctx, match, rule, segment.blockResponse, HEADER_SIZE);
      return;
    }
    ctx.logMatch = match;
    verdicts.record(ctx, match, rule, 'logged', 'answer');
    next(ctx, answer, scan, ageSeconds, source);
  };
}
