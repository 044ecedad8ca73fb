import dns2 from 'dns2';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderAnswer, renderAnswerInto, renderedLength, renderStale, STALE_TTL } from '../../../src/dns/answer-render.ts';
import { type AnswerScan, scanAnswer } from '../../../src/dns/answer-scan.ts';
import { EDE, TYPE } from '../../../src/dns/constants.ts';

const { Packet } = dns2;

interface RR {
  owner?: Buffer;
  type: number;
  cls?: number;
  ttl: number;
  rdata: Buffer;
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

function rr(r: RR): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(r.type, 0);
  fixed.writeUInt16BE(r.cls ?? 1, 2);
  fixed.writeUInt32BE(r.ttl >>> 0, 4);
  fixed.writeUInt16BE(r.rdata.length, 8);
  return Buffer.concat([r.owner ?? Buffer.from([0xc0, 12]), fixed, r.rdata]);
}

function message(spec: { id: number; flags: number; qname: string; qtype?: number; an?: RR[]; ns?: RR[]; ar?: RR[] }): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(spec.id, 0);
  header.writeUInt16BE(spec.flags, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(spec.an?.length ?? 0, 6);
  header.writeUInt16BE(spec.ns?.length ?? 0, 8);
  header.writeUInt16BE(spec.ar?.length ?? 0, 10);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(spec.qtype ?? TYPE.A, 0);
  tail.writeUInt16BE(1, 2);
  const records = [...(spec.an ?? []), ...(spec.ns ?? []), ...(spec.ar ?? [])].map(rr);
  return Buffer.concat([header, wireName(spec.qname), tail, ...records]);
}

function optionBytes(code: number, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(code, 0);
  head.writeUInt16BE(data.length, 2);
  return Buffer.concat([head, data]);
}

const QNAME = 'www.example.com';
const QUESTION_END = 12 + 17 + 4;
/** EDNS options an upstream may send: NSID, a cookie, and an unknown option. */
const OPT_OPTIONS = Buffer.concat([optionBytes(3, Buffer.from('ns1')), optionBytes(10, Buffer.alloc(24, 7)), optionBytes(65001, Buffer.from([1, 2, 3]))]);
/** OPT with payload 4096, extended rcode 0, version 0, DO + an unknown flag bit (0x4000) set. */
const UPSTREAM_OPT: RR = { owner: Buffer.from([0]), type: TYPE.OPT, cls: 4096, ttl: 0x0000c000, rdata: OPT_OPTIONS };
const HTTPS_RDATA = Buffer.from([0, 1, 0, 0, 1, 0, 3, 2, 0x68, 0x32]);
const UNKNOWN_RDATA = Buffer.from('opaque bytes \x00\xff\xc0\x0c', 'latin1');
/** Glue after the OPT: its TTL offset lies beyond the OPT. */
const AFTER_OPT: RR = { owner: wireName('ns.example.com'), type: TYPE.AAAA, ttl: 500, rdata: Buffer.alloc(16, 0x20) };

/** Upstream answer: A, HTTPS, TYPE65280 in the answer; OPT then an AAAA in the additional section. */
function upstreamAnswer(): Buffer {
  return message({
    id: 0x7777,
    flags: 0x8590, // QR AA RD RA CD
    qname: QNAME,
    an: [
      { type: TYPE.A, ttl: 300, rdata: Buffer.from([192, 0, 2, 7]) },
      { type: TYPE.HTTPS, ttl: 120, rdata: HTTPS_RDATA },
      { type: 65280, ttl: 10, rdata: UNKNOWN_RDATA },
    ],
    ar: [UPSTREAM_OPT, AFTER_OPT],
  });
}

function clientQuery(id: number, qname: string, edns: boolean): Buffer {
  const q = message({ id, flags: 0x0100, qname, ar: edns ? [{ owner: Buffer.from([0]), type: TYPE.OPT, cls: 1232, ttl: 0, rdata: Buffer.alloc(0) }] : [] });
  return q;
}

function scanned(buf: Buffer): AnswerScan {
  const scan = scanAnswer(buf, QUESTION_END);
  if (!scan) throw new Error('scan failed');
  return scan;
}

function decode(out: Buffer) {
  const packet = Packet.parse(out);
  expect(packet.errors).toEqual([]);
  return packet;
}

