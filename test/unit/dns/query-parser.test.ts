import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RCODE } from '../../../src/dns/constants.ts';
import { isRejection, parseQuery, type ParsedQuery, type QueryRejection, udpAnswerLimit } from '../../../src/dns/query-parser.ts';
import { AnswerCache } from '../../../src/resolver/answer-cache.ts';

interface MessageSpec {
  id?: number;
  flags?: number;
  qdcount?: number;
  ancount?: number;
  nscount?: number;
  arcount?: number;
  body?: Buffer[];
}

function message(spec: MessageSpec): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(spec.id ?? 0x1234, 0);
  header.writeUInt16BE(spec.flags ?? 0x0100, 2);
  header.writeUInt16BE(spec.qdcount ?? 1, 4);
  header.writeUInt16BE(spec.ancount ?? 0, 6);
  header.writeUInt16BE(spec.nscount ?? 0, 8);
  header.writeUInt16BE(spec.arcount ?? 0, 10);
  return Buffer.concat([header, ...(spec.body ?? [])]);
}

function wireName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.split('.').filter((l) => l !== '')) {
    const bytes = Buffer.from(label, 'latin1');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function question(name: string, type = 1, cls = 1): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(cls, 2);
  return Buffer.concat([wireName(name), tail]);
}

function record(owner: Buffer, type: number, cls: number, ttl: number, rdata: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(cls, 2);
  fixed.writeUInt32BE(ttl >>> 0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([owner, fixed, rdata]);
}

function opt(options: { udp?: number; version?: number; dnssecOk?: boolean; extRcode?: number; rdata?: Buffer; owner?: Buffer } = {}): Buffer {
  const ttl = ((options.extRcode ?? 0) << 24) | ((options.version ?? 0) << 16) | (options.dnssecOk ? 0x8000 : 0);
  return record(options.owner ?? Buffer.from([0]), 41, options.udp ?? 1232, ttl, options.rdata ?? Buffer.alloc(0));
}

function ednsOption(code: number, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(code, 0);
  head.writeUInt16BE(data.length, 2);
  return Buffer.concat([head, data]);
}

function parsed(buf: Buffer): ParsedQuery {
  const result = parseQuery(buf);
  if (isRejection(result)) throw new Error(`rejected: ${JSON.stringify(result)}`);
  return result;
}

function rejected(buf: Buffer): QueryRejection {
  const result = parseQuery(buf);
  if (!isRejection(result)) throw new Error(`accepted: ${JSON.stringify(result)}`);
  return result;
}

const A_RECORD = record(Buffer.from([0xc0, 12]), 1, 1, 300, Buffer.from([192, 0, 2, 1]));

describe('parseQuery: cache key', () => {
  it('is the lowercased name with type, class and DO, and tells them apart', () => {
    const a = parsed(message({ id: 1, flags: 0x0100, body: [question('WWW.Example.com', 1, 1)] }));
    const aaaa = parsed(message({ id: 2, flags: 0x0100, body: [question('www.example.com', 28, 1)] }));
    expect(a.cacheKey).toBe(AnswerCache.key('www.example.com', 1, 1, false));
    expect(aaaa.cacheKey).not.toBe(a.cacheKey);
  });
});

describe('parseQuery: accepted queries', () => {
  it('reads header and question', () => {
    const q = parsed(message({ id: 0xbeef, flags: 0x0110, body: [question('www.example.com', 28, 1)] }));
    expect(q).toEqual({
      id: 0xbeef,
      flags: 0x0110,
      opcode: 0,
      qname: 'www.example.com',
      qtype: 28,
      qclass: 1,
      questionEnd: 12 + 17 + 4,
      edns: undefined,
      cacheKey: AnswerCache.key('www.example.com', 28, 1, false),
    });
  });

  it('lowercases the qname (ASCII only) and keeps bytes >= 0x80', () => {
    expect(parsed(message({ body: [question('WwW.TikTok.COM')] })).qname).toBe('www.tiktok.com');
    const q = parsed(message({ body: [question('\u00c9x.com')] }));
    expect(q.qname).toBe('\u00c9x.com');
  });

  it('accepts the root as qname', () => {
    const q = parsed(message({ body: [question('', 2)] }));
    expect(q.qname).toBe('');
    expect(q.questionEnd).toBe(12 + 1 + 4);
    expect(q.qtype).toBe(2);
  });


  it('keeps the flags word as received (RD, CD, AD, Z)', () => {
    expect(parsed(message({ flags: 0x0000, body: [question('a.b')] })).flags).toBe(0);
    expect(parsed(message({ flags: 0x0170, body: [question('a.b')] })).flags).toBe(0x0170);
  });

  it('reads the OPT: UDP size, version and DO', () => {
    const q = parsed(message({ arcount: 1, body: [question('example.com'), opt({ udp: 4096, version: 0, dnssecOk: true })] }));
    expect(q.edns).toEqual({ udpSize: 4096, version: 0, dnssecOk: true });
    const q2 = parsed(message({ arcount: 1, body: [question('example.com'), opt({ udp: 512, version: 1, dnssecOk: false })] }));
    expect(q2.edns).toEqual({ udpSize: 512, version: 1, dnssecOk: false });
  });

  it('reports the UDP size as sent, not clamped', () => {
    expect(parsed(message({ arcount: 1, body: [question('a.b'), opt({ udp: 100 })] })).edns?.udpSize).toBe(100);
    expect(parsed(message({ arcount: 1, body: [question('a.b'), opt({ udp: 65535 })] })).edns?.udpSize).toBe(65535);
  });

  it('reads version 255 and other flag bits without confusing them with DO', () => {
    const q = parsed(message({ arcount: 1, body: [question('a.b'), record(Buffer.from([0]), 41, 1232, 0x00ff7fff, Buffer.alloc(0))] }));
    expect(q.edns).toEqual({ udpSize: 1232, version: 255, dnssecOk: false });
  });

  it('accepts well-formed EDNS options (cookie, padding, empty option)', () => {
    const rdata = Buffer.concat([ednsOption(10, Buffer.alloc(8, 1)), ednsOption(12, Buffer.alloc(0)), ednsOption(65001, Buffer.from('x'))]);
    const q = parsed(message({ arcount: 1, body: [question('a.b'), opt({ rdata })] }));
    expect(q.edns?.udpSize).toBe(1232);
  });

  it('finds the OPT after other additional records', () => {
    const glue = record(Buffer.from([0xc0, 12]), 1, 1, 60, Buffer.from([1, 2, 3, 4]));
    const q = parsed(message({ arcount: 2, body: [question('a.b'), glue, opt({ udp: 2048 })] }));
    expect(q.edns?.udpSize).toBe(2048);
  });

  it('walks answer and authority records (e.g. a NOTIFY-like or update-shaped query)', () => {
    const q = parsed(message({ ancount: 1, nscount: 1, arcount: 1, body: [question('a.b'), A_RECORD, A_RECORD, opt({ dnssecOk: true })] }));
    expect(q.edns?.dnssecOk).toBe(true);
  });

  it('ignores trailing bytes after the counted records', () => {
    const q = parsed(message({ body: [question('a.b'), Buffer.from([1, 2, 3])] }));
    expect(q.qname).toBe('a.b');
    expect(q.questionEnd).toBe(12 + 5 + 4);
  });

  it('accepts a 255-octet qname', () => {
    const name = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.');
    expect(parsed(message({ body: [question(name)] })).qname).toBe(name);
  });
});

describe('parseQuery: dropped', () => {
  it('drops datagrams shorter than a header', () => {
    for (const size of [0, 1, 11]) expect(parseQuery(Buffer.alloc(size))).toEqual({ kind: 'drop', reason: 'short' });
  });

  it('drops responses (QR=1), whatever else they hold', () => {
    expect(parseQuery(message({ flags: 0x8180, body: [question('a.b')] }))).toEqual({ kind: 'drop', reason: 'response' });
    expect(parseQuery(message({ flags: 0x8000, qdcount: 0 }))).toEqual({ kind: 'drop', reason: 'response' });
    expect(parseQuery(message({ flags: 0xa800, qdcount: 0 }))).toEqual({ kind: 'drop', reason: 'response' });
  });
});

describe('parseQuery: NOTIMP and FORMERR', () => {
  it('answers other opcodes with NOTIMP', () => {
    for (const opcode of [1, 2, 4, 5, 15]) {
      const r = rejected(message({ id: 7, flags: (opcode << 11) | 0x0100, body: [question('a.b')] }));
      expect(r).toMatchObject({ kind: 'rcode', rcode: RCODE.NOTIMP, reason: 'opcode', id: 7, flags: (opcode << 11) | 0x0100, questionEnd: 12, edns: undefined });
    }
  });

  it('answers QDCOUNT 0 and 2 with FORMERR', () => {
    expect(rejected(message({ qdcount: 0 }))).toMatchObject({ rcode: RCODE.FORMERR, reason: 'qdcount', questionEnd: 12 });
    expect(rejected(message({ qdcount: 2, body: [question('a.b'), question('c.d')] }))).toMatchObject({ rcode: RCODE.FORMERR, reason: 'qdcount' });
    expect(rejected(message({ qdcount: 0xffff, body: [question('a.b')] }))).toMatchObject({ rcode: RCODE.FORMERR });
  });

  it('keeps ID and flags in rejections', () => {
    const r = rejected(message({ id: 0xabcd, flags: 0x0110, qdcount: 0 }));
    expect(r).toMatchObject({ id: 0xabcd, flags: 0x0110 });
  });

  it('a header alone (no question bytes) is FORMERR', () => {
    expect(rejected(message({}))).toMatchObject({ rcode: RCODE.FORMERR, reason: 'qname' });
  });

  it('a truncated question is FORMERR', () => {
    const full = message({ body: [question('www.example.com')] });
    for (let cut = 13; cut < full.length; cut++) {
      const r = rejected(full.subarray(0, cut));
      expect(r.kind, `cut at ${cut}`).toBe('rcode');
      if (r.kind === 'rcode') expect(r.rcode).toBe(RCODE.FORMERR);
    }
  });

  it('a missing QTYPE/QCLASS is FORMERR (reason question)', () => {
    const buf = message({ body: [wireName('a.b'), Buffer.from([0, 1, 0])] });
    expect(rejected(buf)).toMatchObject({ rcode: RCODE.FORMERR, reason: 'question', questionEnd: 12 });
  });

  it('a compression pointer in the qname is FORMERR', () => {
    const buf = message({ body: [Buffer.from([1, 0x61, 0xc0, 12, 0, 1, 0, 1])] });
    expect(rejected(buf)).toMatchObject({ rcode: RCODE.FORMERR, reason: 'qname' });
    expect(rejected(message({ body: [Buffer.from([0xc0, 0, 0, 1, 0, 1])] }))).toMatchObject({ rcode: RCODE.FORMERR });
  });

  it('a label length above 63 is FORMERR', () => {
    const buf = message({ body: [Buffer.from([0x40]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])] });
    expect(rejected(buf)).toMatchObject({ rcode: RCODE.FORMERR, reason: 'qname' });
    expect(rejected(message({ body: [Buffer.from([0x80, 0, 0, 1, 0, 1])] }))).toMatchObject({ rcode: RCODE.FORMERR });
  });

  it('a qname longer than 255 octets is FORMERR', () => {
    const name = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(62)].join('.');
    expect(rejected(message({ body: [question(name)] }))).toMatchObject({ rcode: RCODE.FORMERR, reason: 'qname' });
  });

  it('a label containing "." is FORMERR', () => {
    const buf = message({ body: [Buffer.from([3, 0x61, 0x2e, 0x62, 3, 0x63, 0x6f, 0x6d, 0, 0, 1, 0, 1])] });
    expect(rejected(buf)).toMatchObject({ rcode: RCODE.FORMERR, reason: 'qname' });
  });

  it('two OPT records are FORMERR', () => {
    const r = rejected(message({ arcount: 2, body: [question('a.b'), opt(), opt()] }));
    expect(r).toMatchObject({ rcode: RCODE.FORMERR, reason: 'opt', questionEnd: 12 + 5 + 4, edns: undefined });
  });

  it('an OPT not owned by the root is FORMERR', () => {
    expect(rejected(message({ arcount: 1, body: [question('a.b'), opt({ owner: wireName('x') })] }))).toMatchObject({ rcode: RCODE.FORMERR, reason: 'opt' });
    expect(rejected(message({ arcount: 1, body: [question('a.b'), opt({ owner: Buffer.from([0xc0, 12]) })] }))).toMatchObject({ rcode: RCODE.FORMERR, reason: 'opt' });
  });

  it('an OPT in the answer or authority section is FORMERR', () => {
    expect(rejected(message({ ancount: 1, body: [question('a.b'), opt()] }))).toMatchObject({ rcode: RCODE.FORMERR, reason: 'opt' });
    expect(rejected(message({ nscount: 1, body: [question('a.b'), opt()] }))).toMatchObject({ rcode: RCODE.FORMERR, reason: 'opt' });
  });

  it('malformed EDNS options are FORMERR', () => {
    const cases = [
      Buffer.from([0, 10]), // option header cut short
      Buffer.from([0, 10, 0]),
      Buffer.from([0, 10, 0, 8, 1, 2, 3]), // length 8, 3 octets present
      Buffer.concat([ednsOption(12, Buffer.alloc(2)), Buffer.from([0xff])]), // trailing octet
    ];
    for (const rdata of cases) {
      expect(rejected(message({ arcount: 1, body: [question('a.b'), opt({ rdata })] })), rdata.toString('hex')).toMatchObject({
        rcode: RCODE.FORMERR,
        reason: 'opt-options',
      });
    }
  });

  it('records that run past the end are FORMERR', () => {
    // ARCOUNT says 1 but nothing follows.
    expect(rejected(message({ arcount: 1, body: [question('a.b')] }))).toMatchObject({ rcode: RCODE.FORMERR, reason: 'record' });
    // OPT with RDLENGTH beyond the datagram.
    const full = message({ arcount: 1, body: [question('a.b'), opt({ rdata: ednsOption(10, Buffer.alloc(8)) })] });
    expect(rejected(full.subarray(0, full.length - 1))).toMatchObject({ rcode: RCODE.FORMERR, reason: 'record' });
    // OPT header cut inside the fixed fields.
    expect(rejected(full.subarray(0, 12 + 9 + 5))).toMatchObject({ rcode: RCODE.FORMERR, reason: 'record' });
  });

  it('FORMERR after the question keeps questionEnd so the reply can echo it', () => {
    const r = rejected(message({ arcount: 1, body: [question('Mixed.Case'), Buffer.from([0])] }));
    expect(r).toMatchObject({ rcode: RCODE.FORMERR, questionEnd: 12 + 12 + 4 });
  });
});

