// The order of the pipeline, both ways, in one place, with the reason for each position.
// A new stage is a new file under ./stages/ plus one line here; its factory receives only
// the dependencies it names (from PipelineDeps) and the next handler.
import type { AnswerCache } from '../resolver/answer-cache.ts';
import type { Handler, ResponseHandler } from './context.ts';
import type { Replier } from './reply.ts';
import { aclStage } from './stages/acl.ts';
import { anyStage } from './stages/any.ts';
import { bypassStage } from './stages/bypass.ts';
import { cacheStage } from './stages/cache.ts';
import { cnameStage } from './stages/cname.ts';
import { forwardStage, type QueryForwarder } from './stages/forward.ts';
import { policyStage } from './stages/policy.ts';
import { qclassStage } from './stages/qclass.ts';
import { relayStage } from './stages/relay.ts';
import { responseIpStage } from './stages/response-ip.ts';
import type { Verdicts } from './verdicts.ts';

/** What response-side stages may ask for. Each factory's own parameter type names the part it uses. */
export interface ResponseDeps {
  reply: Replier;
  verdicts: Verdicts;
}

/** What query-side stages may ask for. */
export interface QueryDeps extends ResponseDeps {
  cache: AnswerCache;
  forwarder: QueryForwarder;
  /** The head of the response side (for stages that produce answers). */
  respond: ResponseHandler;
}

interface Stage<D, H> {
  readonly name: string;
  readonly factory: (deps: D, next: H) => H;
  readonly why: string;
}

// (UDP rate limiting runs before the pipeline, even before parsing: see Resolver.handleMessage.)
// The stages that decide from the question alone, before any answer exists. The policy engine
// (src/plugin/engine.ts) runs exactly these for embedders, so they need no cache or upstream.
export const DECISION_STAGES: readonly Stage<ResponseDeps, Handler>[] = [
  { name: 'acl', factory: aclStage, why: 'refuse clients outside dns.allow before any work (the segment is picked with the ACL, per client, memoised)' },
  { name: 'qclass', factory: qclassStage, why: 'only class IN is resolved; CHAOS and others are refused, never forwarded' },
  { name: 'bypass', factory: bypassStage, why: 'DoH/Private Relay canaries must be answered before lists or cache' },
  { name: 'policy', factory: policyStage, why: 'block or log listed names; a blocked name never reaches cache or upstream' },
  { name: 'any', factory: anyStage, why: 'ANY is answered minimally (RFC 8482) after policy, so a listed name stays blocked' },
];

export const QUERY_STAGES: readonly Stage<QueryDeps, Handler>[] = [
  ...DECISION_STAGES,
  { name: 'cache', factory: cacheStage, why: 'serve stored answers; they still go through the response side' },
  { name: 'forward', factory: forwardStage, why: 'ask the upstreams; answers come back through the response side' },
];

// The response-side stages that judge an answer (the policy engine runs these on an embedder's answers).
export const ANSWER_CHECK_STAGES: readonly Stage<ResponseDeps, ResponseHandler>[] = [
  { name: 'cname', factory: cnameStage, why: 'a CNAME chain entering a listed domain is blocked or logged (CNAME cloaking), before anything is relayed' },
  { name: 'response-ip', factory: responseIpStage, why: 'after the name checks (a name decision wins): addresses inside a listed network are blocked or logged' },
];

// Every answer from cache or upstream (fresh or stale) runs these, on the query's own policy snapshot.
export const RESPONSE_STAGES: readonly Stage<ResponseDeps, ResponseHandler>[] = [
  ...ANSWER_CHECK_STAGES,
  { name: 'relay', factory: relayStage, why: 'last: patch ID, question case and TTLs, then send the bytes' },
];

/** Chains stages once at start-up (from the last to the first): no closures are created per query. */
export function chain<D, H>(stages: readonly Stage<D, H>[], deps: D, end: H): H {
  let next = end;
  for (let i = stages.length - 1; i >= 0; i--) next = (stages[i] as Stage<D, H>).factory(deps, next);
  return next;
}

const fellThrough: Handler = () => {
  throw new Error('the query pipeline fell through past the forward stage');
};
const responseFellThrough: ResponseHandler = () => {
  throw new Error('the response pipeline fell through past the relay stage');
};

/** The response side (built first: the query side's answer-producing stages hand answers to it). */
export function buildResponsePipeline(deps: ResponseDeps): ResponseHandler {
  return chain(RESPONSE_STAGES, deps, responseFellThrough);
}

export function buildQueryPipeline(deps: QueryDeps): Handler {
  return chain(QUERY_STAGES, deps, fellThrough);
}
