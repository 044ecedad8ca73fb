// Response stage cname: CNAME cloaking. An answer whose CNAME chain enters a listed domain
// is blocked (blocking segments) or recorded (log-only segments), on fresh and cached
// answers alike, per the client's segment. Allowlists beat lists here too.
import { HEADER_SIZE } from '../../dns/constants.ts';
import { findListedSuffix } from '../../dns/domain-name.ts';
import type { ResponseHandler } from '../context.ts';
import type { Verdicts } from '../verdicts.ts';

export function cnameStage(deps: { verdicts: Verdicts }, next: ResponseHandler): ResponseHandler {
  const { verdicts } = deps;
  return (ctx, answer, scan, ageSeconds, source) => {
    const segment = ctx.segment;
    if (segment.mask !== 0 && scan.cnameTargets.length > 0 && findListedSuffix(ctx.q.qname, segment.allowlist) === undefined) {
      const matcher = ctx.policy.matcher;
      for (const target of scan.cnameTargets) {
        const match = matcher.match(target, segment.mask);
        if (match === undefined) continue;
        const rule = `cname:${match.rule}`;
        if (segment.action === 'block') {
          // The SOA is owned by the qname: the listed name is not inside the question.
          verdicts.block(ctx, match, rule, segment.blockResponse, HEADER_SIZE);
          return;
        }
        if (ctx.logMatch === undefined) {
          ctx.logMatch = match;
          verdicts.record(ctx, match, rule, 'logged', 'answer');
        }
        break;
      }
    }
    next(ctx, answer, scan, ageSeconds, source);
  };
}
