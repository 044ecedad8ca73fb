// The policy engine's decisions, made by the resolver's own code: the same query parser, the
// same decision stages (acl, qclass, bypass, policy, any: DECISION_STAGES in
// src/pipeline/order.ts), the same verdicts and synthesised answers, the same answer checks
// (cname, response-ip). Nothing here decides anything itself: the stages answer through a
// replier that keeps the bytes instead of sending them, and the outcome, the bytes and the
// decision the block log received become one typed verdict.
import type { Logger } from 'pino';
import type { Decision, DecisionSink, DecisionTransport } from '../audit/types.ts';
import { scanAnswer } from '../dns/answer-scan.ts';
import { HEADER_SIZE, RCODE } from '../dns/constants.ts';
import { skipName } from '../dns/names.ts';
import { isRejection, type ParsedQuery, parseQuery, udpAnswerLimit } from '../dns/query-parser.ts';
import { synthesize } from '../dns/synthesize.ts';
import type { Handler, Outcome, QueryContext, Responder, ResponseHandler, Transport } from '../pipeline/context.ts';
import { countQuery } from '../pipeline/counters.ts';
import { ANSWER_CHECK_STAGES, chain, DECISION_STAGES } from '../pipeline/order.ts';
import { createReplier, type Replier } from '../pipeline/reply.ts';
import { createVerdicts } from '../pipeline/verdicts.ts';
import type { PolicySnapshot } from '../policy/snapshot.ts';

/** Why dnsward answered a query itself without a list decision. */
export type AnswerOutcome = 'refused' | 'answered' | 'formerr' | 'notimp' | 'servfail';

/** What dnsward does with a query. Every verdict that answers carries the answer as wire bytes. */
export type PolicyVerdict =
  /** Not listed (or allowlisted, or an allow segment): resolve it as usual. `inspect`: pass the answer to inspect() (CNAME cloaking, listed addresses). */
  | { action: 'allow'; segment: string; inspect: boolean }
  /** Listed on a log-only segment: resolve it as usual; the decision is in the block log. */
  | { action: 'log'; segment: string; decision: Decision }
  /** Listed on a blocking segment: send `answer` (NXDOMAIN, null address or REFUSED per the segment, with SOA and EDE 15); the decision is in the block log. */
  | { action: 'block'; segment: string; decision: Decision; answer: Buffer }
  /** dnsward answers without a list decision: client outside dns.allow (refused), a non-IN class (refused), ANY (answered), malformed (formerr), unknown opcode (notimp), an internal error (servfail). */
  | { action: 'answer'; segment: string; outcome: AnswerOutcome; answer: Buffer }
  /** Never answer it: too short to be DNS, or a response (QR=1) sent as a query (reflection loops). */
  | { action: 'drop'; reason: 'short' | 'response' };

/** What dnsward does with an answer to an allowed query (the response side's checks). */
export type AnswerVerdict =
  | { action: 'allow' }
  | { action: 'log'; decision: Decision }
  /** Send `answer` instead of the upstream's: the CNAME chain or an address is listed. */
  | { action: 'block'; decision: Decision; answer: Buffer };

export interface Decider {
  decide(policy: PolicySnapshot, query: Buffer, client: string, transport: DecisionTransport | undefined): PolicyVerdict;
  inspect(policy: PolicySnapshot, query: Buffer, answer: Buffer, client: string, transport: DecisionTransport | undefined): AnswerVerdict;
}

/** What one run left behind: reset before each run (runs are synchronous and never nest). */
interface Slot {
  answer: Buffer | undefined;
  outcome: Outcome | undefined;
  decision: Decision | undefined;
  passed: boolean;
  transport: DecisionTransport | undefined;
}

