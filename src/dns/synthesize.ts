// Answers dnsward writes itself (blocked, refused, errors, truncation), built straight from
// the query bytes so the question is echoed exactly as asked. Hand-written rather than via
// dns2's encoder because blocked answers are a hot path (dns2's writer works bit by bit).
import { CLASS_IN, EDNS_OPTION, FLAG, HEADER_SIZE, MAX_UDP_PAYLOAD, TYPE } from './constants.ts';
import { encodeName } from './names.ts';
import type { EdnsInfo } from './query-parser.ts';

/** TTL of synthesised records and of the SOA that lets clients cache a block (RFC 2308). */
export const SYNTH_TTL = 60;

const SOA_RDATA = Buffer.concat([
  encodeName('dnsward.invalid'),
  encodeName('hostmaster.dnsward.invalid'),
  u32(1), // serial
  u32(3600), // refresh
  u32(600), // retry
  u32(86400), // expire
  u32(SYNTH_TTL), // minimum: negative-caching TTL
]);

export interface SynthRecord {
  type: number;
  ttl: number;
  rdata: Buffer;
}

export interface SynthSpec {
  rcode: number;
  /** Answer with the unspecified address (0.0.0.0 / ::) when the qtype is A or AAAA. */
  nullAddress?: boolean;
  /** One answer record owned by the qname. */
  answer?: SynthRecord;
  /** Add an SOA in the authority section; its owner is the qname suffix starting at this offset. */
  soaOwnerOffset?: number;
  /** EDE to attach when the query had EDNS (RFC 8914 §3: never without). */
  ede?: { code: number; text: Buffer };
  /** Set TC=1 (the client should retry over TCP). */
  truncated?: boolean;
}

export interface QueryView {
  id: number;
  flags: number;
  questionEnd: number;
  qtype?: number;
  edns: EdnsInfo | undefined;
}

/** Builds a reply to `query` per `spec`. The question (bytes 12..questionEnd) is copied verbatim. */
export function synthesize(query: Buffer, q: QueryView, spec: SynthSpec): Buffer {
  const answer = answerRecord(q, spec);
  const size = lengthWith(q, spec, answer);
  const out = Buffer.allocUnsafe(size);
  write(out, query, q, spec, answer);
  return out;
}

/** The one answer record a reply carries, if any (the spec's, or the unspecified address for A/AAAA). */
function answerRecord(q: QueryView, spec: SynthSpec): SynthRecord | undefined {
  if (q.questionEnd <= HEADER_SIZE) return undefined;
  if (spec.answer !== undefined) return spec.answer;
  if (!spec.nullAddress) return undefined;
  return q.qtype === TYPE.A ? NULL_A_RECORD : q.qtype === TYPE.AAAA ? NULL_AAAA_RECORD : undefined;
}

/** Bytes of the reply for `q` per `spec`, carrying `answer` (answerRecord's). */
function lengthWith(q: QueryView, spec: SynthSpec, answer: SynthRecord | undefined): number {
  let size = q.questionEnd;
  if (answer) size += 12 + answer.rdata.length;
  else if (spec.soaOwnerOffset !== undefined && q.questionEnd > HEADER_SIZE) size += 12 + SOA_RDATA.length;
  if (q.edns !== undefined) size += 11 + (spec.ede ? 4 + 2 + spec.ede.text.length : 0);
  return size;
}

/**
 * synthesize into the start of `out`; returns the length, or -1 (nothing written) when `out`
 * is too small. Blocked answers are built in a scratch buffer the listener copies at once
 * (src/pipeline/reply.ts): a Buffer each was a tenth of what a blocked query allocated.
 */
export function synthesizeInto(out: Buffer, query: Buffer, q: QueryView, spec: SynthSpec): number {
  const answer = answerRecord(q, spec);
  const size = lengthWith(q, spec, answer);
  if (size > out.length) return -1;
  write(out, query, q, spec, answer);
  return size;
}

