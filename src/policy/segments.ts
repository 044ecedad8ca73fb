// Segments as the resolver uses them, and the client → (allowed, segment) classification.
import type { SegmentConfig } from '../config/schema.ts';
import { edeText } from '../dns/synthesize.ts';
import { normalizeDomain } from '../dns/domain-name.ts';
import { CidrTable } from './cidr-table.ts';
import type { DomainMatcher } from './domain-matcher.ts';
import type { RateLimiter, TokenBucket } from './rate-limiter.ts';

export type SegmentAction = 'block' | 'log' | 'allow';

export interface Segment {
  readonly name: string;
  readonly action: SegmentAction;
  readonly listNames: readonly string[];
  /** Bitmask of this segment's lists in the current matcher; 0 when the action is allow. */
  mask: number;
  readonly blockResponse: 'nxdomain' | 'null' | 'refused';
  readonly bypassPrevention: boolean;
  readonly pseudonymize: boolean;
  readonly allowlist: ReadonlySet<string>;
  /** Per-list EDE text "blocked by dnsward: segment X, list Y", built once. */
  readonly edeByList: Map<string, Buffer>;
  /** Index into the resolver's per-segment counters. */
  readonly index: number;
}

/** Used when a client is allowed but no segment's network contains it. */
export function implicitDefaultSegment(index: number): Segment {
  return makeSegment({ name: 'default', networks: ['0.0.0.0/0', '::/0'], action: 'allow', lists: [], allowlist: [], block_response: 'nxdomain', bypass_prevention: false, pseudonymize: false }, index);
}

export function makeSegment(config: SegmentConfig, index: number): Segment {
  const allowlist = new Set<string>();
  for (const entry of config.allowlist) {
    const name = normalizeDomain(entry);
    if (name) allowlist.add(name);
  }
  const edeByList = new Map<string, Buffer>();
  for (const list of config.lists) edeByList.set(list, edeText(`blocked by dnsward: segment ${config.name}, list ${list}`));
  return {
    name: config.name,
    action: config.action,
    listNames: config.lists,
    mask: 0,
    blockResponse: config.block_response,
    bypassPrevention: config.bypass_prevention,
    pseudonymize: config.pseudonymize,
    allowlist,
    edeByList,
    index,
  };
}

/** Recomputes every segment's list mask against a (new) matcher. */
export function bindSegments(segments: readonly Segment[], matcher: DomainMatcher): void {
  for (const segment of segments) segment.mask = segment.action === 'allow' ? 0 : matcher.maskFor(segment.listNames);
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
    segments: readonly { config: SegmentConfig; segment: Segment }[],
    fallback: Segment,
    limiter: RateLimiter,
    memoLimit = 65_536,
  ) {
    this.limiter = limiter;
    for (const cidr of allow) this.acl.add(cidr, true);
    for (const { config, segment } of segments) for (const network of config.networks) this.bySegment.add(network, segment);
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
