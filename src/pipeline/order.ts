// The order of the query pipeline, in one place. A new stage is a new file plus one line.
import type { ResolverCore } from '../resolver/core.ts';
import type { Handler } from './context.ts';
import { aclStage } from './stages/acl.ts';
import { anyStage } from './stages/any.ts';
import { bypassStage } from './stages/bypass.ts';
import { cacheStage } from './stages/cache.ts';
import { forwardStage } from './stages/forward.ts';
import { policyStage } from './stages/policy.ts';
import { qclassStage } from './stages/qclass.ts';

type StageFactory = (core: ResolverCore, next: Handler) => Handler;

// (UDP rate limiting runs before the pipeline, even before parsing: see ResolverCore.handleMessage.)
export const PIPELINE: readonly { name: string; factory: StageFactory; why: string }[] = [
  { name: 'acl', factory: aclStage, why: 'refuse clients outside dns.allow before any work (the segment is picked with the ACL, per client, memoised)' },
  { name: 'qclass', factory: qclassStage, why: 'only class IN is resolved; CHAOS and others are refused, never forwarded' },
  { name: 'bypass', factory: bypassStage, why: 'DoH/Private Relay canaries must be answered before lists or cache' },
  { name: 'policy', factory: policyStage, why: 'block or log listed names; a blocked name never reaches cache or upstream' },
  { name: 'any', factory: anyStage, why: 'ANY is answered minimally (RFC 8482) after policy, so a listed name stays blocked' },
  { name: 'cache', factory: cacheStage, why: 'serve stored answers (CNAME cloaking is still checked per segment)' },
  { name: 'forward', factory: forwardStage, why: 'ask the upstreams; answers are inspected, cached and relayed as bytes' },
];

/** Chains the stages once at startup: no closures are created per query. */
export function buildPipeline(core: ResolverCore): Handler {
  let next: Handler = () => {
    throw new Error('pipeline fell through past the forward stage');
  };
  for (let i = PIPELINE.length - 1; i >= 0; i--) next = (PIPELINE[i] as (typeof PIPELINE)[number]).factory(core, next);
  return next;
}
