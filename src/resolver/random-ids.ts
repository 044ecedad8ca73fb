// Cryptographically random 16-bit IDs, drawn from a refilled buffer so the hot path
// does not pay for a crypto call per query (RFC 5452 §9.2).
import { randomFillSync } from 'node:crypto';

const pool = Buffer.allocUnsafe(8192);
let offset = pool.length;

export function randomId(): number {
  if (offset >= pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.readUInt16BE(offset);
  offset += 2;
  return id;
}

/** Uniform integer in [0, n) for small n (n <= 65536). */
export function randomBelow(n: number): number {
  return Math.floor((randomId() / 65536) * n);
}
