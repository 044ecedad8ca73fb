// One pass over a client datagram: header, the single question, and the OPT record.
// Hand-written because it runs for every query (dns2's Packet.parse costs ~5 µs and
// accepts malformed input); it allocates one small object, the qname and cache-key strings,
// and an object for the OPT record when there is one.
import { FLAG, HEADER_SIZE, MAX_UDP_PAYLOAD, MIN_UDP_PAYLOAD, OPCODE_QUERY, RCODE, TYPE } from './constants.ts';
import { skipName } from './names.ts';

export interface EdnsInfo {
  /** Requestor's UDP payload size as sent (not yet clamped). */
  udpSize: number;
  version: number;
  dnssecOk: boolean;
}

export interface ParsedQuery {
  id: number;
  /** The 16-bit flags word as received. */
  flags: number;
  opcode: number;
  /** Lowercased, no trailing dot; "" for the root. */
  qname: string;
  qtype: number;
  qclass: number;
  /** Offset just past QCLASS: bytes [12, questionEnd) are the question exactly as asked. */
  questionEnd: number;
  edns: EdnsInfo | undefined;
  /** Answer-cache key: name (lowercased), type, class and the DO bit, as one flat string. */
  cacheKey: string;
}

/** Why a query cannot be answered normally: drop silently, or answer with this rcode. */
export type QueryRejection =
  | { kind: 'drop'; reason: 'short' | 'response' }
  | { kind: 'rcode'; rcode: number; reason: string; id: number; flags: number; questionEnd: number; edns: EdnsInfo | undefined };

/**
 * Parses `buf`. `into`, when given, is filled and returned instead of a new object (the
 * resolver reuses a finished query's: src/resolver/resolver.ts); a rejection leaves it as it was.
 */
export function parseQuery(buf: Buffer, into?: ParsedQuery): ParsedQuery | QueryRejection {
  if (buf.length < HEADER_SIZE) return { kind: 'drop', reason: 'short' };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  // Never answer a response: that is how reflection loops start.
  if (flags & FLAG.QR) return { kind: 'drop', reason: 'response' };
  const opcode = (flags >> 11) & 0xf;
  if (opcode !== OPCODE_QUERY) return reject(RCODE.NOTIMP, 'opcode', id, flags, HEADER_SIZE, undefined);
  const qdcount = buf.readUInt16BE(4);
  if (qdcount !== 1) return reject(RCODE.FORMERR, 'qdcount', id, flags, HEADER_SIZE, undefined);

  // Question: uncompressed name (a pointer could only point into the header). The dotted,
  // ASCII-lowercased name is assembled in a scratch buffer and read out as one flat string:
  // concatenating label strings would leave a tree of string pieces behind every cache key.
  let pos = HEADER_SIZE;
  let length = 0;
  let octets = 1;
  while (true) {
    if (pos >= buf.length) return reject(RCODE.FORMERR, 'qname', id, flags, HEADER_SIZE, undefined);
    const len = buf[pos] as number;
    if (len === 0) break;
    if (len > 63) return reject(RCODE.FORMERR, 'qname', id, flags, HEADER_SIZE, undefined);
    octets += len + 1;
    const end = pos + 1 + len;
    if (octets > 255 || end > buf.length) return reject(RCODE.FORMERR, 'qname', id, flags, HEADER_SIZE, undefined);
    if (length > 0) SCRATCH[length++] = 0x2e;
    for (let i = pos + 1; i < end; i++) {
      const c = buf[i] as number;
      // A label holding a "." would make the dotted form ambiguous (RFC 4343 §2.1 escapes it).
      if (c === 0x2e) return reject(RCODE.FORMERR, 'qname', id, flags, HEADER_SIZE, undefined);
      // Lowercase A-Z only: DNS case-insensitivity is ASCII-only (RFC 4343).
      SCRATCH[length++] = c >= 0x41 && c <= 0x5a ? c + 32 : c;
    }
    pos = end;
  }
  pos += 1;
  if (pos + 4 > buf.length) return reject(RCODE.FORMERR, 'question', id, flags, HEADER_SIZE, undefined);
  const qtype = buf.readUInt16BE(pos);
  const qclass = buf.readUInt16BE(pos + 2);
  const questionEnd = pos + 4;

  const edns = parseAdditional(buf, questionEnd);
  if (typeof edns === 'string') return reject(RCODE.FORMERR, edns, id, flags, questionEnd, undefined);
  const qname = SCRATCH.toString('latin1', 0, length);
  // Cache key: the name, then type, class and the DO bit as octets, read out as one flat string.
  SCRATCH[length] = 0;
  SCRATCH.writeUInt16BE(qtype, length + 1);
  SCRATCH.writeUInt16BE(qclass, length + 3);
  SCRATCH[length + 5] = edns?.dnssecOk ? 1 : 0;
  const cacheKey = SCRATCH.toString('latin1', 0, length + 6);
  if (into === undefined) return { id, flags, opcode, qname, qtype, qclass, questionEnd, edns, cacheKey };
  into.id = id;
  into.flags = flags;
  into.opcode = opcode;
  into.qname = qname;
  into.qtype = qtype;
  into.qclass = qclass;
  into.questionEnd = questionEnd;
  into.edns = edns;
  into.cacheKey = cacheKey;
  return into;
}

