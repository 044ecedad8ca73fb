// The one way every stage answers a client: truncate for UDP when the answer does not fit
// (TC=1, RFC 7766), count the outcome on the client's segment, hand the bytes to the
// listener. Synthesised answers (blocked, refused, errors) are built from the query.
import { RCODE } from '../dns/constants.ts';
import { type SynthSpec, synthesize } from '../dns/synthesize.ts';
import type { Outcome, QueryContext } from './context.ts';
import { countQuery } from './counters.ts';

export interface Replier {
  /** Sends `response` (truncated to TC=1 when it exceeds the client's size) and counts `outcome`. */
  send(ctx: QueryContext, response: Buffer, outcome: Outcome): void;
  /** Sends an answer built from the query per `spec`. */
  synth(ctx: QueryContext, spec: SynthSpec, outcome: Outcome): void;
}

export function createReplier(): Replier {
  const send = (ctx: QueryContext, response: Buffer, outcome: Outcome): void => {
    const out = response.length > ctx.maxSize ? synthesize(ctx.query, ctx.q, { rcode: RCODE.NOERROR, truncated: true }) : response;
    countQuery(ctx.segment.counts, outcome, ctx.transport);
    ctx.responder.send(ctx, out);
  };
  return {
    send,
    synth: (ctx, spec, outcome) => send(ctx, synthesize(ctx.query, ctx.q, spec), outcome),
  };
}
