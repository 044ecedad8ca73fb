import dns2 from 'dns2';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EDE, FLAG, RCODE, TYPE } from '../../../src/dns/constants.ts';
import { suffixOffset } from '../../../src/dns/names.ts';
import { isRejection, parseQuery, type ParsedQuery } from '../../../src/dns/query-parser.ts';
import { edeText, SYNTH_TTL, synthesize, synthesizeInto } from '../../../src/dns/synthesize.ts';

const { Packet } = dns2;

interface QuerySpec {
  name: string;
  type?: number;
  id?: number;
  flags?: number;
  edns?: { udp?: number; dnssecOk?: boolean; version?: number };
}

/** A client query with the name's case kept byte for byte. */
function query(spec: QuerySpec): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(spec.id ?? 0x4242, 0);
  header.writeUInt16BE(spec.flags ?? 0x0100, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(spec.edns ? 1 : 0, 10);
  const parts: Buffer[] = [header];
  for (const label of spec.name.split('.').filter((l) => l !== '')) {
    const bytes = Buffer.from(label, 'latin1');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(spec.type ?? TYPE.A, 1);
  tail.writeUInt16BE(1, 3);
  parts.push(tail);
  if (spec.edns) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(TYPE.OPT, 1);
    opt.writeUInt16BE(spec.edns.udp ?? 4096, 3);
    opt.writeUInt32BE((((spec.edns.version ?? 0) << 16) | (spec.edns.dnssecOk ? 0x8000 : 0)) >>> 0, 5);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

function parse(buf: Buffer): ParsedQuery {
  const q = parseQuery(buf);
  if (isRejection(q)) throw new Error('query rejected');
  return q;
}

function decode(out: Buffer) {
  const packet = Packet.parse(out);
  expect(packet.errors).toEqual([]);
  return packet;
}

const counts = (out: Buffer): number[] => [out.readUInt16BE(4), out.readUInt16BE(6), out.readUInt16BE(8), out.readUInt16BE(10)];
const EDE_TEXT = edeText('blocked by dnsward: segment service, list tiktok');

describe('synthesize: NXDOMAIN block', () => {
  const buf = query({ name: 'WwW.TikTok.com', id: 0x1234, edns: { dnssecOk: true } });
  const q = parse(buf);
  const out = synthesize(buf, q, { rcode: RCODE.NXDOMAIN, soaOwnerOffset: suffixOffset(buf, 12, 2), ede: { code: EDE.BLOCKED, text: EDE_TEXT } });

  it('decodes cleanly with the SOA and the EDE', () => {
    const packet = decode(out);
    expect(packet.header).toMatchObject({ id: 0x1234, qr: 1, opcode: 0, aa: 0, tc: 0, rd: 1, ra: 1, z: 0, ad: 0, cd: 0, rcode: 3 });
    expect(packet.questions).toEqual([{ name: 'WwW.TikTok.com', type: TYPE.A, class: 1 }]);
    expect(packet.answers).toEqual([]);
    expect(packet.authorities).toHaveLength(1);
    expect(packet.authorities[0]).toMatchObject({
      name: 'TikTok.com',
      type: TYPE.SOA,
      class: 1,
      ttl: SYNTH_TTL,
      primary: 'dnsward.invalid',
      admin: 'hostmaster.dnsward.invalid',
      serial: 1,
      refresh: 3600,
      retry: 600,
      expiration: 86400,
      minimum: SYNTH_TTL,
    });
    expect(packet.additionals).toHaveLength(1);
    expect(packet.additionals[0]).toMatchObject({ name: '', type: TYPE.OPT, class: 1232, extendedRcode: 0, version: 0, doFlag: true });
    expect(packet.additionals[0]?.rdata).toEqual([{ ednsCode: 15, infoCode: EDE.BLOCKED, extraText: 'blocked by dnsward: segment service, list tiktok' }]);
  });

  it('has exactly the expected bytes', () => {
    const soaRdata = Buffer.concat([
      Buffer.from('\x07dnsward\x07invalid\x00', 'latin1'),
      Buffer.from('\x0ahostmaster\x07dnsward\x07invalid\x00', 'latin1'),
      Buffer.from([0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0, 0, 0x02, 0x58, 0, 1, 0x51, 0x80, 0, 0, 0, 60]),
    ]);
    const soa = Buffer.concat([Buffer.from([0xc0, 16, 0, 6, 0, 1, 0, 0, 0, 60, 0, soaRdata.length]), soaRdata]);
    const edeOption = Buffer.concat([Buffer.from([0, 15, 0, 2 + EDE_TEXT.length, 0, 15]), EDE_TEXT]);
    const optRr = Buffer.concat([Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, edeOption.length]), edeOption]);
    const header = Buffer.from([0x12, 0x34, 0x81, 0x83, 0, 1, 0, 0, 0, 1, 0, 1]);
    expect(out).toEqual(Buffer.concat([header, buf.subarray(12, q.questionEnd), soa, optRr]));
  });

  it('points the SOA owner at the rule inside the qname', () => {
    expect(out.readUInt16BE(q.questionEnd)).toBe(0xc000 | (12 + 4));
    const atName = synthesize(buf, q, { rcode: RCODE.NXDOMAIN, soaOwnerOffset: 12 });
    expect(decode(atName).authorities[0]?.name).toBe('WwW.TikTok.com');
    const atTld = synthesize(buf, q, { rcode: RCODE.NXDOMAIN, soaOwnerOffset: suffixOffset(buf, 12, 1) });
    expect(decode(atTld).authorities[0]?.name).toBe('com');
  });
});