/** Reused for every query: a name is at most 255 octets, plus the key's 6. */
const SCRATCH = Buffer.alloc(512);

function reject(rcode: number, reason: string, id: number, flags: number, questionEnd: number, edns: EdnsInfo | undefined): QueryRejection {
  return { kind: 'rcode', rcode, reason, id, flags, questionEnd, edns };
}

/** Walks answer/authority/additional records after the question; returns the OPT info or an error reason. */
function parseAdditional(buf: Buffer, start: number): EdnsInfo | undefined | string {
  const records = buf.readUInt16BE(6) + buf.readUInt16BE(8) + buf.readUInt16BE(10);
  const firstAdditional = buf.readUInt16BE(6) + buf.readUInt16BE(8);
  let pos = start;
  let edns: EdnsInfo | undefined;
  for (let i = 0; i < records; i++) {
    const nameEnd = skipName(buf, pos);
    if (nameEnd < 0 || nameEnd + 10 > buf.length) return 'record';
    const type = buf.readUInt16BE(nameEnd);
    const rdlength = buf.readUInt16BE(nameEnd + 8);
    const rdata = nameEnd + 10;
    if (rdata + rdlength > buf.length) return 'record';
    if (type === TYPE.OPT) {
      // RFC 6891 §6.1.1: one OPT, owned by the root, in the additional section.
      if (edns !== undefined || i < firstAdditional || buf[pos] !== 0) return 'opt';
      if (!optionsWellFormed(buf, rdata, rdata + rdlength)) return 'opt-options';
      const ttl = buf.readUInt32BE(nameEnd + 4);
      edns = { udpSize: buf.readUInt16BE(nameEnd + 2), version: (ttl >>> 16) & 0xff, dnssecOk: (ttl & 0x8000) !== 0 };
    }
    pos = rdata + rdlength;
  }
  return edns;
}

function optionsWellFormed(buf: Buffer, start: number, end: number): boolean {
  let pos = start;
  while (pos < end) {
    if (pos + 4 > end) return false;
    pos += 4 + buf.readUInt16BE(pos + 2);
  }
  return pos === end;
}

/** The largest UDP answer the client takes: 512 without EDNS, else its payload size within 512-1232. */
export function udpAnswerLimit(edns: EdnsInfo | undefined): number {
  return edns === undefined ? MIN_UDP_PAYLOAD : Math.min(Math.max(edns.udpSize, MIN_UDP_PAYLOAD), MAX_UDP_PAYLOAD);
}

export function isRejection(result: ParsedQuery | QueryRejection): result is QueryRejection {
  return 'kind' in result;
}

