// What a request must be before dns2 may decode it. dns2's decoder follows compression
// pointers without a hop limit (only cycles are caught) and decodes every record a message
// claims, so a 64 KB message of pointer chains holds the event loop for seconds
// (docs/EMBEDDING.md). dnsward's own parser reads the bytes first, with bounds: one
// uncompressed question, well-formed records, one OPT owned by the root. On top of it, a
// query carries no answer or authority records and at most two additional ones (OPT, and a
// TSIG), as unbound requires, and every owner name resolves in at most 126 backward pointer
// hops. What fails gets dnsward's answer (FORMERR, NOTIMP) or, for non-queries, nothing.
import { RCODE } from '../dns/constants.ts';
import { checkName } from '../dns/names.ts';
import { isRejection, parseQuery } from '../dns/query-parser.ts';
import { synthesize } from '../dns/synthesize.ts';

/** Additional records a query may carry: OPT and a transaction signature. */
export const MAX_QUERY_ADDITIONALS = 2;

export type RequestCheck =
  | { kind: 'pass' }
  /** Not answered at all: too short to be DNS, or a response (QR=1), which would start a reflection loop. */
  | { kind: 'drop'; reason: 'short' | 'response' }
  /** Answered by dnsward without decoding: `answer` holds FORMERR or NOTIMP for this request. */
  | { kind: 'answer'; reason: string; rcode: number; answer: Buffer };

export function checkRequest(buf: Buffer): RequestCheck {
  const parsed = parseQuery(buf);
  if (isRejection(parsed)) {
    if (parsed.kind === 'drop') return { kind: 'drop', reason: parsed.reason };
    const view = { id: parsed.id, flags: parsed.flags, questionEnd: parsed.questionEnd, edns: parsed.edns };
    return { kind: 'answer', reason: parsed.reason, rcode: parsed.rcode, answer: synthesize(buf, view, { rcode: parsed.rcode }) };
  }
  const reason = recordsProblem(buf, parsed.questionEnd);
  if (reason === undefined) return { kind: 'pass' };
  return { kind: 'answer', reason, rcode: RCODE.FORMERR, answer: synthesize(buf, parsed, { rcode: RCODE.FORMERR }) };
}

/** Why the records after the question are not those of a query, or undefined when they are. */
function recordsProblem(buf: Buffer, questionEnd: number): string | undefined {
  if (buf.readUInt16BE(6) !== 0 || buf.readUInt16BE(8) !== 0) return 'answer-or-authority';
  const additionals = buf.readUInt16BE(10);
  if (additionals > MAX_QUERY_ADDITIONALS) return 'additionals';
  let pos = questionEnd;
  for (let i = 0; i < additionals; i++) {
    // parseQuery has proven the records fit the message; this also bounds the pointers dns2 will follow.
    const nameEnd = checkName(buf, pos);
    if (nameEnd < 0) return 'owner-name';
    pos = nameEnd + 10 + buf.readUInt16BE(nameEnd + 8);
  }
  return undefined;
}
