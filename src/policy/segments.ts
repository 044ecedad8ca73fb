// Segments as the resolver uses them, and the client → (allowed, segment) classification.
// Both are parts of a policy snapshot (./snapshot.ts): built once, never changed after.
import type { SegmentConfig } from '../config/schema.ts';
import { EDE } from '../dns/constants.ts';
import { edeText } from '../dns/synthesize.ts';
import { normalizeDomain } from '../dns/domain-name.ts';
import { CidrTable } from './cidr-table.ts';
import type { DomainMatcher } from './domain-matcher.ts';
import type { NetworkMatcher } from './network-matcher.ts';
import type { RateLimiter, TokenBucket } from './rate-limiter.ts';

export type SegmentAction = 'block' | 'log' | 'allow';

export interface Segment {
  readonly name: string;
  readonly action: SegmentAction;
  readonly listNames: readonly string[];
  /** Bitmask of this segment's lists in its snapshot's matcher; 0 when the action is allow. */
  readonly mask: number;
  /** Bitmask of this segment's network lists (response-ip stage); 0 when the action is allow. */
  readonly netMask: number;
  readonly blockResponse: 'nxdomain' | 'null' | 'refused';
  readonly bypassPrevention: boolean;
  readonly pseudonymize: boolean;
  readonly allowlist: ReadonlySet<string>;
  /** Per-list EDE option (15 Blocked, text "blocked by dnsward: segment X, list Y"), built once. */
  readonly edeByList: ReadonlyMap<string, { readonly code: number; readonly text: Buffer }>;
  /**
   * This segment's query counts (outcome × transport, see src/pipeline/counters.ts). The same
   * array for the same segment name in every snapshot, so counts survive a swap.
   */
  readonly counts: Float64Array;
}

/** The segment of clients that are allowed but inside no segment's network. */
export const IMPLICIT_DEFAULT_SEGMENT: SegmentConfig = {
  name: 'default',
  networks: ['0.0.0.0/0', '::/0'],
  action: 'allow',
  lists: [],
  allowlist: [],
  block_response: 'nxdomain',
  bypass_prevention: false,
  pseudonymize: false,
};

export function makeSegment(config: SegmentConfig, matcher: DomainMatcher, networks: NetworkMatcher, counts: Float64Array): Segment {
  const allowlist = new Set<string>();
  for (const entry of config.allowlist) {
    const name = normalizeDomain(entry);
    if (name) allowlist.add(name);
  }
  // Whole EDE options, made once: an object per blocked answer was garbage on the hot path.
  const edeByList = new Map<string, { code: number; text: Buffer }>();
  for (const list of config.lists) edeByList.set(list, { code: EDE.BLOCKED, text: edeText(`blocked by dnsward: segment ${config.name}, list ${list}`) });
  return Object.freeze({
    name: config.name,
    action: config.action,
    listNames: Object.freeze([...config.lists]),
    mask: config.action === 'allow' ? 0 : matcher.maskFor(config.lists),
    netMask: config.action === 'allow' ? 0 : networks.maskFor(config.lists),
    blockResponse: config.block_response,
    bypassPrevention: config.bypass_prevention,
    pseudonymize: config.pseudonymize,
    allowlist,
    edeByList,
    counts,
  });
}

export interface ClientInfo {
  allowed: boolean;
  segment: Segment;
  /** The client's rate-limit bucket; undefined when it is exempt or limiting is off. */
  bucket: TokenBucket | undefined;
}

/** Classifies client addresses; results are memoised because parsing IPv6 into a BigInt per query is slow. */
export class ClientClassifier {
  private readonly acl = new CidrTable<true>();
  private readonly bySegment = new CidrTable<Segment>();
  private readonly memo = new Map<string, ClientInfo>();
  private readonly fallback: Segment;
  private readonly memoLimit: number;
  private readonly limiter: RateLimiter;

  constructor(
    allow: readonly string[],
    segments: readonly { networks: readonly string[]; segment: Segment }[],
    fallback: Segment,
    limiter: RateLimiter,
    memoLimit = 65_536,
  ) {
    this.limiter = limiter;
    for (const cidr of allow) this.acl.add(cidr, true);
    for (const { networks, segment } of segments) for (const network of networks) this.bySegment.add(network, segment);
    this.fallback = fallback;
    this.memoLimit = memoLimit;
  }

  classify(address: string): ClientInfo {
    let info = this.memo.get(address);
    if (info === undefined) {
      info = {
        allowed: this.acl.lookup(address) === true,
        segment: this.bySegment.lookup(address) ?? this.fallback,
        bucket: this.limiter.bucketFor(address),
      };
      if (this.memo.size >= this.memoLimit) this.memo.clear();
      this.memo.set(address, info);
    }
    return info;
  }
}
