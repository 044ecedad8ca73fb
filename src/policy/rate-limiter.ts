// Per-client token buckets (clients grouped by /32 and /56 by default). A bucket is found
// once per client address (memoised with the client's segment), so the query path only
// does arithmetic on it.
import { isIPv6 } from 'node:net';
import { ipv4ToInt, ipv6ToBigInt } from '../util/address.ts';
import { CidrTable } from './cidr-table.ts';

export interface RateLimitSettings {
  enabled: boolean;
  qps: number;
  burst: number;
  ipv4_prefix: number;
  ipv6_prefix: number;
  action: 'slip' | 'drop';
  /** With action slip: one over-limit query in this many gets a TC=1 reply, the others none. */
  slip_every: number;
  exempt: readonly string[];
}

export interface TokenBucket {
  tokens: number;
  last: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly exempt = new CidrTable<true>();
  readonly settings: RateLimitSettings;
  private readonly perMs: number;
  private slipCounter = 0;

  constructor(settings: RateLimitSettings) {
    this.settings = settings;
    this.perMs = settings.qps / 1000;
    for (const cidr of settings.exempt) this.exempt.add(cidr, true);
  }

  /** Whether this over-limit query gets a TC=1 reply (slip) rather than nothing. */
  shouldSlip(): boolean {
    if (this.settings.action !== 'slip') return false;
    this.slipCounter = (this.slipCounter + 1) % this.settings.slip_every;
    return this.slipCounter === 0;
  }

  /** The bucket shared by `address`'s prefix, or undefined when the client is not limited. */
  bucketFor(address: string): TokenBucket | undefined {
    if (!this.settings.enabled || this.exempt.lookup(address) === true) return undefined;
    const key = prefixKey(address, this.settings.ipv4_prefix, this.settings.ipv6_prefix);
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      // Bounded: an attacker cycling prefixes only resets buckets, never grows memory.
      if (this.buckets.size >= 200_000) this.buckets.clear();
      bucket = { tokens: this.settings.burst, last: Date.now() };
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  /** Takes one token; false when the client is over its rate. */
  take(bucket: TokenBucket, now: number): boolean {
    const elapsed = now - bucket.last;
    if (elapsed > 0) {
      bucket.tokens = Math.min(this.settings.burst, bucket.tokens + elapsed * this.perMs);
      bucket.last = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return true;
    }
    return false;
  }
}

/** Whether two settings limit the same way (then a new policy keeps the old limiter and its buckets). */
export function sameRateLimitSettings(a: RateLimitSettings, b: RateLimitSettings): boolean {
  return (
    a.enabled === b.enabled &&
    a.qps === b.qps &&
    a.burst === b.burst &&
    a.ipv4_prefix === b.ipv4_prefix &&
    a.ipv6_prefix === b.ipv6_prefix &&
    a.action === b.action &&
    a.slip_every === b.slip_every &&
    a.exempt.length === b.exempt.length &&
    a.exempt.every((cidr, i) => cidr === b.exempt[i])
  );
}

function prefixKey(address: string, v4Prefix: number, v6Prefix: number): string {
  const mapped = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  if (isIPv6(mapped)) {
    const shift = BigInt(128 - v6Prefix);
    return `6:${(ipv6ToBigInt(mapped) >> shift).toString(16)}`;
  }
  return `4:${Math.floor(ipv4ToInt(mapped) / 2 ** (32 - v4Prefix))}`;
}
