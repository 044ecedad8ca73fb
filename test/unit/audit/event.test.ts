import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GENESIS, canonicalize, encodeEvent, eventHash, inSchemaOrder, qtypeName, sha256Hex, type EventBody } from '../../../src/audit/event.ts';

const body: EventBody = {
  ts: '2026-11-28T10:00:00.000Z',
  instance: 'a',
  segment: 'service',
  client: '10.10.0.5',
  qname: 'www.tiktok.com',
  qtype: 'A',
  action: 'blocked',
  list: 'tiktok',
  rule: 'tiktok.com',
  list_version: 'v1',
  response: 'nxdomain',
  transport: 'udp',
};

describe('event encoding', () => {
  it('canonicalizes as RFC 8785: sorted members, no whitespace, hash left out', () => {
    expect(canonicalize({ b: 1, a: 'x', hash: 'ignored', c: { z: true, y: null } })).toBe('{"a":"x","b":1,"c":{"y":null,"z":true}}');
  });

  it('the fast encoder writes the canonical text followed by the hash, and inSchemaOrder restores the schema order', () => {
    const { hash, line } = encodeEvent(body, 1, GENESIS);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(line.slice(0, line.indexOf(',"hash":')) + '}').toBe(canonicalize(parsed));
    expect(line.endsWith(`,"hash":"${hash}"}\n`)).toBe(true);
    expect(Object.keys(inSchemaOrder(parsed))).toEqual([...Object.keys(body), 'seq', 'prev', 'hash']);
    expect(parsed.hash).toBe(hash);
    expect(eventHash(parsed)).toBe(hash);
    expect(hash).toBe(sha256Hex(canonicalize({ ...body, seq: 1, prev: GENESIS })));
    expect(line.endsWith('}\n')).toBe(true);
  });

  it('leaves transport out of records that do not say it (written before the field existed), hashing what is there', () => {
    const { transport: _transport, ...older } = body;
    const { hash, line } = encodeEvent(older, 1, GENESIS);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect('transport' in parsed).toBe(false);
    expect(eventHash(parsed)).toBe(hash);
    expect(Object.keys(inSchemaOrder(parsed))).not.toContain('transport');
  });

  it('agrees with the generic canonical form for any strings (escaping, non-ASCII, quotes)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string(), fc.string({ unit: 'grapheme' }), fc.integer({ min: 1, max: 2 ** 40 }), (qname, rule, client, seq) => {
        const b = { ...body, qname, rule, client };
        const { hash, line } = encodeEvent(b, seq, GENESIS);
        const parsed = JSON.parse(line) as Record<string, unknown>;
        expect(parsed.qname).toBe(qname);
        expect(eventHash(parsed)).toBe(hash);
        expect(line.indexOf('\n')).toBe(line.length - 1);
      }),
      { numRuns: 300 },
    );
  });

  it('escapes what the fast path must not copy, wherever it comes in a name (lone surrogates, U+2028, DEL, controls, quotes)', () => {
    const odd = ['\ud800', 'a\udfffb', 'x\u2028y', 'del\x7f', 'ctl\x1f', 'q"uote', 'back\\slash', 'ünï', 'plain-then-\ud83d\ude00', ''];
    let prev = GENESIS;
    odd.forEach((value, i) => {
      const b = { ...body, qname: value, client: odd[(i + 1) % odd.length]!, rule: odd[(i + 2) % odd.length]! };
      const { hash, line } = encodeEvent(b, i + 1, prev);
      const parsed = JSON.parse(line) as Record<string, unknown>;
      expect([parsed.qname, parsed.client, parsed.rule]).toEqual([b.qname, b.client, b.rule]);
      expect(line.slice(0, line.indexOf(',"hash":')) + '}').toBe(canonicalize(parsed));
      expect(eventHash(parsed)).toBe(hash);
      prev = hash;
    });
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii' }), fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) }), (ascii, surrogates) => {
        const { hash, line } = encodeEvent({ ...body, qname: ascii + surrogates, rule: surrogates + ascii }, 1, GENESIS);
        const parsed = JSON.parse(line) as Record<string, unknown>;
        expect([parsed.qname, parsed.rule]).toEqual([ascii + surrogates, surrogates + ascii]);
        expect(eventHash(parsed)).toBe(hash);
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with the generic canonical form when the remembered fields change between events (quotes, non-ASCII, repeats)', () => {
    const value = fc.constantFrom('service', 'service', 'gäst "wifi"', 'a\\b', '', 'v1');
    fc.assert(
      fc.property(fc.array(fc.tuple(value, value, value, value, fc.constantFrom('A', 'AAAA', 'TYPE65280')), { minLength: 2, maxLength: 6 }), (events) => {
        let prev = GENESIS;
        events.forEach(([segment, list, version, instance, qtype], i) => {
          const { hash, line } = encodeEvent({ ...body, segment, list, list_version: version, instance, qtype }, i + 1, prev);
          const parsed = JSON.parse(line) as Record<string, unknown>;
          expect([parsed.segment, parsed.list, parsed.list_version, parsed.instance, parsed.qtype]).toEqual([segment, list, version, instance, qtype]);
          expect(eventHash(parsed)).toBe(hash);
          prev = hash;
        });
      }),
      { numRuns: 300 },
    );
  });

  it('encodes right when more segments, lists and rules interleave than it keeps prepared (each line re-parsed and re-hashed)', () => {
    let prev = GENESIS;
    for (let i = 0; i < 200; i++) {
      const b = { ...body, segment: `seg-${i % 13}`, list: `list-${i % 3}`, rule: i % 5 === 0 ? 'cname:x.example' : `rule-${i % 11}.example`, transport: i % 7 === 0 ? undefined : body.transport };
      const { hash, line } = encodeEvent(b, i + 1, prev);
      const parsed = JSON.parse(line) as Record<string, unknown>;
      expect([parsed.segment, parsed.list, parsed.rule, parsed.transport, parsed.seq, parsed.prev]).toEqual([b.segment, b.list, b.rule, b.transport, i + 1, prev]);
      expect(eventHash(parsed)).toBe(hash);
      prev = hash;
    }
  });

  it('names qtypes by mnemonic, others as TYPE<n> (RFC 3597)', () => {
    expect([1, 28, 65, 64, 5, 16, 255, 12345].map(qtypeName)).toEqual(['A', 'AAAA', 'HTTPS', 'SVCB', 'CNAME', 'TXT', 'ANY', 'TYPE12345']);
  });
});