describe('renderAnswer: EDNS client', () => {
  const stored = upstreamAnswer();
  const storedCopy = Buffer.from(stored);
  const scan = scanned(stored);
  const client = clientQuery(0x0102, 'WwW.eXaMpLe.CoM', true);
  const out = renderAnswer(stored, scan, client, 0x0102, QUESTION_END, true, 0);

  it('patches the ID, echoes the client question case, sets RA and clears AA', () => {
    expect(out.readUInt16BE(0)).toBe(0x0102);
    expect(out.subarray(12, QUESTION_END)).toEqual(client.subarray(12, QUESTION_END));
    const flags = out.readUInt16BE(2);
    expect(flags & 0x0400).toBe(0); // AA
    expect(flags & 0x0080).toBe(0x0080); // RA
    expect(flags).toBe((0x8590 & ~0x0400) | 0x0080);
    const packet = decode(out);
    expect(packet.questions[0]?.name).toBe('WwW.eXaMpLe.CoM');
  });

  it('sets RA even when the upstream did not', () => {
    const noRa = Buffer.from(stored);
    noRa.writeUInt16BE(0x8500, 2);
    const rendered = renderAnswer(noRa, scan, client, 1, QUESTION_END, true, 0);
    expect(rendered.readUInt16BE(2)).toBe(0x8180);
  });

  it('does not modify the stored buffer', () => {
    renderAnswer(stored, scan, client, 9, QUESTION_END, false, 50);
    expect(stored).toEqual(storedCopy);
  });

  it('keeps the OPT, rewrites the payload size to 1232 and keeps only the DO flag', () => {
    expect(out.length).toBe(stored.length);
    expect(out.readUInt16BE(10)).toBe(2);
    expect(out.readUInt16BE(scan.optStart + 3)).toBe(1232);
    expect(out.readUInt16BE(scan.optStart + 7)).toBe(0x8000);
    const opt = decode(out).additionals.find((r: { type: number }) => r.type === TYPE.OPT);
    expect(opt).toMatchObject({ class: 1232, doFlag: true, version: 0, extendedRcode: 0 });
  });

  it('keeps the extended rcode and version bytes of the OPT', () => {
    const withExt = Buffer.from(stored);
    withExt[scan.optStart + 5] = 0x01;
    const rendered = renderAnswer(withExt, scan, client, 1, QUESTION_END, true, 0);
    expect(rendered[scan.optStart + 5]).toBe(0x01);
    expect(rendered[scan.optStart + 6]).toBe(0);
  });

  it('keeps EDNS options and unknown record types byte for byte', () => {
    expect(out.subarray(scan.optStart + 11, scan.optEnd)).toEqual(OPT_OPTIONS);
    expect(out.includes(HTTPS_RDATA)).toBe(true);
    expect(out.includes(UNKNOWN_RDATA)).toBe(true);
    // Everything after the question, except the OPT's size/flags words, is unchanged.
    const masked = (b: Buffer): Buffer => {
      const c = Buffer.from(b.subarray(QUESTION_END));
      c.fill(0, scan.optStart + 3 - QUESTION_END, scan.optStart + 5 - QUESTION_END);
      c.fill(0, scan.optStart + 7 - QUESTION_END, scan.optStart + 9 - QUESTION_END);
      return c;
    };
    expect(masked(out)).toEqual(masked(stored));
  });

  it('ages every TTL (OPT excluded) by the elapsed seconds', () => {
    const aged = renderAnswer(stored, scan, client, 3, QUESTION_END, true, 100);
    expect(scan.ttlOffsets.map((o) => aged.readUInt32BE(o))).toEqual([200, 20, 0, 400]);
    // The OPT's TTL field (ext rcode/version/flags) is not aged.
    expect(aged.readUInt16BE(scan.optStart + 7)).toBe(0x8000);
    expect(aged[scan.optStart + 5]).toBe(0);
  });

  it('never ages a TTL below 0', () => {
    const aged = renderAnswer(stored, scan, client, 3, QUESTION_END, true, 1_000_000);
    expect(scan.ttlOffsets.map((o) => aged.readUInt32BE(o))).toEqual([0, 0, 0, 0]);
    const exact = renderAnswer(stored, scan, client, 3, QUESTION_END, true, 300);
    expect(exact.readUInt32BE(scan.ttlOffsets[0] as number)).toBe(0);
  });

  it('leaves TTLs alone when nothing elapsed', () => {
    expect(scan.ttlOffsets.map((o) => out.readUInt32BE(o))).toEqual([300, 120, 10, 500]);
  });
});

