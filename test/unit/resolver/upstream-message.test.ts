import dns2 from 'dns2';
import { describe, expect, it } from 'vitest';
import { TYPE } from '../../../src/dns/constants.ts';
import { isRejection, parseQuery } from '../../../src/dns/query-parser.ts';
import { buildUpstreamQuery, frame, FrameReader, isReplyTo } from '../../../src/resolver/upstream-message.ts';

const { Packet } = dns2;

/** Question bytes (name, type, class) as the resolver sends them upstream. */
function question(name: string, type: number): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.split('.')) parts.push(Buffer.from([label.length]), Buffer.from(label, 'latin1'));
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(1, 3);
  parts.push(tail);
  return Buffer.concat(parts);
}

describe('buildUpstreamQuery', () => {
  const q = question('WwW.Example.com', TYPE.AAAA);

  it('lays out header, question and an OPT (1232, DO) byte for byte', () => {
    const out = buildUpstreamQuery(0xbeef, q, true, false);
    const expected = Buffer.concat([
      Buffer.from([0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]),
      q,
      Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]),
    ]);
    expect(out).toEqual(expected);
  });

  it('sets CD when checking is disabled, never QR/AA/TC/AD', () => {
    expect(buildUpstreamQuery(1, q, false, true).readUInt16BE(2)).toBe(0x0110);
    expect(buildUpstreamQuery(1, q, false, false).readUInt16BE(2)).toBe(0x0100);
  });

  it('clears DO when the client did not ask for DNSSEC', () => {
    const out = buildUpstreamQuery(7, q, false, false);
    expect(out.readUInt32BE(out.length - 6)).toBe(0);
  });

  it('is a query our own parser and dns2 both accept', () => {
    const out = buildUpstreamQuery(0x0102, q, true, true);
    const parsed = parseQuery(out);
    expect(isRejection(parsed)).toBe(false);
    expect(parsed).toMatchObject({ id: 0x0102, qname: 'www.example.com', qtype: TYPE.AAAA, qclass: 1, edns: { udpSize: 1232, version: 0, dnssecOk: true } });
    const packet = Packet.parse(out);
    expect(packet.errors).toEqual([]);
    expect(packet.header).toMatchObject({ id: 0x0102, qr: 0, opcode: 0, rd: 1, cd: 1, qdcount: 1, arcount: 1 });
    expect(packet.questions[0]).toEqual({ name: 'WwW.Example.com', type: TYPE.AAAA, class: 1 });
    expect(packet.additionals[0]).toMatchObject({ name: '', type: TYPE.OPT, class: 1232, doFlag: true, version: 0, rdata: [] });
  });

  it('copies the question exactly (0x20 case kept) for any ID', () => {
    for (const id of [0, 1, 0x8000, 0xffff]) {
      const out = buildUpstreamQuery(id, q, false, false);
      expect(out.readUInt16BE(0)).toBe(id);
      expect(out.subarray(12, 12 + q.length)).toEqual(q);
      expect(out.length).toBe(12 + q.length + 11);
    }
  });
});

describe('reply checks and framing', () => {
  const q = question('www.example.com', TYPE.A);
  const job = { question: q, exactQuestion: false, dnssecOk: false, checkingDisabled: false, deadline: 0, attemptDeadline: 0, sentAt: 0, upstream: undefined, id: 0x1234, query: undefined, handle: undefined };
  const reply = (id: number, flags: number, name = 'WWW.example.com'): Buffer => {
    const out = buildUpstreamQuery(id, question(name, TYPE.A), false, false);
    out.writeUInt16BE(flags, 2);
    return out;
  };

  it('isReplyTo wants our ID, QR=1 and our question (any case unless 0x20 is on)', () => {
    expect(isReplyTo(reply(0x1234, 0x8180), job)).toBe(true);
    expect(isReplyTo(reply(0x1235, 0x8180), job)).toBe(false);
    expect(isReplyTo(reply(0x1234, 0x0100), job)).toBe(false);
    expect(isReplyTo(reply(0x1234, 0x8180, 'www.example.org'), job)).toBe(false);
    expect(isReplyTo(reply(0x1234, 0x8180), { ...job, exactQuestion: true })).toBe(false);
    expect(isReplyTo(reply(0x1234, 0x8180, 'www.example.com'), { ...job, exactQuestion: true })).toBe(true);
    expect(isReplyTo(Buffer.alloc(5), job)).toBe(false);
  });

  it('frame and FrameReader round-trip messages split and joined anyhow', () => {
    const messages = [Buffer.from('a'), Buffer.alloc(300, 7), Buffer.alloc(0), Buffer.from('last')];
    const stream = Buffer.concat(messages.map(frame));
    expect(frame(Buffer.alloc(300)).readUInt16BE(0)).toBe(300);
    for (const cut of [1, 2, 3, 7, stream.length]) {
      const reader = new FrameReader();
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += cut) reader.push(stream.subarray(i, i + cut), (m) => out.push(m));
      expect(out).toEqual(messages);
    }
  });
});
