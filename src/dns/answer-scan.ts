// Reads, without re-encoding, what the resolver needs to know about an upstream answer:
// where the TTLs are (to age cached copies), where the OPT is (to drop it for non-EDNS
// clients), the cacheable lifetime, the CNAME targets (for cloaking checks), and where the
// A and AAAA addresses of the answer section are (for the response-ip stage).
import { CLASS_IN, FLAG, HEADER_SIZE, RCODE, TYPE } from './constants.ts';
import { checkName, readName, skipName } from './names.ts';

const NO_CNAMES: string[] = [];
const NO_ADDRESSES: number[] = [];

/** CNAME records read from one answer before it is treated as garbage. */
export const MAX_CNAMES = 32;

export interface AnswerScan {
  rcode: number;
  /** Offsets of the 32-bit TTL field of every record except the OPT. */
  ttlOffsets: number[];
  /** Seconds this answer may be cached: min TTL of its records, or the RFC 2308 negative TTL; 0 = do not cache. */
  cacheTtl: number;
  /** Byte range of the OPT record, or -1/-1 when there is none. */
  optStart: number;
  optEnd: number;
  /** Lowercased targets of CNAME records in the answer section. */
  cnameTargets: string[];
  /** Offsets of the 4-octet rdata of IN A records in the answer section. */
  aOffsets: number[];
  /** Offsets of the 16-octet rdata of IN AAAA records in the answer section. */
  aaaaOffsets: number[];
  truncated: boolean;
}

/** Returns undefined when the message is malformed (a record runs past the end, a bad name, two OPTs). */
export function scanAnswer(buf: Buffer, questionEnd: number): AnswerScan | undefined {
  const flags = buf.readUInt16BE(2);
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  const ttlOffsets: number[] = [];
  // Most answers have no CNAME: they share one empty array instead of holding their own.
  let cnameTargets: string[] = NO_CNAMES;
  let aOffsets: number[] = NO_ADDRESSES;
  let aaaaOffsets: number[] = NO_ADDRESSES;
  let optStart = -1;
  let optEnd = -1;
  let minTtl = Number.MAX_SAFE_INTEGER;
  let soaMinimum = -1;
  let answersBeyondAliases = 0;
  let pos = questionEnd;
  const total = ancount + nscount + arcount;
  for (let i = 0; i < total; i++) {
    const start = pos;
    // Owner names are checked through their pointers: a looping or forward pointer
    // makes the whole answer garbage (SERVFAIL), never something relayed to clients.
    const nameEnd = checkName(buf, pos);
    if (nameEnd < 0 || nameEnd + 10 > buf.length) return undefined;
    const type = buf.readUInt16BE(nameEnd);
    const ttl = buf.readUInt32BE(nameEnd + 4);
    const rdlength = buf.readUInt16BE(nameEnd + 8);
    const rdata = nameEnd + 10;
    pos = rdata + rdlength;
    if (pos > buf.length) return undefined;
    if (type === TYPE.OPT) {
      // RFC 6891 §6.1.1: one OPT, owned by the root, in the additional section.
      if (optStart >= 0 || i < ancount + nscount || buf[start] !== 0) return undefined;
      optStart = start;
      optEnd = pos;
      continue;
    }
    ttlOffsets.push(nameEnd + 4);
    // TTLs with the top bit set are treated as 0 (RFC 2181 §8).
    const effective = ttl > 0x7fffffff ? 0 : ttl;
    if (effective < minTtl) minTtl = effective;
    if (i < ancount && type !== TYPE.CNAME && type !== TYPE.DNAME && type !== TYPE.RRSIG) answersBeyondAliases++;
    if (i < ancount && type === TYPE.CNAME) {
      // A chain longer than this is pathological (resolvers give up near 8-16 hops); refusing
      // it also bounds the pointer-following work one message can cost.
      if (cnameTargets.length >= MAX_CNAMES) return undefined;
      const target = readName(buf, rdata);
      if (target === undefined) return undefined;
      if (cnameTargets === NO_CNAMES) cnameTargets = [];
      cnameTargets.push(target);
    } else if (i < ancount && type === TYPE.A && rdlength === 4 && buf.readUInt16BE(nameEnd + 2) === CLASS_IN) {
      if (aOffsets === NO_ADDRESSES) aOffsets = [];
      aOffsets.push(rdata);
    } else if (i < ancount && type === TYPE.AAAA && rdlength === 16 && buf.readUInt16BE(nameEnd + 2) === CLASS_IN) {
      if (aaaaOffsets === NO_ADDRESSES) aaaaOffsets = [];
      aaaaOffsets.push(rdata);
    } else if (i >= ancount && i < ancount + nscount && type === TYPE.SOA) {
      const mnameEnd = skipName(buf, rdata);
      const rnameEnd = mnameEnd < 0 ? -1 : skipName(buf, mnameEnd);
      if (rnameEnd < 0 || rnameEnd + 20 > pos) return undefined;
      soaMinimum = buf.readUInt32BE(rnameEnd + 16);
    }
  }
  const rcode = flags & 0xf;
  // Negative answers (RFC 2308): NXDOMAIN, or NOERROR whose answer section holds nothing
  // but an alias chain (NODATA, possibly behind CNAMEs). They live min(SOA TTL, SOA MINIMUM) and never
  // longer than any record they carry (the CNAMEs); without an SOA they are not cached.
  const negative = rcode === RCODE.NXDOMAIN || (rcode === RCODE.NOERROR && answersBeyondAliases === 0);
  let cacheTtl: number;
  if (negative) cacheTtl = soaMinimum >= 0 ? Math.min(minTtl, soaMinimum) : 0;
  else if (rcode === RCODE.NOERROR) cacheTtl = minTtl === Number.MAX_SAFE_INTEGER ? 0 : minTtl;
  else cacheTtl = 0;
  return { rcode, ttlOffsets, cacheTtl, optStart, optEnd, cnameTargets, aOffsets, aaaaOffsets, truncated: (flags & FLAG.TC) !== 0 };
}

/** RFC 5452: the reply's question must be the one we asked (the name compared case-insensitively). */
export function questionMatches(reply: Buffer, sentQuestion: Buffer): boolean {
  if (reply.length < HEADER_SIZE + sentQuestion.length || reply.readUInt16BE(4) !== 1) return false;
  const nameLength = sentQuestion.length - 4;
  for (let i = nameLength; i < sentQuestion.length; i++) if (reply[HEADER_SIZE + i] !== sentQuestion[i]) return false;
  for (let i = 0; i < nameLength; i++) {
    let a = reply[HEADER_SIZE + i] as number;
    let b = sentQuestion[i] as number;
    if (a >= 0x41 && a <= 0x5a) a += 32;
    if (b >= 0x41 && b <= 0x5a) b += 32;
    if (a !== b) return false;
  }
  return true;
}
