// Client pseudonyms for GDPR data minimisation: "anon:" + the first 64 bits of
// HMAC-SHA-256(secret, address). Stable for as long as the secret is; without the secret
// the address cannot be recovered, not even by hashing every IPv4 address.
import { createHmac, createSecretKey } from 'node:crypto';

export const PSEUDONYM_PREFIX = 'anon:';
/** Hex characters kept from the HMAC (64 bits: collisions are negligible for a network's devices). */
export const PSEUDONYM_HEX = 16;
const CACHE_LIMIT = 65_536;

export interface Pseudonymizer {
  (address: string): string;
}

/** "::ffff:10.0.0.1" and "10.0.0.1" are one device; IPv6 case does not matter. */
export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

export function createPseudonymizer(secret: Buffer): Pseudonymizer {
  if (secret.length < 16) throw new RangeError('pseudonym secret must be at least 16 bytes');
  // A KeyObject: createHmac with a Buffer re-imports the key every call (4x slower).
  const key = createSecretKey(Buffer.from(secret));
  // Devices repeat; the cache keeps the HMAC off the hot path for all but the first query of each.
  let cache = new Map<string, string>();
  return (address: string): string => {
    const hit = cache.get(address);
    if (hit !== undefined) return hit;
    const value = PSEUDONYM_PREFIX + createHmac('sha256', key).update(normalizeAddress(address), 'utf8').digest('hex').slice(0, PSEUDONYM_HEX);
    if (cache.size >= CACHE_LIMIT) cache = new Map();
    cache.set(address, value);
    return value;
  };
}