export function createDecider(deps: { decisions: DecisionSink; logger: Logger }): Decider {
  const slot: Slot = { answer: undefined, outcome: undefined, decision: undefined, passed: false, transport: undefined };
  const real = createReplier();
  // The real replier (TC=1 when too big, counts per segment), with the outcome noted on the way.
  const reply: Replier = {
    send(ctx, response, outcome) {
      slot.outcome = outcome;
      real.send(ctx, response, outcome);
    },
    sendScratch(ctx, scratch, length, outcome) {
      slot.outcome = outcome;
      real.sendScratch(ctx, scratch, length, outcome);
    },
    synth(ctx, spec, outcome) {
      slot.outcome = outcome;
      real.synth(ctx, spec, outcome);
    },
  };
  // The block log, with the decision noted; a plain name check (no transport said) records none.
  const decisions: DecisionSink = {
    record(decision) {
      if (slot.transport === undefined) delete decision.transport;
      slot.decision = decision;
      deps.decisions.record(decision);
    },
    flush: () => deps.decisions.flush(),
    close: () => deps.decisions.close(),
  };
  const verdicts = createVerdicts({ reply, decisions });
  const decideStages: Handler = chain(DECISION_STAGES, { reply, verdicts }, () => {
    slot.passed = true;
  });
  const checkStages: ResponseHandler = chain(ANSWER_CHECK_STAGES, { reply, verdicts }, () => {
    slot.passed = true;
  });
  const responder: Responder = {
    send: (_ctx, response) => {
      slot.answer = response;
    },
    noReply: () => undefined,
  };
  const reset = (transport: DecisionTransport | undefined): void => {
    slot.answer = undefined;
    slot.outcome = undefined;
    slot.decision = undefined;
    slot.passed = false;
    slot.transport = transport;
  };

  return {
    decide(policy, query, client, transport) {
      reset(transport);
      const info = policy.classifier.classify(client);
      const wire = wireTransport(transport);
      const parsed = parseQuery(query);
      if (isRejection(parsed)) {
        if (parsed.kind === 'drop') return { action: 'drop', reason: parsed.reason };
        const outcome = parsed.rcode === RCODE.NOTIMP ? 'notimp' : 'formerr';
        countQuery(info.segment.counts, outcome, wire);
        const view = { id: parsed.id, flags: parsed.flags, questionEnd: parsed.questionEnd, edns: parsed.edns };
        return { action: 'answer', segment: info.segment.name, outcome, answer: synthesize(query, view, { rcode: parsed.rcode }) };
      }
      const ctx = contextFor(policy, query, parsed, client, wire, responder);
      try {
        // RFC 6891 §6.1.3: an unknown EDNS version gets BADVERS with an OPT of version 0 (as the resolver does).
        if (parsed.edns !== undefined && parsed.edns.version > 0) reply.synth(ctx, { rcode: RCODE.BADVERS }, 'formerr');
        else decideStages(ctx);
      } catch (error) {
        deps.logger.error({ err: error, qname: parsed.qname }, 'internal error while deciding a query');
        reset(transport);
        reply.synth(ctx, { rcode: RCODE.SERVFAIL }, 'servfail');
      }
      const segment = ctx.segment.name;
      if (slot.answer !== undefined) {
        if (slot.outcome === 'blocked' && slot.decision !== undefined) return { action: 'block', segment, decision: slot.decision, answer: slot.answer };
        return { action: 'answer', segment, outcome: answerOutcome(slot.outcome), answer: slot.answer };
      }
      if (slot.decision !== undefined) {
        countQuery(ctx.segment.counts, 'logged', wire);
        return { action: 'log', segment, decision: slot.decision };
      }
      return { action: 'allow', segment, inspect: ctx.segment.mask !== 0 || ctx.segment.netMask !== 0 };
    },

    inspect(policy, query, answer, client, transport) {
      reset(transport);
      const parsed = parseQuery(query);
      if (isRejection(parsed)) return { action: 'allow' };
      const questionEnd = answerQuestionEnd(answer);
      const scan = questionEnd < 0 ? undefined : scanAnswer(answer, questionEnd);
      // Not an answer we can read: it is the host's to send, and there is nothing to judge in it.
      if (scan === undefined) return { action: 'allow' };
      const ctx = contextFor(policy, query, parsed, client, wireTransport(transport), responder);
      try {
        checkStages(ctx, answer, scan, 0, 'forwarded');
      } catch (error) {
        deps.logger.error({ err: error, qname: parsed.qname }, 'internal error while checking an answer');
        return { action: 'allow' };
      }
      if (slot.answer !== undefined && slot.decision !== undefined) return { action: 'block', decision: slot.decision, answer: slot.answer };
      if (slot.decision !== undefined) {
        countQuery(ctx.segment.counts, 'logged', ctx.transport);
        return { action: 'log', decision: slot.decision };
      }
      return { action: 'allow' };
    },
  };
}

/** A plain name check (no transport said) is judged as a stream query: no UDP size limit. */
function wireTransport(transport: DecisionTransport | undefined): Transport {
  return transport ?? 'tcp';
}

/** The outcome a decision stage answered with; a stage added later with an outcome of its own reads as "answered". */
function answerOutcome(outcome: Outcome | undefined): AnswerOutcome {
  return outcome === 'refused' || outcome === 'formerr' || outcome === 'notimp' || outcome === 'servfail' ? outcome : 'answered';
}

function contextFor(policy: PolicySnapshot, query: Buffer, q: ParsedQuery, client: string, transport: Transport, responder: Responder): QueryContext {
  const info = policy.classifier.classify(client);
  const edns = q.edns;
  const maxSize = transport !== 'udp' ? 65_535 : udpAnswerLimit(edns);
  return {
    query,
    q,
    client,
    transport,
    responder,
    replyTo: undefined,
    replyPort: 0,
    maxSize,
    receivedAt: Date.now(),
    policy,
    allowed: info.allowed,
    segment: info.segment,
    bucket: info.bucket,
    logMatch: undefined,
    retained: false,
  };
}

/** Offset just past the answer's single question, or -1 when it has none or it is malformed. */
function answerQuestionEnd(answer: Buffer): number {
  if (answer.length < HEADER_SIZE || answer.readUInt16BE(4) !== 1) return -1;
  const nameEnd = skipName(answer, HEADER_SIZE);
  return nameEnd < 0 || nameEnd + 4 > answer.length ? -1 : nameEnd + 4;
}
