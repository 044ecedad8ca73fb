// Real queries and a real policy snapshot for testing stages alone, with fakes only for
// their dependencies (a recording replier, recording verdicts).
import type { DecisionAction, DecisionResponse } from '../../../src/audit/types.ts';
import { configSchema } from '../../../src/config/schema.ts';
import { isRejection, parseQuery } from '../../../src/dns/query-parser.ts';
import type { SynthSpec } from '../../../src/dns/synthesize.ts';
import type { Outcome, QueryContext, Responder } from '../../../src/pipeline/context.ts';
import { QueryCounters } from '../../../src/pipeline/counters.ts';
import type { Replier } from '../../../src/pipeline/reply.ts';
import type { Verdicts } from '../../../src/pipeline/verdicts.ts';
import type { DomainMatch } from '../../../src/policy/domain-matcher.ts';
import type { Segment } from '../../../src/policy/segments.ts';
import { buildPolicySnapshot, type PolicySnapshot, policyInputFromConfig } from '../../../src/policy/snapshot.ts';
import { buildQuery, type QueryOptions } from '../../helpers/dns-client.ts';

/** The network list segments may name: "bd-networks" (101.45.0.0/16, 2402:e7c0::/32). */
export const TEST_NETWORKS = [{ name: 'bd-networks', version: 'n1', networks: ['101.45.0.0/16', '2402:e7c0::/32'] }];

/** service (10.10/16) blocks tiktok, personal (10.20/16) logs it, lab (10.30/16) allows; allowlist on service. */
export function testPolicy(overrides: Record<string, unknown> = {}, counters = new QueryCounters()): PolicySnapshot {
  const config = configSchema.parse({
    dns: { allow: ['10.0.0.0/8'] },
    upstreams: ['127.0.0.1:53'],
    segments: [
      { name: 'service', networks: ['10.10.0.0/16'], action: 'block', lists: ['tiktok'], allowlist: ['ads.tiktok.com'] },
      { name: 'personal', networks: ['10.20.0.0/16'], action: 'log', lists: ['tiktok'] },
      { name: 'lab', networks: ['10.30.0.0/16'], action: 'allow' },
    ],
    ...overrides,
  });
  const lists = [{ name: 'tiktok', version: 'v1', domains: ['tiktok.com', 'tiktokcdn.com'] }];
  return buildPolicySnapshot(policyInputFromConfig(config, lists, TEST_NETWORKS), { countsFor: counters.forSegment });
}

export const silentResponder: Responder = { send: () => undefined, noReply: () => undefined };

/** A parsed query from `client` as it enters the pipeline. */
export function contextFor(query: QueryOptions, client = '10.10.0.1', policy = testPolicy(), responder = silentResponder): QueryContext {
  const buf = buildQuery({ id: 1, ...query });
  const q = parseQuery(buf);
  if (isRejection(q)) throw new Error(`not a query: ${q.kind}`);
  const info = policy.classifier.classify(client);
  return {
    query: buf,
    q,
    client,
    transport: 'udp',
    responder,
    replyTo: client,
    replyPort: 5353,
    maxSize: 512,
    receivedAt: 1_700_000_000_000,
    policy,
    allowed: info.allowed,
    segment: info.segment,
    bucket: info.bucket,
    logMatch: undefined,
    retained: false,
  };
}

export interface Replied {
  spec?: SynthSpec;
  bytes?: Buffer;
  outcome: Outcome;
}

/** A replier that records what it was asked to send. */
export function recordingReplier(): Replier & { replies: Replied[] } {
  const replies: Replied[] = [];
  return {
    replies,
    send: (_ctx, bytes, outcome) => void replies.push({ bytes, outcome }),
    // A copy: the caller reuses its scratch once this returns.
    sendScratch: (_ctx, scratch, length, outcome) => void replies.push({ bytes: Buffer.from(scratch.subarray(0, length)), outcome }),
    synth: (_ctx, spec, outcome) => void replies.push({ spec, outcome }),
  };
}

export interface Verdict {
  kind: 'block' | 'record';
  rule: string;
  list: string;
  action?: DecisionAction;
  response: DecisionResponse | Segment['blockResponse'];
  soaOwnerOffset?: number;
}

export function recordingVerdicts(): Verdicts & { verdicts: Verdict[] } {
  const verdicts: Verdict[] = [];
  return {
    verdicts,
    block: (_ctx, match: DomainMatch, rule, response, soaOwnerOffset) => void verdicts.push({ kind: 'block', rule, list: match.list.name, response, soaOwnerOffset }),
    record: (_ctx, match: DomainMatch, rule, action, response) => void verdicts.push({ kind: 'record', rule, list: match.list.name, action, response }),
  };
}

/** A next handler that counts how often it was reached. */
export function nextSpy<A extends unknown[]>(): ((...args: A) => void) & { calls: A[] } {
  const calls: A[] = [];
  const fn = (...args: A): void => void calls.push(args);
  return Object.assign(fn, { calls });
}
