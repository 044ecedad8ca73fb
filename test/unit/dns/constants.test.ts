import { describe, expect, it } from 'vitest';
import { qtypeName, TYPE } from '../../../src/dns/constants.ts';

describe('qtypeName', () => {
  it('names the common types and falls back to RFC 3597 TYPE<n>', () => {
    expect([1, 28, 65, 64, 5, 16, 255, 257, 12345].map(qtypeName)).toEqual(['A', 'AAAA', 'HTTPS', 'SVCB', 'CNAME', 'TXT', 'ANY', 'CAA', 'TYPE12345']);
  });

  it('names every query type the resolver has a constant for (OPT is never a question type)', () => {
    for (const [name, code] of Object.entries(TYPE)) if (name !== 'OPT') expect(qtypeName(code), name).toBe(name);
    expect(qtypeName(TYPE.OPT)).toBe('TYPE41');
  });
});