describe('synthesize: EDNS and EDE', () => {
  it('adds no OPT (and so no EDE) when the query had no EDNS', () => {
    const buf = query({ name: 'www.tiktok.com' });
    const q = parse(buf);
    const out = synthesize(buf, q, { rcode: RCODE.NXDOMAIN, soaOwnerOffset: 16, ede: { code: EDE.BLOCKED, text: EDE_TEXT } });
    expect(counts(out)).toEqual([1, 0, 1, 0]);
    const packet = decode(out);
    expect(packet.additionals).toEqual([]);
    expect(out.includes(EDE_TEXT)).toBe(false);
  });

  it('adds an empty OPT when the query had EDNS but there is no EDE', () => {
    const buf = query({ name: 'a.example', edns: {} });
    const out = synthesize(buf, parse(buf), { rcode: RCODE.SERVFAIL });
    expect(counts(out)).toEqual([1, 0, 0, 1]);
    const opt = decode(out).additionals[0];
    expect(opt).toMatchObject({ type: TYPE.OPT, class: 1232, doFlag: false, version: 0 });
    expect(out.readUInt16BE(out.length - 2)).toBe(0); // RDLENGTH
  });

  it('advertises 1232 whatever the client advertised, and echoes DO', () => {
    for (const udp of [512, 1232, 4096, 65535]) {
      for (const dnssecOk of [false, true]) {
        const buf = query({ name: 'a.example', edns: { udp, dnssecOk } });
        const opt = decode(synthesize(buf, parse(buf), { rcode: RCODE.REFUSED })).additionals[0];
        expect(opt).toMatchObject({ class: 1232, doFlag: dnssecOk });
      }
    }
  });

  it('carries the filtered code and UTF-8 text', () => {
    const buf = query({ name: 'a.example', edns: {} });
    const text = edeText('bloqué: segment café');
    const out = synthesize(buf, parse(buf), { rcode: RCODE.NXDOMAIN, ede: { code: EDE.FILTERED, text } });
    const option = decode(out).additionals[0]?.rdata?.[0];
    expect(option).toMatchObject({ ednsCode: 15, infoCode: EDE.FILTERED });
    expect(out.subarray(out.length - text.length).toString('utf8')).toBe('bloqué: segment café');
  });

  it('BADVERS: header rcode 0, OPT extended rcode 1, version 0', () => {
    const buf = query({ name: 'a.example', edns: { version: 1 } });
    const q = parse(buf);
    expect(q.edns?.version).toBe(1);
    const out = synthesize(buf, q, { rcode: RCODE.BADVERS });
    expect(out.readUInt16BE(2) & 0xf).toBe(0);
    const optTtlAt = out.length - 6;
    expect(out[optTtlAt]).toBe(1); // extended rcode
    expect(out[optTtlAt + 1]).toBe(0); // version
    const packet = decode(out);
    expect(packet.header.rcode).toBe(16);
    expect(packet.additionals[0]).toMatchObject({ extendedRcode: 1, version: 0 });
  });
});

