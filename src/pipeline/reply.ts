// The one way every stage answers a client: truncate for UDP when the answer does not fit
// (TC=1, RFC 7766), count the outcome on the client's segment, hand the bytes to the
// listener. Synthesised answers (blocked, refused, errors) are built from the query.
import { RCODE } from '../dns/constants.ts';
import { type SynthSpec, synthesize, synthesizeInto } from '../dns/synthesize.ts';
import type { Outcome, QueryContext } from './context.ts';
import { countQuery } from './counters.ts';

export interface Replier {
  /** Sends `response` (truncated to TC=1 when it exceeds the client's size) and counts `outcome`. */
  send(ctx: QueryContext, response: Buffer, outcome: Outcome): void;
  /**
   * Sends the first `length` bytes of `scratch`, which the caller reuses once this returns:
   * the listener copies them at once if it can (Responder.sendCopy), else they are copied here.
   */
  sendScratch(ctx: QueryContext, scratch: Buffer, length: number, outcome: Outcome): void;
  /** Sends an answer built from the query per `spec`. */
  synth(ctx: QueryContext, spec: SynthSpec, outcome: Outcome): void;
}

/**
 * Where answers are built before the listener copies them (see sendScratch): relayed ones
 * (src/pipeline/stages/relay.ts) and synthesised ones. A Buffer per answer was a third of what
 * a cached answer allocated, and young-generation GC pauses set the p99 at a steady rate. The
 * largest DNS message fits (65,535 octets, TCP's length prefix); answers never nest.
 */
export const ANSWER_SCRATCH = Buffer.allocUnsafeSlow(65_535);

export function createReplier(): Replier {
  const send = (ctx: QueryContext, response: Buffer, outcome: Outcome): void => {
    const out = response.length > ctx.maxSize ? synthesize(ctx.query, ctx.q, { rcode: RCODE.NOERROR, truncated: true }) : response;
    countQuery(ctx.segment.counts, outcome, ctx.transport);
    ctx.responder.send(ctx, out);
  };
  const sendScratch = (ctx: QueryContext, scratch: Buffer, length: number, outcome: Outcome): void => {
    const responder = ctx.responder;
    // Too big for the client: send() answers TC=1 from the query and never reads these bytes.
    if (length > ctx.maxSize) send(ctx, scratch.subarray(0, length), outcome);
    else if (responder.sendCopy === undefined) send(ctx, Buffer.from(scratch.subarray(0, length)), outcome);
    else {
      countQuery(ctx.segment.counts, outcome, ctx.transport);
      responder.sendCopy(ctx, scratch, length);
    }
  };
  return {
    send,
    sendScratch,
    synth: (ctx, spec, outcome) => {
      const length = synthesizeInto(ANSWER_SCRATCH, ctx.query, ctx.q, spec);
      if (length < 0) send(ctx, synthesize(ctx.query, ctx.q, spec), outcome);
      else sendScratch(ctx, ANSWER_SCRATCH, length, outcome);
    },
  };
}
