import { describe, expect, it } from 'vitest';
import { cidrRange, coversFamily, firstUncovered, formatAddress, overlaps, rangesOf, withoutHostBits } from '../../../src/config/networks.ts';

const range = (text: string) => cidrRange(text)!;

describe('config network arithmetic', () => {
  it('turns a CIDR into its first and last address', () => {
    expect(cidrRange('10.0.0.0/8')).toEqual({ family: 4, first: 0x0a000000n, last: 0x0affffffn, text: '10.0.0.0/8' });
    expect(cidrRange('::/0')).toMatchObject({ family: 6, first: 0n, last: (1n << 128n) - 1n });
    expect(cidrRange('not a cidr')).toBeUndefined();
    expect(rangesOf(['10.0.0.0/8', 'x', '::1/128'])).toHaveLength(2);
  });

  it('overlap is per family', () => {
    expect(overlaps(range('10.0.0.0/8'), range('10.10.0.0/16'))).toBe(true);
    expect(overlaps(range('10.0.0.0/8'), range('11.0.0.0/8'))).toBe(false);
    expect(overlaps(range('0.0.0.0/0'), range('::/0'))).toBe(false);
  });

  it('finds the first address a set of ranges leaves out', () => {
    const by = rangesOf(['10.0.0.0/9', '10.128.0.0/10']);
    expect(firstUncovered(range('10.0.0.0/8'), by)).toBe(0x0ac00000n);
    expect(firstUncovered(range('10.0.0.0/8'), [...by, range('10.192.0.0/10')])).toBeUndefined();
    expect(firstUncovered(range('10.1.0.0/16'), rangesOf(['0.0.0.0/0']))).toBeUndefined();
    expect(firstUncovered(range('10.1.0.0/16'), rangesOf(['::/0']))).toBe(0x0a010000n);
  });

  it('knows when ranges cover a whole family', () => {
    expect(coversFamily(4, rangesOf(['0.0.0.0/1', '128.0.0.0/1']))).toBe(true);
    expect(coversFamily(4, rangesOf(['0.0.0.0/1', '::/0']))).toBe(false);
    expect(coversFamily(6, rangesOf(['::/0']))).toBe(true);
  });

  it('formats addresses, compressing the longest run of zero groups', () => {
    expect(formatAddress(4, 0x0a000001n)).toBe('10.0.0.1');
    expect(formatAddress(6, 0xfd000010n << 96n)).toBe('fd00:10::');
    expect(formatAddress(6, 1n)).toBe('::1');
    expect(formatAddress(6, 0n)).toBe('::');
    expect(formatAddress(6, (0x20010db8n << 96n) | (1n << 48n) | 1n)).toBe('2001:db8::1:0:0:1');
  });

  it('names the network a CIDR with host bits set stands for', () => {
    expect(withoutHostBits('10.1.2.3/8')).toBe('10.0.0.0/8');
    expect(withoutHostBits('fd00:10::1/48')).toBe('fd00:10::/48');
    expect(withoutHostBits('10.0.0.0/8')).toBeUndefined();
    expect(withoutHostBits('10.1.2.3')).toBeUndefined();
    expect(withoutHostBits('10.1.2.3/32')).toBeUndefined();
    expect(withoutHostBits('bad/8')).toBeUndefined();
  });
});