describe('synthesize: null address and NODATA', () => {
  it('answers A with 0.0.0.0 owned by the qname', () => {
    const buf = query({ name: 'Ads.Example.com', edns: {} });
    const q = parse(buf);
    const out = synthesize(buf, q, { rcode: RCODE.NOERROR, nullAddress: true, soaOwnerOffset: 16, ede: { code: EDE.BLOCKED, text: EDE_TEXT } });
    expect(counts(out)).toEqual([1, 1, 0, 1]);
    expect(out.readUInt16BE(q.questionEnd)).toBe(0xc00c);
    const packet = decode(out);
    expect(packet.header.rcode).toBe(0);
    expect(packet.answers).toEqual([expect.objectContaining({ name: 'Ads.Example.com', type: TYPE.A, class: 1, ttl: SYNTH_TTL, address: '0.0.0.0' })]);
    expect(packet.authorities).toEqual([]);
  });

  it('answers AAAA with ::', () => {
    const buf = query({ name: 'ads.example.com', type: TYPE.AAAA });
    const out = synthesize(buf, parse(buf), { rcode: RCODE.NOERROR, nullAddress: true, soaOwnerOffset: 12 });
    const packet = decode(out);
    expect(packet.answers).toHaveLength(1);
    expect(packet.answers[0]).toMatchObject({ type: TYPE.AAAA, address: '::' });
    expect(out.subarray(out.length - 16)).toEqual(Buffer.alloc(16));
    expect(out.readUInt16BE(out.length - 18)).toBe(16); // RDLENGTH
  });

  it('answers other types with NODATA and an SOA', () => {
    for (const type of [TYPE.MX, TYPE.TXT, TYPE.HTTPS, TYPE.CNAME]) {
      const buf = query({ name: 'ads.example.com', type });
      const q = parse(buf);
      const out = synthesize(buf, q, { rcode: RCODE.NOERROR, nullAddress: true, soaOwnerOffset: suffixOffset(buf, 12, 2) });
      expect(counts(out)).toEqual([1, 0, 1, 0]);
      const packet = decode(out);
      expect(packet.header.rcode).toBe(0);
      expect(packet.authorities[0]).toMatchObject({ name: 'example.com', type: TYPE.SOA });
    }
  });

  it('uses a given answer record instead (e.g. HINFO for ANY)', () => {
    const buf = query({ name: 'x.example', type: TYPE.ANY });
    const rdata = Buffer.from('\x07RFC8482\x00', 'latin1');
    const out = synthesize(buf, parse(buf), { rcode: RCODE.NOERROR, answer: { type: 13, ttl: 3600, rdata }, soaOwnerOffset: 12 });
    expect(counts(out)).toEqual([1, 1, 0, 0]);
    const packet = decode(out);
    expect(packet.answers[0]).toMatchObject({ name: 'x.example', type: 13, ttl: 3600 });
    expect(out.subarray(out.length - rdata.length)).toEqual(rdata);
  });
});

