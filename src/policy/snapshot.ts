// The policy in force, as one immutable object: who may ask (ACL), which segment a client
// is in (longest prefix), its rate-limit bucket, the list matcher, allowlists, block answers
// and their EDE texts, the bypass canaries and the ANY policy. Built by one function from
// the config and the loaded lists, validated as a whole, and installed by one pointer write
// (Resolver.install): a reload or a list change builds a new snapshot and swaps it, and a
// query runs to its end on the snapshot it started with. The cache, the upstream pool and
// the sockets live outside it and survive a swap.
import type { Config, SegmentConfig } from '../config/schema.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { BYPASS_CANARIES } from './bypass-names.ts';
import { DomainMatcher, type ListRef, MAX_LISTS, type MatcherInput } from './domain-matcher.ts';
import { NetworkMatcher, type NetworkListInput } from './network-matcher.ts';
import { RateLimiter, type RateLimitSettings, sameRateLimitSettings } from './rate-limiter.ts';
import { ClientClassifier, IMPLICIT_DEFAULT_SEGMENT, makeSegment, type Segment } from './segments.ts';

/** What a policy is built from: the policy parts of the config, and the lists in force. */
export interface PolicyInput {
  /** dns.allow: client networks that may query. */
  readonly allow: readonly string[];
  readonly segments: readonly SegmentConfig[];
  readonly rateLimit: RateLimitSettings;
  readonly anyPolicy: 'hinfo' | 'refuse';
  readonly lists: readonly MatcherInput[];
  /** Network lists (address space, for the response-ip stage). */
  readonly networkLists: readonly NetworkListInput[];
  /** Lists configured but not loaded yet (subscribed sources on their first fetch): segments may name them. */
  readonly pendingLists: readonly string[];
}

export interface PolicySnapshot {
  /** Increases by one with every snapshot built in this process (logs, tests). */
  readonly generation: number;
  /** The configured segments in config order, then the implicit default. */
  readonly segments: readonly Segment[];
  readonly classifier: ClientClassifier;
  readonly matcher: DomainMatcher;
  /** The network lists, matched against the addresses in answers. */
  readonly networks: NetworkMatcher;
  /** The lists (name and version) this policy enforces: domain lists, then network lists. */
  readonly lists: readonly ListRef[];
  readonly rateLimiter: RateLimiter;
  readonly anyPolicy: 'hinfo' | 'refuse';
  readonly bypassNames: ReadonlySet<string>;
  /** What it was built from (DNS worker threads build their copy from it: src/replica/worker-policy.ts). */
  readonly input: PolicyInput;
}

export interface SnapshotDeps {
  /** The counts array of a segment, by name (the same array across snapshots). */
  countsFor(segment: string): Float64Array;
  /** The snapshot being replaced: its rate limiter (and buckets) is kept when the settings are unchanged. */
  previous?: PolicySnapshot | undefined;
}

let generations = 0;

export function policyInputFromConfig(config: Config, lists: readonly MatcherInput[], networkLists: readonly NetworkListInput[] = []): PolicyInput {
  const loaded = new Set(lists.map((l) => l.name));
  const pendingLists = config.lists.sources.map((s) => s.name).filter((name) => !loaded.has(name));
  return { allow: config.dns.allow, segments: config.segments, rateLimit: config.dns.rate_limit, anyPolicy: config.dns.any, lists, networkLists, pendingLists };
}

/** Builds and validates a whole policy; throws DnswardError (nothing is installed) when it cannot be enforced. */
export function buildPolicySnapshot(input: PolicyInput, deps: SnapshotDeps): PolicySnapshot {
  checkLists(input);
  const matcher = DomainMatcher.build(input.lists);
  const networks = NetworkMatcher.build(input.networkLists);
  const configured = input.segments.map((config) => ({ networks: config.networks, segment: makeSegment(config, matcher, networks, deps.countsFor(config.name)) }));
  const fallback = makeSegment(IMPLICIT_DEFAULT_SEGMENT, matcher, networks, deps.countsFor(IMPLICIT_DEFAULT_SEGMENT.name));
  const previous = deps.previous?.rateLimiter;
  const rateLimiter = previous !== undefined && sameRateLimitSettings(previous.settings, input.rateLimit) ? previous : new RateLimiter(input.rateLimit);
  return Object.freeze({
    generation: ++generations,
    segments: Object.freeze([...configured.map((c) => c.segment), fallback]),
    classifier: new ClientClassifier(input.allow, configured, fallback, rateLimiter),
    matcher,
    networks,
    lists: [...matcher.lists, ...networks.lists],
    rateLimiter,
    anyPolicy: input.anyPolicy,
    bypassNames: BYPASS_CANARIES,
    input,
  });
}

/** Every list a segment names must be loaded (or on its way), and the matcher holds at most MAX_LISTS. */
function checkLists(input: PolicyInput): void {
  const known = new Set([...input.lists.map((l) => l.name), ...input.networkLists.map((l) => l.name), ...input.pendingLists]);
  const problems: string[] = [];
  input.segments.forEach((segment, i) => {
    segment.lists.forEach((name, j) => {
      if (known.has(name)) return;
      const choices = [...known].sort().join(', ') || '(none loaded)';
      problems.push(`segments[${i}].lists[${j}]: "${name}" is not a loaded list; use one of: ${choices}`);
    });
  });
  if (problems.length > 0) throw new DnswardError(ErrorCodes.LIST_UNKNOWN, problems.join('\n'));
  for (const [kind, count] of [
    ['domain lists', input.lists.length],
    ['network lists', input.networkLists.length],
  ] as const) {
    if (count > MAX_LISTS) throw new DnswardError(ErrorCodes.CONFIG, `lists: ${count} ${kind} are loaded but at most ${MAX_LISTS} can be enforced at once; remove some from lists.dir or lists.sources`);
  }
}
