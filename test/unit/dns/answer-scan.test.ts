import { describe, expect, it } from 'vitest';
import { scanAnswer, questionMatches } from '../../../src/dns/answer-scan.ts';
import { RCODE, TYPE } from '../../../src/dns/constants.ts';

interface RR {
  owner?: Buffer;
  type: number;
  cls?: number;
  ttl: number;
  rdata: Buffer;
}

const QNAME_PTR = Buffer.from([0xc0, 12]);

function wireName(name: string, end: Buffer = Buffer.from([0])): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.split('.').filter((l) => l !== '')) {
    const bytes = Buffer.from(label, 'latin1');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(end);
  return Buffer.concat(parts);
}

function question(name: string, type: number = TYPE.A, cls = 1): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(cls, 2);
  return Buffer.concat([wireName(name), tail]);
}

function rr(r: RR): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(r.type, 0);
  fixed.writeUInt16BE(r.cls ?? 1, 2);
  fixed.writeUInt32BE(r.ttl >>> 0, 4);
  fixed.writeUInt16BE(r.rdata.length, 8);
  return Buffer.concat([r.owner ?? QNAME_PTR, fixed, r.rdata]);
}

function answer(spec: { flags?: number; qname?: string; qtype?: number; an?: RR[]; ns?: RR[]; ar?: RR[] }): { buf: Buffer; questionEnd: number } {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(0x5555, 0);
  header.writeUInt16BE(spec.flags ?? 0x8180, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(spec.an?.length ?? 0, 6);
  header.writeUInt16BE(spec.ns?.length ?? 0, 8);
  header.writeUInt16BE(spec.ar?.length ?? 0, 10);
  const q = question(spec.qname ?? 'www.example.com', spec.qtype ?? TYPE.A);
  const records = [...(spec.an ?? []), ...(spec.ns ?? []), ...(spec.ar ?? [])].map(rr);
  return { buf: Buffer.concat([header, q, ...records]), questionEnd: 12 + q.length };
}

const A = (ttl: number, owner?: Buffer): RR => ({ owner, type: TYPE.A, ttl, rdata: Buffer.from([192, 0, 2, 1]) });
const OPT = (flagsTtl = 0x8000, rdata = Buffer.alloc(0)): RR => ({ owner: Buffer.from([0]), type: TYPE.OPT, cls: 1232, ttl: flagsTtl, rdata });

function soaRdata(minimum: number): Buffer {
  const numbers = Buffer.alloc(20);
  numbers.writeUInt32BE(2024010101, 0);
  numbers.writeUInt32BE(7200, 4);
  numbers.writeUInt32BE(3600, 8);
  numbers.writeUInt32BE(1209600, 12);
  numbers.writeUInt32BE(minimum >>> 0, 16);
  return Buffer.concat([wireName('ns1.example.com'), wireName('hostmaster.example.com'), numbers]);
}
const SOA = (ttl: number, minimum: number): RR => ({ owner: Buffer.from([0xc0, 16]), type: TYPE.SOA, ttl, rdata: soaRdata(minimum) });

/** Offsets of every TTL field, found by walking the test's own layout. */
function ttlAt(buf: Buffer, offsets: number[]): number[] {
  return offsets.map((o) => buf.readUInt32BE(o));
}

describe('scanAnswer: addresses (for the response-ip stage)', () => {
  it('records where the IN A and AAAA rdata of the answer section are, and only those', () => {
    const a: RR = { type: TYPE.A, ttl: 60, rdata: Buffer.from([101, 45, 0, 1]) };
    const aaaa: RR = { type: TYPE.AAAA, ttl: 60, rdata: Buffer.from('2402e7c0000000000000000000000001', 'hex') };
    const chaos: RR = { type: TYPE.A, ttl: 60, cls: 3, rdata: Buffer.from([9, 9, 9, 9]) };
    const shortA: RR = { type: TYPE.A, ttl: 60, rdata: Buffer.from([1, 2]) };
    const glue: RR = { owner: wireName('ns.example.net'), type: TYPE.A, ttl: 90, rdata: Buffer.from([5, 6, 7, 8]) };
    const { buf, questionEnd } = answer({ an: [a, chaos, shortA, aaaa], ar: [glue] });
    const scan = scanAnswer(buf, questionEnd);
    expect(scan?.aOffsets).toHaveLength(1);
    expect([...buf.subarray(scan?.aOffsets[0], (scan?.aOffsets[0] ?? 0) + 4)]).toEqual([101, 45, 0, 1]);
    expect(scan?.aaaaOffsets).toHaveLength(1);
    expect(buf.subarray(scan?.aaaaOffsets[0], (scan?.aaaaOffsets[0] ?? 0) + 16).toString('hex')).toBe('2402e7c0000000000000000000000001');
  });

  it('shares one empty list between answers without addresses', () => {
    const ns: RR = { owner: wireName('example.net'), type: TYPE.NS, ttl: 3600, rdata: wireName('ns.example.net') };
    const one = answer({ an: [ns] });
    const two = answer({ an: [ns] });
    const first = scanAnswer(one.buf, one.questionEnd);
    expect(first?.aOffsets).toEqual([]);
    expect(first?.aOffsets).toBe(scanAnswer(two.buf, two.questionEnd)?.aaaaOffsets);
  });
});

describe('scanAnswer: positive answers', () => {
  it('finds TTLs, the OPT range, CNAME targets and the min TTL', () => {
    const cname: RR = { type: TYPE.CNAME, ttl: 300, rdata: wireName('cdn.Example.NET') };
    const target: RR = { owner: wireName('cdn.example.net'), type: TYPE.A, ttl: 120, rdata: Buffer.from([1, 2, 3, 4]) };
    const ns: RR = { owner: wireName('example.net'), type: TYPE.NS, ttl: 3600, rdata: wireName('ns.example.net') };
    const glue: RR = { owner: wireName('ns.example.net'), type: TYPE.A, ttl: 90, rdata: Buffer.from([5, 6, 7, 8]) };
    const { buf, questionEnd } = answer({ an: [cname, target], ns: [ns], ar: [glue, OPT()] });
    const scan = scanAnswer(buf, questionEnd);
    expect(scan).toBeDefined();
    if (!scan) return;
    expect(scan.rcode).toBe(0);
    expect(scan.truncated).toBe(false);
    expect(scan.cnameTargets).toEqual(['cdn.example.net']);
    expect(scan.ttlOffsets).toHaveLength(4);
    expect(ttlAt(buf, scan.ttlOffsets)).toEqual([300, 120, 3600, 90]);
    expect(scan.cacheTtl).toBe(90);
    expect(scan.optEnd).toBe(buf.length);
    expect(scan.optStart).toBe(buf.length - 11);
    expect(buf[scan.optStart]).toBe(0);
    expect(buf.readUInt16BE(scan.optStart + 1)).toBe(TYPE.OPT);
  });

  it('excludes the OPT from TTLs (an OPT "TTL" of 0 does not make the answer uncacheable)', () => {
    const { buf, questionEnd } = answer({ an: [A(300)], ar: [OPT(0)] });
    const scan = scanAnswer(buf, questionEnd);
    expect(scan?.ttlOffsets).toEqual([questionEnd + 2 + 4]);
    expect(scan?.cacheTtl).toBe(300);
  });

  it('reports -1/-1 when there is no OPT', () => {
    const { buf, questionEnd } = answer({ an: [A(60)] });
    expect(scanAnswer(buf, questionEnd)).toMatchObject({ optStart: -1, optEnd: -1, cacheTtl: 60, cnameTargets: [] });
  });

  it('finds TTL offsets of records after the OPT', () => {
    const after = A(45, wireName('x.example'));
    const { buf, questionEnd } = answer({ an: [A(300)], ar: [OPT(), after] });
    const scan = scanAnswer(buf, questionEnd);
    expect(scan).toBeDefined();
    if (!scan) return;
    expect(scan.ttlOffsets).toHaveLength(2);
    expect(scan.ttlOffsets[1]).toBeGreaterThan(scan.optEnd);
    expect(ttlAt(buf, scan.ttlOffsets)).toEqual([300, 45]);
    expect(scan.cacheTtl).toBe(45);
  });

  it('reads compressed CNAME targets', () => {
    // www.example.com CNAME cdn.<pointer to "example.com" in the question>
    const cname: RR = { type: TYPE.CNAME, ttl: 300, rdata: Buffer.concat([Buffer.from([3]), Buffer.from('CDN'), Buffer.from([0xc0, 16])]) };
    const { buf, questionEnd } = answer({ an: [cname] });
    expect(scanAnswer(buf, questionEnd)?.cnameTargets).toEqual(['cdn.example.com']);
  });

  it('reads a CNAME chain with targets compressed against earlier targets', () => {
    // www.example.com CNAME a.tiktokcdn.com; a.tiktokcdn.com CNAME b.<ptr to tiktokcdn.com>
    const { buf: first } = answer({ an: [{ type: TYPE.CNAME, ttl: 300, rdata: wireName('a.tiktokcdn.com') }] });
    const targetOffset = first.length - wireName('a.tiktokcdn.com').length;
    const second: RR = {
      owner: Buffer.from([0xc0, targetOffset]),
      type: TYPE.CNAME,
      ttl: 200,
      rdata: Buffer.concat([Buffer.from([1, 0x62]), Buffer.from([0xc0, targetOffset + 2])]),
    };
    const { buf, questionEnd } = answer({ an: [{ type: TYPE.CNAME, ttl: 300, rdata: wireName('a.tiktokcdn.com') }, second, A(100, Buffer.from([0xc0, first.length]))] });
    const scan = scanAnswer(buf, questionEnd);
    expect(scan?.cnameTargets).toEqual(['a.tiktokcdn.com', 'b.tiktokcdn.com']);
    expect(scan?.cacheTtl).toBe(100);
  });

  it('ignores CNAMEs outside the answer section', () => {
    const cname: RR = { owner: wireName('x.example'), type: TYPE.CNAME, ttl: 300, rdata: wireName('tiktok.com') };
    const { buf, questionEnd } = answer({ an: [A(300)], ns: [cname], ar: [cname] });
    expect(scanAnswer(buf, questionEnd)?.cnameTargets).toEqual([]);
  });

  it('treats TTLs with the top bit set as 0', () => {
    const { buf, questionEnd } = answer({ an: [A(0x80000000), A(300)] });
    expect(scanAnswer(buf, questionEnd)?.cacheTtl).toBe(0);
    const { buf: b2, questionEnd: q2 } = answer({ an: [A(0x7fffffff)] });
    expect(scanAnswer(b2, q2)?.cacheTtl).toBe(0x7fffffff);
  });

  it('a TTL of 0 makes the answer uncacheable', () => {
    const { buf, questionEnd } = answer({ an: [A(300), A(0)] });
    expect(scanAnswer(buf, questionEnd)?.cacheTtl).toBe(0);
  });

  it('reports TC', () => {
    const { buf, questionEnd } = answer({ flags: 0x8380 });
    expect(scanAnswer(buf, questionEnd)?.truncated).toBe(true);
  });

  it('keeps unknown record types (their TTL counts)', () => {
    const https: RR = { type: TYPE.HTTPS, ttl: 77, rdata: Buffer.from([0, 1, 0]) };
    const private65280: RR = { type: 65280, ttl: 66, rdata: Buffer.alloc(300, 0xab) };
    const { buf, questionEnd } = answer({ an: [https, private65280] });
    const scan = scanAnswer(buf, questionEnd);
    expect(scan?.ttlOffsets).toHaveLength(2);
    expect(scan?.cacheTtl).toBe(66);
  });
});

describe('scanAnswer: negative answers (RFC 2308)', () => {
  it('NXDOMAIN: min(SOA TTL, SOA minimum)', () => {
    const a = answer({ flags: 0x8183, ns: [SOA(900, 300)] });
    expect(scanAnswer(a.buf, a.questionEnd)).toMatchObject({ rcode: RCODE.NXDOMAIN, cacheTtl: 300 });
    const b = answer({ flags: 0x8183, ns: [SOA(100, 300)] });
    expect(scanAnswer(b.buf, b.questionEnd)?.cacheTtl).toBe(100);
  });

  it('NODATA (NOERROR, no answers): min(SOA TTL, SOA minimum)', () => {
    const a = answer({ ns: [SOA(3600, 600)], ar: [OPT()] });
    expect(scanAnswer(a.buf, a.questionEnd)).toMatchObject({ rcode: 0, cacheTtl: 600 });
    const b = answer({ ns: [SOA(30, 600)] });
    expect(scanAnswer(b.buf, b.questionEnd)?.cacheTtl).toBe(30);
  });

  it('negative answers without an SOA are not cached', () => {
    const nx = answer({ flags: 0x8183 });
    expect(scanAnswer(nx.buf, nx.questionEnd)?.cacheTtl).toBe(0);
    const nodata = answer({ ar: [OPT()] });
    expect(scanAnswer(nodata.buf, nodata.questionEnd)?.cacheTtl).toBe(0);
    // A referral-shaped NODATA (NS in authority, no SOA) is not cacheable either.
    const referral = answer({ ns: [{ owner: wireName('example.com'), type: TYPE.NS, ttl: 3600, rdata: wireName('ns.example.com') }] });
    expect(scanAnswer(referral.buf, referral.questionEnd)?.cacheTtl).toBe(0);
  });

  it('an SOA in the additional section does not count', () => {
    const a = answer({ flags: 0x8183, ar: [SOA(900, 300)] });
    expect(scanAnswer(a.buf, a.questionEnd)?.cacheTtl).toBe(0);
  });

  it('a negative SOA TTL of 0 means not cacheable', () => {
    const a = answer({ flags: 0x8183, ns: [SOA(0, 300)] });
    expect(scanAnswer(a.buf, a.questionEnd)?.cacheTtl).toBe(0);
    const b = answer({ flags: 0x8183, ns: [SOA(300, 0)] });
    expect(scanAnswer(b.buf, b.questionEnd)?.cacheTtl).toBe(0);
  });

  // BUG: for NXDOMAIN the cache lifetime is the SOA's negative TTL alone; records in the answer
  // section (a CNAME chain ending in NXDOMAIN, RFC 2308 §2.1) are ignored, so a 10 s CNAME is
  // served from cache for 300 s (its TTL aged to 0 after 10 s). Input: NXDOMAIN, answer
  // www.example.com CNAME gone.example.net TTL 10, authority SOA TTL 900 MINIMUM 300 → cacheTtl 300.
  it('NXDOMAIN behind a CNAME: never longer than the CNAME TTL', () => {
    const cname: RR = { type: TYPE.CNAME, ttl: 10, rdata: wireName('gone.example.net') };
    const a = answer({ flags: 0x8183, an: [cname], ns: [SOA(900, 300)] });
    expect(scanAnswer(a.buf, a.questionEnd)?.cacheTtl).toBe(10);
  });

  // BUG: NODATA behind a CNAME (NOERROR, only a CNAME in the answer, SOA in authority; RFC 2308
  // §2.2) is scanned as a positive answer, so the SOA's own TTL is used instead of
  // min(SOA TTL, SOA MINIMUM). Input: CNAME TTL 300 + SOA TTL 3600 MINIMUM 60 → cacheTtl 300, not 60.
  it('NODATA behind a CNAME: the negative TTL caps the lifetime', () => {
    const cname: RR = { type: TYPE.CNAME, ttl: 300, rdata: wireName('target.example.net') };
    const soa: RR = { owner: wireName('example.net'), type: TYPE.SOA, ttl: 3600, rdata: soaRdata(60) };
    const a = answer({ qtype: TYPE.AAAA, an: [cname], ns: [soa] });
    expect(scanAnswer(a.buf, a.questionEnd)?.cacheTtl).toBe(60);
  });

  it('SERVFAIL and REFUSED are never cacheable', () => {
    for (const rcode of [RCODE.SERVFAIL, RCODE.REFUSED, RCODE.FORMERR, RCODE.NOTIMP]) {
      const a = answer({ flags: 0x8180 | rcode, an: [A(300)], ns: [SOA(900, 300)] });
      expect(scanAnswer(a.buf, a.questionEnd)).toMatchObject({ rcode, cacheTtl: 0 });
    }
  });
});

describe('scanAnswer: malformed answers', () => {
  it('a record that runs past the end', () => {
    const { buf, questionEnd } = answer({ an: [A(300)] });
    for (let cut = questionEnd; cut < buf.length; cut++) expect(scanAnswer(buf.subarray(0, cut), questionEnd), `cut ${cut}`).toBeUndefined();
  });

  it('counts larger than the records present', () => {
    const { buf, questionEnd } = answer({ an: [A(300)] });
    buf.writeUInt16BE(2, 6);
    expect(scanAnswer(buf, questionEnd)).toBeUndefined();
  });

  it('a bad owner name', () => {
    const { buf, questionEnd } = answer({ an: [A(300, Buffer.from([0x45, 0]))] });
    expect(scanAnswer(buf, questionEnd)).toBeUndefined();
  });

  it('two OPT records', () => {
    const { buf, questionEnd } = answer({ ar: [OPT(), OPT()] });
    expect(scanAnswer(buf, questionEnd)).toBeUndefined();
  });

  it('an OPT in the answer or authority section', () => {
    const a = answer({ an: [OPT()] });
    expect(scanAnswer(a.buf, a.questionEnd)).toBeUndefined();
    const b = answer({ an: [A(30)], ns: [OPT()] });
    expect(scanAnswer(b.buf, b.questionEnd)).toBeUndefined();
  });

  // BUG: an OPT whose owner is not the root is accepted, and renderAnswer (which assumes a
  // one-octet owner) then writes the payload size 1232 over the record's TYPE field and masks
  // its CLASS. Input: additional record [01 'a' 00][TYPE 41][CLASS 1232][TTL 0][RDLEN 0].
  it('an OPT not owned by the root', () => {
    const { buf, questionEnd } = answer({ an: [A(30)], ar: [{ ...OPT(), owner: wireName('a') }] });
    expect(scanAnswer(buf, questionEnd)).toBeUndefined();
  });

  it('a CNAME target with a forward pointer or a loop', () => {
    const forward = answer({ an: [{ type: TYPE.CNAME, ttl: 30, rdata: Buffer.from([0xc0, 0xff]) }] });
    expect(scanAnswer(forward.buf, forward.questionEnd)).toBeUndefined();
    const self = answer({ an: [{ type: TYPE.CNAME, ttl: 30, rdata: Buffer.from([0xc0, 0]) }] });
    // Pointer to offset 0 lands in the header (ID 0x55 = 85 > 63): malformed.
    expect(scanAnswer(self.buf, self.questionEnd)).toBeUndefined();
    const { buf: probe } = answer({ an: [{ type: TYPE.CNAME, ttl: 30, rdata: Buffer.from([0, 0]) }] });
    const rdataAt = probe.length - 2;
    const loop = answer({ an: [{ type: TYPE.CNAME, ttl: 30, rdata: Buffer.from([0xc0, rdataAt]) }] });
    expect(scanAnswer(loop.buf, loop.questionEnd)).toBeUndefined();
  });

  it('a CNAME target with a label containing "."', () => {
    const a = answer({ an: [{ type: TYPE.CNAME, ttl: 30, rdata: Buffer.from([3, 0x61, 0x2e, 0x62, 0]) }] });
    expect(scanAnswer(a.buf, a.questionEnd)).toBeUndefined();
  });

  it('an SOA whose RDATA is too short', () => {
    const short = soaRdata(300).subarray(0, soaRdata(300).length - 1);
    const a = answer({ flags: 0x8183, ns: [{ owner: Buffer.from([0xc0, 16]), type: TYPE.SOA, ttl: 900, rdata: short }] });
    expect(scanAnswer(a.buf, a.questionEnd)).toBeUndefined();
  });
});

describe('questionMatches', () => {
  const sent = question('www.Example.com', TYPE.AAAA);

  it('accepts the same question, whatever the case', () => {
    expect(questionMatches(answer({ qname: 'www.Example.com', qtype: TYPE.AAAA }).buf, sent)).toBe(true);
    expect(questionMatches(answer({ qname: 'WWW.EXAMPLE.COM', qtype: TYPE.AAAA }).buf, sent)).toBe(true);
    expect(questionMatches(answer({ qname: 'www.example.com', qtype: TYPE.AAAA, an: [A(1)] }).buf, sent)).toBe(true);
  });

  it('rejects another name', () => {
    expect(questionMatches(answer({ qname: 'www.example.org', qtype: TYPE.AAAA }).buf, sent)).toBe(false);
    expect(questionMatches(answer({ qname: 'ww.example.com', qtype: TYPE.AAAA }).buf, sent)).toBe(false);
    expect(questionMatches(answer({ qname: 'wwwexample.com', qtype: TYPE.AAAA }).buf, sent)).toBe(false);
  });

  it('rejects another type or class', () => {
    expect(questionMatches(answer({ qname: 'www.example.com', qtype: TYPE.A }).buf, sent)).toBe(false);
    const chaos = answer({ qname: 'www.example.com', qtype: TYPE.AAAA });
    chaos.buf.writeUInt16BE(3, chaos.questionEnd - 2);
    expect(questionMatches(chaos.buf, sent)).toBe(false);
  });

  // BUG: the ASCII case fold is applied to QTYPE/QCLASS bytes too, so types whose octets differ
  // only by 0x20 in the 0x41-0x5a range match: sent HTTPS (65 = 0x0041), reply TYPE97 (0x0061).
  it('does not case-fold QTYPE bytes (HTTPS 0x0041 vs TYPE97 0x0061)', () => {
    const https = question('www.example.com', TYPE.HTTPS);
    expect(questionMatches(answer({ qname: 'www.example.com', qtype: 97 }).buf, https)).toBe(false);
  });

  it('rejects a reply without exactly one question', () => {
    const zero = answer({ qname: 'www.example.com', qtype: TYPE.AAAA });
    zero.buf.writeUInt16BE(0, 4);
    expect(questionMatches(zero.buf, sent)).toBe(false);
    zero.buf.writeUInt16BE(2, 4);
    expect(questionMatches(zero.buf, sent)).toBe(false);
  });

  it('rejects a reply too short to hold the question', () => {
    const { buf } = answer({ qname: 'www.example.com', qtype: TYPE.AAAA });
    expect(questionMatches(buf.subarray(0, buf.length - 1), sent)).toBe(false);
    expect(questionMatches(buf.subarray(0, 12), sent)).toBe(false);
  });
});

describe('scanAnswer: CNAME chain cap', () => {
  it('accepts 32 CNAME records and refuses 33 (MAX_CNAMES)', () => {
    const chain = (n: number): { buf: Buffer; questionEnd: number } =>
      answer({ an: Array.from({ length: n }, (_, i) => ({ type: TYPE.CNAME, ttl: 30, rdata: wireName(`c${i}.example`) })) });
    const ok = chain(32);
    expect(scanAnswer(ok.buf, ok.questionEnd)?.cnameTargets).toHaveLength(32);
    const over = chain(33);
    expect(scanAnswer(over.buf, over.questionEnd)).toBeUndefined();
  });
});
