import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPseudonymizer } from '../../../src/audit/pseudonym.ts';

describe('pseudonyms', () => {
  const secret = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');

  it('are "anon:" + 16 hex of HMAC-SHA-256(secret, address), stable across instances of the pseudonymizer', () => {
    const p = createPseudonymizer(secret);
    const expected = 'anon:' + createHmac('sha256', secret).update('10.20.0.7').digest('hex').slice(0, 16);
    expect(p('10.20.0.7')).toBe(expected);
    expect(p('10.20.0.7')).toBe(expected);
    expect(createPseudonymizer(Buffer.from(secret))('10.20.0.7')).toBe(expected);
  });

  it('differ between devices and between secrets, and contain nothing of the address', () => {
    const p = createPseudonymizer(secret);
    const q = createPseudonymizer(Buffer.alloc(32, 1));
    expect(p('10.20.0.7')).not.toBe(p('10.20.0.8'));
    expect(p('10.20.0.7')).not.toBe(q('10.20.0.7'));
    expect(p('10.20.0.7')).not.toContain('10.20');
  });

  it('treat an IPv4-mapped IPv6 address and IPv6 case as the same device', () => {
    const p = createPseudonymizer(secret);
    expect(p('::ffff:10.20.0.7')).toBe(p('10.20.0.7'));
    expect(p('FD00::1')).toBe(p('fd00::1'));
  });

  it('refuse a short secret', () => {
    expect(() => createPseudonymizer(Buffer.alloc(8))).toThrow(RangeError);
  });
});