describe('synthesize: REFUSED, TC and header bits', () => {
  it('REFUSED carries no records besides the OPT', () => {
    const buf = query({ name: 'x.example', edns: {} });
    const out = synthesize(buf, parse(buf), { rcode: RCODE.REFUSED, ede: { code: EDE.PROHIBITED, text: Buffer.alloc(0) } });
    expect(counts(out)).toEqual([1, 0, 0, 1]);
    const packet = decode(out);
    expect(packet.header.rcode).toBe(5);
    expect(packet.additionals[0]?.rdata).toEqual([{ ednsCode: 15, infoCode: EDE.PROHIBITED, extraText: '' }]);
  });

  it('sets TC when asked', () => {
    const buf = query({ name: 'x.example' });
    const out = synthesize(buf, parse(buf), { rcode: RCODE.NOERROR, truncated: true });
    expect(decode(out).header).toMatchObject({ tc: 1, qr: 1, ra: 1, rcode: 0 });
    expect(counts(out)).toEqual([1, 0, 0, 0]);
    expect(synthesize(buf, parse(buf), { rcode: RCODE.NOERROR }).readUInt16BE(2) & 0x0200).toBe(0);
  });

  it('copies RD and CD, sets QR and RA, clears AA, TC, AD and Z', () => {
    const cases: [number, number][] = [
      [0x0000, 0x8080],
      [0x0100, 0x8180],
      [0x0010, 0x8090],
      [0x0110, 0x8190],
      // AA, TC, Z and AD set by the client are not echoed.
      [0x07f0, 0x8190],
    ];
    for (const [queryFlags, replyFlags] of cases) {
      const buf = query({ name: 'x.example', flags: queryFlags });
      const out = synthesize(buf, parse(buf), { rcode: RCODE.NOERROR });
      expect(out.readUInt16BE(2), queryFlags.toString(16)).toBe(replyFlags);
    }
  });

  it('copies the opcode (NOTIMP replies) and answers without a question when there is none', () => {
    const buf = query({ name: 'x.example', flags: (2 << 11) | 0x0100 });
    const rejection = parseQuery(buf);
    expect(rejection).toMatchObject({ kind: 'rcode', rcode: RCODE.NOTIMP });
    if (!isRejection(rejection) || rejection.kind !== 'rcode') throw new Error('unreachable');
    const out = synthesize(buf, rejection, { rcode: rejection.rcode });
    expect(out).toHaveLength(12);
    expect(out.readUInt16BE(0)).toBe(0x4242);
    expect((out.readUInt16BE(2) >> 11) & 0xf).toBe(2);
    expect(out.readUInt16BE(2) & 0xf).toBe(RCODE.NOTIMP);
    // RA only answers standard queries: NOTIMP to another opcode claims nothing (genreport "opcode").
    expect(out.readUInt16BE(2) & FLAG.RA).toBe(0);
    expect(counts(out)).toEqual([0, 0, 0, 0]);
  });

  it('without a question, adds neither an answer nor an SOA', () => {
    const buf = query({ name: 'x.example' });
    const view = { id: 9, flags: 0x0100, questionEnd: 12, qtype: TYPE.A, edns: undefined };
    const out = synthesize(buf, view, { rcode: RCODE.FORMERR, nullAddress: true, soaOwnerOffset: 12 });
    expect(out).toEqual(Buffer.from([0, 9, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]));
  });

  it('FORMERR after the question echoes it (without OPT)', () => {
    const buf = Buffer.concat([query({ name: 'Bad.Example', edns: {} }), Buffer.from([0xff])]);
    buf.writeUInt16BE(2, 10); // claims a second additional record that is not there
    const rejection = parseQuery(buf);
    if (!isRejection(rejection) || rejection.kind !== 'rcode') throw new Error('expected a rejection');
    const out = synthesize(buf, rejection, { rcode: rejection.rcode });
    expect(counts(out)).toEqual([1, 0, 0, 0]);
    expect(decode(out).questions[0]?.name).toBe('Bad.Example');
  });
});

