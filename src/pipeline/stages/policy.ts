// Stage policy: match the query name against the segment's lists. Allowlists beat lists.
// block → synthesised answer + decision; log → decision, then answer normally.
import { HEADER_SIZE } from '../../dns/constants.ts';
import { findListedSuffix } from '../../dns/domain-name.ts';
import { suffixOffset } from '../../dns/names.ts';
import type { Handler, QueryContext } from '../context.ts';
import type { Verdicts } from '../verdicts.ts';

export function policyStage(deps: { verdicts: Verdicts }, next: Handler): Handler {
  const { verdicts } = deps;
  return (ctx) => {
    const segment = ctx.segment;
    if (segment.mask === 0) return next(ctx);
    const qname = ctx.q.qname;
    if (segment.allowlist.size > 0 && findListedSuffix(qname, segment.allowlist) !== undefined) return next(ctx);
    const match = ctx.policy.matcher.match(qname, segment.mask);
    if (match === undefined) return next(ctx);
    if (segment.action === 'block') {
      verdicts.block(ctx, match, match.rule, segment.blockResponse, ruleOffset(ctx, match.rule));
      return;
    }
    ctx.logMatch = match;
    verdicts.record(ctx, match, match.rule, 'logged', 'answer');
    next(ctx);
  };
}

/** Offset of the listed suffix `rule` inside the question's name (the SOA owner of a blocked answer). */
export function ruleOffset(ctx: QueryContext, rule: string): number {
  let labels = 1;
  for (let i = 0; i < rule.length; i++) if (rule.charCodeAt(i) === 46) labels++;
  return suffixOffset(ctx.query, HEADER_SIZE, labels);
}
