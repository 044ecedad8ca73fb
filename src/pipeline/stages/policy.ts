// Stage policy: match the query name against the segment's lists. Allowlists beat lists.
// block → synthesised answer + decision; log → decision, then answer normally.
import type { ResolverCore } from '../../resolver/core.ts';
import { matchesAnySuffix } from '../../policy/domain-matcher.ts';
import type { Handler, QueryContext } from '../context.ts';

export function policyStage(core: ResolverCore, next: Handler): Handler {
  return (ctx: QueryContext) => {
    const segment = ctx.segment;
    if (segment.mask === 0) return next(ctx);
    if (segment.allowlist.size > 0 && matchesAnySuffix(ctx.q.qname, segment.allowlist) !== undefined) return next(ctx);
    const match = core.matcher.match(ctx.q.qname, segment.mask);
    if (match === undefined) return next(ctx);
    if (segment.action === 'block') {
      core.block(ctx, match, segment.blockResponse, core.ruleOffset(ctx, match.rule));
      return;
    }
    ctx.logMatch = match;
    core.recordDecision(ctx, match, match.rule, 'logged', 'answer');
    next(ctx);
  };
}