describe('synthesize: the question is copied byte for byte', () => {
  it('keeps mixed case, 0x20 patterns and non-ASCII bytes', () => {
    const buf = query({ name: 'wWw.ExAmPlE.CoM', type: TYPE.AAAA, edns: {} });
    buf[13] = 0xc9; // a non-ASCII byte inside the first label
    const q = parse(buf);
    for (const spec of [{ rcode: RCODE.NXDOMAIN, soaOwnerOffset: 16 }, { rcode: RCODE.REFUSED }, { rcode: RCODE.NOERROR, nullAddress: true }]) {
      const out = synthesize(buf, q, spec);
      expect(out.subarray(12, q.questionEnd)).toEqual(buf.subarray(12, q.questionEnd));
    }
  });

  it('ignores whatever follows the question in the query', () => {
    const buf = query({ name: 'a.example', edns: { udp: 4096, dnssecOk: true } });
    const q = parse(buf);
    const out = synthesize(buf, q, { rcode: RCODE.NXDOMAIN });
    expect(out.length).toBe(q.questionEnd + 11);
  });
});

describe('edeText', () => {
  it('encodes UTF-8', () => {
    expect(edeText('segment é')).toEqual(Buffer.from('segment é', 'utf8'));
  });

  it('caps the text at 200 octets', () => {
    expect(edeText('x'.repeat(500))).toHaveLength(200);
    expect(edeText('x'.repeat(200))).toHaveLength(200);
    expect(edeText('x'.repeat(199))).toHaveLength(199);
  });

  // BUG: the 200-octet cap cuts through a multi-byte character, so EXTRA-TEXT is no longer valid
  // UTF-8 (RFC 8914 §2). Input: edeText('x' + 'é'.repeat(150)) ends with the lone octet 0xc3.
  // (Low impact today: segment and list names are ASCII by the config schema.)
  it('never cuts a UTF-8 character in half', () => {
    const text = edeText(`x${'é'.repeat(150)}`);
    expect(text.length).toBeLessThanOrEqual(200);
    expect(Buffer.from(text.toString('utf8'), 'utf8')).toEqual(text);
  });
});

describe('synthesize: random queries', () => {
  it('every reply decodes cleanly and echoes the question', () => {
    const label = fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/);
    fc.assert(
      fc.property(
        fc.array(label, { minLength: 1, maxLength: 5 }),
        fc.constantFrom(TYPE.A, TYPE.AAAA, TYPE.MX, TYPE.HTTPS, TYPE.TXT),
        fc.option(fc.record({ udp: fc.integer({ min: 0, max: 65535 }), dnssecOk: fc.boolean() }), { nil: undefined }),
        fc.constantFrom('nxdomain', 'null', 'refused', 'tc'),
        fc.nat(0xffff),
        (labels, type, edns, kind, id) => {
          const buf = query({ name: labels.join('.'), type, id, edns });
          const q = parse(buf);
          const owner = suffixOffset(buf, 12, labels.length - Math.min(1, labels.length - 1));
          const ede = { code: EDE.BLOCKED, text: EDE_TEXT };
          const spec =
            kind === 'nxdomain'
              ? { rcode: RCODE.NXDOMAIN, soaOwnerOffset: owner, ede }
              : kind === 'null'
                ? { rcode: RCODE.NOERROR, nullAddress: true, soaOwnerOffset: owner, ede }
                : kind === 'refused'
                  ? { rcode: RCODE.REFUSED, ede }
                  : { rcode: RCODE.NOERROR, truncated: true };
          const out = synthesize(buf, q, spec);
          // Into a scratch holding older bytes: the same reply; into one too small: nothing, -1.
          const scratch = Buffer.alloc(out.length + 32, 0x5a);
          expect(synthesizeInto(scratch, buf, q, spec)).toBe(out.length);
          expect(scratch.subarray(0, out.length).equals(out)).toBe(true);
          const small = Buffer.alloc(out.length - 1, 0x5a);
          expect(synthesizeInto(small, buf, q, spec)).toBe(-1);
          expect(small.every((b) => b === 0x5a)).toBe(true);
          const packet = decode(out);
          expect(packet.header.id).toBe(id);
          expect(packet.questions).toEqual([{ name: labels.join('.'), type, class: 1 }]);
          expect(packet.additionals.length).toBe(edns ? 1 : 0);
          // A reply to our own parser is a response: it must be dropped, never answered.
          expect(parseQuery(out)).toEqual({ kind: 'drop', reason: 'response' });
        },
      ),
      { numRuns: 400 },
    );
  });
});
