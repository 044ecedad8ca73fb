// What the policy stages do with a listed name: block it (a synthesised answer per the
// segment's block_response, with EDE 15 naming segment and list) or record a log-only
// decision. Both go to the decision sink (the block log), with the time the client asked.
import type { DecisionAction, DecisionResponse, DecisionSink } from '../audit/types.ts';
import { EDE, RCODE } from '../dns/constants.ts';
import { edeText } from '../dns/synthesize.ts';
import type { DomainMatch } from '../policy/domain-matcher.ts';
import type { Segment } from '../policy/segments.ts';
import type { QueryContext } from './context.ts';
import type { Replier } from './reply.ts';

export interface Verdicts {
  /**
   * Answers the query as blocked and records it. `soaOwnerOffset` points at the listed
   * suffix inside the question (the SOA's owner); `rule` is what the block log names.
   */
  block(ctx: QueryContext, match: DomainMatch, rule: string, response: Segment['blockResponse'], soaOwnerOffset: number): void;
  /** Records a decision without answering (log-only segments). */
  record(ctx: QueryContext, match: DomainMatch, rule: string, action: DecisionAction, response: DecisionResponse): void;
}

const GENERIC_BLOCK_EDE = { code: EDE.BLOCKED, text: edeText('blocked by dnsward') };

export function createVerdicts(deps: { reply: Replier; decisions: DecisionSink }): Verdicts {
  const { reply, decisions } = deps;
  const record: Verdicts['record'] = (ctx, match, rule, action, response) => {
    decisions.record({
      // When the client asked (also for CNAME decisions made after the upstream answered).
      ts: ctx.receivedAt,
      segment: ctx.segment.name,
      client: ctx.client,
      pseudonymize: ctx.segment.pseudonymize,
      qname: ctx.q.qname,
      qtype: ctx.q.qtype,
      action,
      list: match.list.name,
      rule,
      listVersion: match.list.version,
      response,
      transport: ctx.transport,
    });
  };
  return {
    record,
    block(ctx, match, rule, response, soaOwnerOffset) {
      const ede = ctx.segment.edeByList.get(match.list.name) ?? GENERIC_BLOCK_EDE;
      if (response === 'refused') reply.synth(ctx, { rcode: RCODE.REFUSED, ede }, 'blocked');
      else if (response === 'null') reply.synth(ctx, { rcode: RCODE.NOERROR, nullAddress: true, soaOwnerOffset, ede }, 'blocked');
      else reply.synth(ctx, { rcode: RCODE.NXDOMAIN, soaOwnerOffset, ede }, 'blocked');
      record(ctx, match, rule, 'blocked', response);
    },
  };
}
