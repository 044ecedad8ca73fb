import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findListedSuffix, isSameOrSubdomain, MAX_DOMAIN_OCTETS, normalizeDomain, normalizeDomainBytes } from '../../../src/dns/domain-name.ts';

const label63 = 'a'.repeat(63);
/** 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 octets. */
const name253 = `${label63}.${label63}.${label63}.${'b'.repeat(61)}`;
const name254 = `${label63}.${label63}.${label63}.${'b'.repeat(62)}`;

/**
 * The conformance corpus: every input with the one result both paths must give
 * (undefined = not a valid name). Strings go to the bytes path as UTF-8; Buffers go to the
 * text path decoded as Latin-1.
 */
const CORPUS: [input: string | Buffer, expected: string | undefined, why: string][] = [
  ['example.com', 'example.com', 'plain'],
  ['WWW.TikTok.COM', 'www.tiktok.com', 'uppercase is lowercased'],
  ['example.com.', 'example.com', 'one trailing dot is dropped'],
  ['example.com..', undefined, 'two trailing dots'],
  ['.', undefined, 'the root alone'],
  ['', undefined, 'empty'],
  ['.example.com', undefined, 'leading empty label'],
  ['a..example.com', undefined, 'empty label inside'],
  ['com', undefined, 'single label'],
  ['com.', undefined, 'single label with trailing dot'],
  ['localhost', undefined, 'single label'],
  [`${label63}.com`, `${label63}.com`, '63-octet label'],
  [`${label63}a.com`, undefined, '64-octet label'],
  [`com.${label63}`, `com.${label63}`, '63-octet last label'],
  [name253, name253, '253 octets'],
  [`${name253}.`, name253, '253 octets plus the trailing dot'],
  [name254, undefined, '254 octets'],
  ['_dmarc.example.com', '_dmarc.example.com', 'leading underscore'],
  ['a_b.example.com', 'a_b.example.com', 'underscore inside'],
  ['_.example.com', '_.example.com', 'underscore alone'],
  ['-a.example.com', undefined, 'leading hyphen'],
  ['a-.example.com', undefined, 'trailing hyphen'],
  ['a.-com', undefined, 'leading hyphen in the last label'],
  ['a.com-', undefined, 'trailing hyphen in the last label'],
  ['-.com', undefined, 'hyphen alone'],
  ['a--b.com', 'a--b.com', 'double hyphen inside'],
  ['xn--bcher-kva.example', 'xn--bcher-kva.example', 'punycode'],
  ['1x.example', '1x.example', 'leading digit'],
  ['1.2.3.4', '1.2.3.4', 'all digits (looks like an IPv4 address; a name all the same)'],
  ['*.example.com', undefined, 'wildcard'],
  ['a/b.com', undefined, 'slash'],
  ['a@b.com', undefined, 'at sign'],
  ['a:b.com', undefined, 'colon'],
  ['ä.com', undefined, 'non-ASCII letter'],
  ['bücher.de', undefined, 'IDN in Unicode form'],
  ['\u212Aa.com', undefined, 'Kelvin sign (String#toLowerCase folds it into "k")'],
  ['\u0130.com', undefined, 'dotted capital I'],
  ['\u017F.com', undefined, 'long s'],
  [Buffer.from([0x61, 0xff, 0x2e, 0x63, 0x6f, 0x6d]), undefined, 'byte 0xff'],
  [Buffer.from([0x61, 0x80, 0x2e, 0x63, 0x6f, 0x6d]), undefined, 'byte 0x80'],
  ['a\u0000.com', undefined, 'NUL'],
  ['a\u007f.com', undefined, 'DEL'],
  [' example.com', 'example.com', 'leading space'],
  ['example.com ', 'example.com', 'trailing space'],
  ['\t example.com\r\n', 'example.com', 'tab, CR, LF around'],
  ['example.com. ', 'example.com', 'trailing dot, then space'],
  ['example.com .', undefined, 'space before the trailing dot'],
  ['exa mple.com', undefined, 'space inside'],
  ['exa\tmple.com', undefined, 'tab inside'],
  ['   ', undefined, 'only spaces'],
  ['example.com\u00a0', undefined, 'no-break space (not ASCII whitespace)'],
  ['\ufeffexample.com', undefined, 'byte order mark'],
];

function viaText(input: string | Buffer): string | undefined {
  return normalizeDomain(typeof input === 'string' ? input : input.toString('latin1'));
}