describe('parseQuery: robustness', () => {
  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const result = parseQuery(Buffer.from(bytes));
        if (isRejection(result)) {
          if (result.kind === 'rcode') {
            expect([RCODE.FORMERR, RCODE.NOTIMP]).toContain(result.rcode);
            expect(result.questionEnd).toBeGreaterThanOrEqual(12);
            expect(result.questionEnd).toBeLessThanOrEqual(bytes.length);
          }
        } else {
          expect(result.questionEnd).toBeLessThanOrEqual(bytes.length);
          expect(result.questionEnd).toBeGreaterThanOrEqual(12 + 1 + 4);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('never throws on a valid query with random tails and counts', () => {
    const base = message({ body: [question('www.example.com')] });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(0xffff), fc.nat(0xffff), fc.nat(0xffff), (tail, an, ns, ar) => {
        const buf = Buffer.concat([base, Buffer.from(tail)]);
        buf.writeUInt16BE(an, 6);
        buf.writeUInt16BE(ns, 8);
        buf.writeUInt16BE(ar, 10);
        const result = parseQuery(buf);
        if (isRejection(result)) {
          expect(result.kind).toBe('rcode');
        } else {
          expect(result.qname).toBe('www.example.com');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a parsed qname has no upper-case ASCII and at most 253 characters', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 300 }), (bytes) => {
        const buf = Buffer.from(bytes);
        buf.writeUInt16BE(0, 2);
        buf.writeUInt16BE(1, 4);
        const result = parseQuery(buf);
        if (!isRejection(result)) {
          expect(/[A-Z]/.test(result.qname)).toBe(false);
          expect(result.qname.length).toBeLessThanOrEqual(253);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('udpAnswerLimit', () => {
  it('is 512 without EDNS, else the advertised payload size held within 512-1232', () => {
    const edns = (udpSize: number) => ({ udpSize, version: 0, dnssecOk: false });
    expect(udpAnswerLimit(undefined)).toBe(512);
    expect([0, 100, 512, 1000, 1232, 4096, 65535].map((size) => udpAnswerLimit(edns(size)))).toEqual([512, 512, 512, 1000, 1232, 1232, 1232]);
  });
});