describe('renderAnswer: client without EDNS', () => {
  const stored = upstreamAnswer();
  const scan = scanned(stored);
  const client = clientQuery(0xfedc, 'WWW.example.COM', false);
  const optLength = scan.optEnd - scan.optStart;

  it('drops the OPT and decrements ARCOUNT', () => {
    const out = renderAnswer(stored, scan, client, 0xfedc, QUESTION_END, false, 0);
    expect(out.length).toBe(stored.length - optLength);
    expect(out.readUInt16BE(10)).toBe(1);
    expect(out.subarray(scan.optStart)).toEqual(stored.subarray(scan.optEnd));
    const packet = decode(out);
    expect(packet.additionals).toHaveLength(1);
    expect(packet.additionals[0]).toMatchObject({ name: 'ns.example.com', type: TYPE.AAAA, ttl: 500 });
    expect(out.includes(OPT_OPTIONS)).toBe(false);
  });

  it('ages TTLs after the OPT at their shifted offsets', () => {
    const out = renderAnswer(stored, scan, client, 0xfedc, QUESTION_END, false, 60);
    const packet = decode(out);
    expect(packet.answers.map((r: { ttl: number }) => r.ttl)).toEqual([240, 60, 0]);
    expect(packet.additionals[0]).toMatchObject({ type: TYPE.AAAA, ttl: 440, address: expect.any(String) });
    // The AAAA rdata right after its TTL is intact.
    expect(out.subarray(out.length - 16)).toEqual(Buffer.alloc(16, 0x20));
    expect(out.readUInt16BE(out.length - 18)).toBe(16);
    // Byte for byte: the stored answer minus the OPT, with ID, flags, ARCOUNT, question and TTLs patched.
    const expected = Buffer.concat([stored.subarray(0, scan.optStart), stored.subarray(scan.optEnd)]);
    expected.writeUInt16BE(0xfedc, 0);
    expected.writeUInt16BE(0x8190, 2);
    expected.writeUInt16BE(1, 10);
    client.copy(expected, 12, 12, QUESTION_END);
    for (const offset of scan.ttlOffsets) {
      const at = offset > scan.optStart ? offset - optLength : offset;
      expected.writeUInt32BE(Math.max(stored.readUInt32BE(offset) - 60, 0), at);
    }
    expect(out).toEqual(expected);
  });

  it('patches ID and question case', () => {
    const out = renderAnswer(stored, scan, client, 0xfedc, QUESTION_END, false, 0);
    expect(out.readUInt16BE(0)).toBe(0xfedc);
    expect(decode(out).questions[0]?.name).toBe('WWW.example.COM');
  });

  it('an answer without OPT passes through with only header, question and TTLs changed', () => {
    const plain = message({ id: 1, flags: 0x8180, qname: QNAME, an: [{ type: TYPE.A, ttl: 30, rdata: Buffer.from([1, 1, 1, 1]) }] });
    const plainScan = scanned(plain);
    const out = renderAnswer(plain, plainScan, client, 0xfedc, QUESTION_END, false, 5);
    expect(out.length).toBe(plain.length);
    expect(out.readUInt16BE(10)).toBe(0);
    expect(out.readUInt32BE(plainScan.ttlOffsets[0] as number)).toBe(25);
    const outForEdns = renderAnswer(plain, plainScan, clientQuery(2, QNAME, true), 2, QUESTION_END, true, 0);
    expect(outForEdns.readUInt16BE(10)).toBe(0);
    expect(outForEdns.subarray(2)).toEqual(Buffer.concat([Buffer.from([0x81, 0x80]), plain.subarray(4)]));
  });
});