/** The bytes path, with the name placed inside a larger buffer to exercise start and end. */
function viaBytes(input: string | Buffer): string | undefined {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const framed = Buffer.concat([Buffer.from('##'), bytes, Buffer.from('##')]);
  const out = new Uint8Array(MAX_DOMAIN_OCTETS);
  const length = normalizeDomainBytes(framed, 2, 2 + bytes.length, out);
  return length < 0 ? undefined : Buffer.from(out.subarray(0, length)).toString('latin1');
}

describe('domain-name conformance corpus', () => {
  it.each(CORPUS.map(([input, expected, why]) => [why, input, expected] as const))('%s', (_why, input, expected) => {
    expect(viaText(input)).toBe(expected);
    expect(viaBytes(input)).toBe(expected);
  });

  /** The rules of the module header, written as plainly as possible, as an independent oracle. */
  function oracle(text: string): string | undefined {
    let name = text.replace(/^[\t\n\v\f\r ]+|[\t\n\v\f\r ]+$/g, '');
    if (name.endsWith('.')) name = name.slice(0, -1);
    if ([...name].some((c) => c.charCodeAt(0) > 0x7f)) return undefined;
    name = name.replace(/[A-Z]/g, (c) => c.toLowerCase());
    if (name.length === 0 || name.length > 253) return undefined;
    const labels = name.split('.');
    if (labels.length < 2) return undefined;
    return labels.every((l) => /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/.test(l)) ? name : undefined;
  }

  it('both paths agree with each other and with the stated rules on random names (property)', () => {
    const char = fc.constantFrom('a', 'B', 'z', '0', '9', '-', '_', '.', '.', ' ', '\t', 'é', '\u212A', '*', '\u0000');
    const names = fc.oneof(
      fc.array(char, { maxLength: 24 }).map((cs) => cs.join('')),
      fc.array(fc.stringMatching(/^[a-z0-9_-]{0,70}$/), { minLength: 1, maxLength: 6 }).map((labels) => labels.join('.')),
    );
    fc.assert(
      fc.property(names, (name) => {
        const expected = oracle(name);
        expect(viaText(name)).toBe(expected);
        expect(viaBytes(name)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('writes only the name into out, so a buffer of MAX_DOMAIN_OCTETS is enough', () => {
    const out = new Uint8Array(MAX_DOMAIN_OCTETS + 1).fill(0x21);
    const input = Buffer.from(`  ${name253.toUpperCase()}.  `);
    expect(normalizeDomainBytes(input, 0, input.length, out)).toBe(253);
    expect(out[253]).toBe(0x21);
  });
});

describe('findListedSuffix (the parent-domain walk)', () => {
  const listed = new Set(['example.com', 'ads.example.net', 'org']);

  it('finds the name itself, then the nearest listed parent', () => {
    expect(findListedSuffix('example.com', listed)).toBe('example.com');
    expect(findListedSuffix('www.example.com', listed)).toBe('example.com');
    expect(findListedSuffix('a.b.ads.example.net', listed)).toBe('ads.example.net');
    expect(findListedSuffix('a.b.c', new Set(['c', 'b.c']))).toBe('b.c');
  });

  it('never matches a look-alike or a sibling', () => {
    expect(findListedSuffix('badexample.com', listed)).toBeUndefined();
    expect(findListedSuffix('example.net', listed)).toBeUndefined();
    expect(findListedSuffix('', listed)).toBeUndefined();
    expect(findListedSuffix('example.com', new Set())).toBeUndefined();
  });

  it('with from "parent", skips the name itself', () => {
    expect(findListedSuffix('example.com', listed, 'parent')).toBeUndefined();
    expect(findListedSuffix('www.example.com', listed, 'parent')).toBe('example.com');
    expect(findListedSuffix('example.org', listed, 'parent')).toBe('org');
  });

  it('takes a Map as the lookup (lists check walks entries by name)', () => {
    const entries = new Map([['example.com', { line: 3 }]]);
    const parent = findListedSuffix('cdn.example.com', entries, 'parent');
    expect(parent).toBe('example.com');
    expect(entries.get(parent as string)?.line).toBe(3);
  });
});

describe('isSameOrSubdomain', () => {
  it.each([
    ['example.com', 'example.com', true],
    ['www.example.com', 'example.com', true],
    ['a.b.example.com', 'example.com', true],
    ['badexample.com', 'example.com', false],
    ['example.com', 'www.example.com', false],
    ['com', 'example.com', false],
    ['xexample.com', 'example.com', false],
  ] as const)('%s under %s: %s', (name, domain, expected) => {
    expect(isSameOrSubdomain(name, domain)).toBe(expected);
  });
});