/** Writes the reply (lengthWith's bytes) at the start of `out`, which has room for it. */
function write(out: Buffer, query: Buffer, q: QueryView, spec: SynthSpec, answer: SynthRecord | undefined): void {
  const hasQuestion = q.questionEnd > HEADER_SIZE;
  const withSoa = spec.soaOwnerOffset !== undefined && hasQuestion && answer === undefined;
  const ednsReply = q.edns !== undefined;
  const edeLength = ednsReply && spec.ede ? 4 + 2 + spec.ede.text.length : 0;

  out.writeUInt16BE(q.id, 0);
  // Keep opcode, RD and CD from the query; set QR, and RA for standard queries (recursion is
  // what we offer for QUERY; an unknown opcode's NOTIMP claims nothing, as ISC's genreport
  // expects); AA, AD, Z cleared.
  const opcode = q.flags & 0x7800;
  let flags = FLAG.QR | (opcode === 0 ? FLAG.RA : 0) | (q.flags & (0x7800 | FLAG.RD | FLAG.CD)) | (spec.rcode & 0xf);
  if (spec.truncated) flags |= FLAG.TC;
  out.writeUInt16BE(flags, 2);
  out.writeUInt16BE(hasQuestion ? 1 : 0, 4);
  out.writeUInt16BE(answer ? 1 : 0, 6);
  out.writeUInt16BE(withSoa ? 1 : 0, 8);
  out.writeUInt16BE(ednsReply ? 1 : 0, 10);
  query.copy(out, HEADER_SIZE, HEADER_SIZE, q.questionEnd);
  let pos = q.questionEnd;

  if (answer) {
    pos = writeRecordHeader(out, pos, HEADER_SIZE, answer.type, answer.ttl, answer.rdata.length);
    pos += answer.rdata.copy(out, pos);
  }
  if (withSoa) {
    pos = writeRecordHeader(out, pos, spec.soaOwnerOffset as number, TYPE.SOA, SYNTH_TTL, SOA_RDATA.length);
    pos += SOA_RDATA.copy(out, pos);
  }
  if (ednsReply) {
    out[pos++] = 0; // root owner
    out.writeUInt16BE(TYPE.OPT, pos);
    out.writeUInt16BE(MAX_UDP_PAYLOAD, pos + 2);
    // Extended rcode high bits, version 0, DO echoed (RFC 3225), other flags cleared.
    out.writeUInt32BE(((((spec.rcode >> 4) & 0xff) << 24) | (q.edns?.dnssecOk ? 0x8000 : 0)) >>> 0, pos + 4);
    out.writeUInt16BE(edeLength, pos + 8);
    pos += 10;
    if (spec.ede && edeLength > 0) {
      out.writeUInt16BE(EDNS_OPTION.EDE, pos);
      out.writeUInt16BE(2 + spec.ede.text.length, pos + 2);
      out.writeUInt16BE(spec.ede.code, pos + 4);
      spec.ede.text.copy(out, pos + 6);
    }
  }
}

/** EDE extra text, UTF-8, capped so the OPT stays small. */
export function edeText(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= 200) return bytes;
  // Cut before a UTF-8 continuation octet (10xxxxxx) so the text stays valid UTF-8 (RFC 8914 §2).
  let end = 200;
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/** The unspecified address (0.0.0.0 / ::) as the answer of a `null` block, made once. */
const NULL_A_RECORD: SynthRecord = { type: TYPE.A, ttl: SYNTH_TTL, rdata: Buffer.alloc(4) };
const NULL_AAAA_RECORD: SynthRecord = { type: TYPE.AAAA, ttl: SYNTH_TTL, rdata: Buffer.alloc(16) };

function writeRecordHeader(out: Buffer, pos: number, ownerOffset: number, type: number, ttl: number, rdlength: number): number {
  out.writeUInt16BE(0xc000 | ownerOffset, pos);
  out.writeUInt16BE(type, pos + 2);
  out.writeUInt16BE(CLASS_IN, pos + 4);
  out.writeUInt32BE(ttl, pos + 6);
  out.writeUInt16BE(rdlength, pos + 10);
  return pos + 12;
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}