describe('renderAnswer: random layouts', () => {
  it('ages every TTL at the right offset, with and without the OPT, whatever sits around it', () => {
    const ttl = fc.nat(100_000);
    const rec = fc.record({ ttl, kind: fc.constantFrom('a', 'txt', 'unknown') });
    const build = (r: { ttl: number; kind: string }, i: number): RR =>
      r.kind === 'a'
        ? { owner: wireName(`h${i}.example`), type: TYPE.A, ttl: r.ttl, rdata: Buffer.from([10, 0, 0, i & 0xff]) }
        : r.kind === 'txt'
          ? { type: TYPE.TXT, ttl: r.ttl, rdata: Buffer.from(`\x05txt${i % 10}x`, 'latin1') }
          : { type: 65000, ttl: r.ttl, rdata: Buffer.alloc(i % 7, 0xee) };
    fc.assert(
      fc.property(
        fc.array(rec, { minLength: 1, maxLength: 5 }),
        fc.array(rec, { maxLength: 3 }),
        fc.array(rec, { maxLength: 3 }),
        fc.array(rec, { maxLength: 3 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.boolean(),
        (an, ns, before, after, elapsed, edns) => {
          const stored = message({
            id: 1,
            flags: 0x8180,
            qname: QNAME,
            an: an.map(build),
            ns: ns.map(build),
            ar: [...before.map(build), UPSTREAM_OPT, ...after.map(build)],
          });
          const scan = scanned(stored);
          const out = renderAnswer(stored, scan, clientQuery(2, QNAME, edns), 2, QUESTION_END, edns, elapsed);
          // Into a scratch holding an earlier, longer answer: the same bytes, and its length.
          const scratch = Buffer.alloc(out.length + 64, 0xa5);
          expect(renderAnswerInto(scratch, stored, scan, clientQuery(2, QNAME, edns), 2, QUESTION_END, edns, elapsed)).toBe(out.length);
          expect(scratch.subarray(0, out.length).equals(out)).toBe(true);
          expect(renderedLength(stored, scan, edns)).toBe(out.length);
          const packet = decode(out);
          const age = (r: { ttl: number }): number => Math.max(r.ttl - elapsed, 0);
          expect(packet.answers.map((r: { ttl: number }) => r.ttl)).toEqual(an.map(age));
          expect(packet.authorities.map((r: { ttl: number }) => r.ttl)).toEqual(ns.map(age));
          const additional = packet.additionals.filter((r: { type: number }) => r.type !== TYPE.OPT);
          expect(additional.map((r: { ttl: number }) => r.ttl)).toEqual([...before, ...after].map(age));
          expect(packet.additionals.length).toBe(before.length + after.length + (edns ? 1 : 0));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('renderStale', () => {
  const stored = upstreamAnswer();
  const scan = scanned(stored);

  it('sets every TTL to 30 s and adds EDE 3 to the upstream OPT for EDNS clients', () => {
    const client = clientQuery(5, QNAME, true);
    const out = renderStale(stored, scan, client, 5, QUESTION_END, true, EDE.STALE_ANSWER);
    const packet = decode(out);
    expect(packet.answers.map((r: { ttl: number }) => r.ttl)).toEqual([STALE_TTL, STALE_TTL, STALE_TTL]);
    const opt = packet.additionals.find((r: { type: number }) => r.type === TYPE.OPT);
    expect(opt?.rdata).toContainEqual(expect.objectContaining({ ednsCode: 15, infoCode: EDE.STALE_ANSWER }));
    expect(out.readUInt16BE(scan.optStart + 9)).toBe(OPT_OPTIONS.length + 6);
    const glue = packet.additionals.find((r: { type: number }) => r.type === TYPE.AAAA);
    expect(glue).toMatchObject({ ttl: STALE_TTL });
  });

  it('adds an OPT with the EDE when the stored answer had none', () => {
    const plain = message({ id: 1, flags: 0x8183, qname: QNAME });
    const plainScan = scanned(plain);
    const out = renderStale(plain, plainScan, clientQuery(5, QNAME, true), 5, QUESTION_END, true, EDE.STALE_NXDOMAIN);
    expect(out.readUInt16BE(10)).toBe(1);
    const packet = decode(out);
    expect(packet.additionals[0]).toMatchObject({ type: TYPE.OPT, class: 1232 });
    expect(packet.additionals[0]?.rdata).toEqual([expect.objectContaining({ ednsCode: 15, infoCode: EDE.STALE_NXDOMAIN })]);
  });

  it('drops the OPT and adds nothing for clients without EDNS', () => {
    const out = renderStale(stored, scan, clientQuery(5, QNAME, false), 5, QUESTION_END, false, EDE.STALE_ANSWER);
    const packet = decode(out);
    expect(packet.additionals).toHaveLength(1);
    expect(packet.additionals[0]).toMatchObject({ type: TYPE.AAAA, ttl: STALE_TTL });
    expect(packet.answers.every((r: { ttl: number }) => r.ttl === STALE_TTL)).toBe(true);
  });
});
