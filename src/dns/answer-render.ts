// Turns a stored upstream answer into the bytes for one client: patch ID, echo the client's
// question case, age TTLs, set RA/clear AA, and drop the OPT when the client sent none.
// Everything else passes through untouched (unknown types, DNSSEC records, EDNS options).
import type { AnswerScan } from './answer-scan.ts';
import { EDNS_OPTION, FLAG, HEADER_SIZE, MAX_UDP_PAYLOAD, TYPE } from './constants.ts';

export function renderAnswer(
  stored: Buffer,
  scan: AnswerScan,
  clientQuery: Buffer,
  clientId: number,
  questionEnd: number,
  clientHasEdns: boolean,
  elapsedSeconds: number,
): Buffer {
  const out = Buffer.allocUnsafe(renderedLength(stored, scan, clientHasEdns));
  renderAnswerInto(out, stored, scan, clientQuery, clientId, questionEnd, clientHasEdns, elapsedSeconds);
  return out;
}

/** Bytes renderAnswer gives for this stored answer (it drops the OPT for a client that sent none). */
export function renderedLength(stored: Buffer, scan: AnswerScan, clientHasEdns: boolean): number {
  return !clientHasEdns && scan.optStart >= 0 ? stored.length - (scan.optEnd - scan.optStart) : stored.length;
}

/**
 * renderAnswer into the start of `out` (at least renderedLength bytes); returns the length.
 * The hot path renders into a scratch buffer the listener copies at once (src/pipeline/reply.ts).
 */
export function renderAnswerInto(
  out: Buffer,
  stored: Buffer,
  scan: AnswerScan,
  clientQuery: Buffer,
  clientId: number,
  questionEnd: number,
  clientHasEdns: boolean,
  elapsedSeconds: number,
): number {
  const dropOpt = !clientHasEdns && scan.optStart >= 0;
  const length = renderedLength(stored, scan, clientHasEdns);
  if (dropOpt) {
    stored.copy(out, 0, 0, scan.optStart);
    stored.copy(out, scan.optStart, scan.optEnd);
    out.writeUInt16BE(out.readUInt16BE(10) - 1, 10);
  } else {
    stored.copy(out);
    if (scan.optStart >= 0) {
      // The OPT's payload size is hop-by-hop: advertise ours. Keep only the DO flag
      // (RFC 6891 §6.1.4: unknown EDNS flags are not echoed).
      out.writeUInt16BE(MAX_UDP_PAYLOAD, scan.optStart + 3);
      out.writeUInt16BE(out.readUInt16BE(scan.optStart + 7) & 0x8000, scan.optStart + 7);
    }
  }
  out.writeUInt16BE(clientId, 0);
  out.writeUInt16BE((out.readUInt16BE(2) | FLAG.RA) & ~FLAG.AA, 2);
  clientQuery.copy(out, HEADER_SIZE, HEADER_SIZE, questionEnd);
  if (elapsedSeconds > 0) {
    const shift = dropOpt ? scan.optEnd - scan.optStart : 0;
    for (const offset of scan.ttlOffsets) {
      const ttl = stored.readUInt32BE(offset);
      out.writeUInt32BE(ttl > elapsedSeconds ? ttl - elapsedSeconds : 0, dropOpt && offset > scan.optStart ? offset - shift : offset);
    }
  }
  return length;
}

/** TTL of answers served stale (RFC 8767 §4 recommends 30 s). */
export const STALE_TTL = 30;

/**
 * An expired answer served because the upstreams failed (RFC 8767): every TTL set to 30 s
 * and, for EDNS clients, an EDE option (3 Stale Answer / 19 Stale NXDOMAIN) added to the OPT.
 */
export function renderStale(
  stored: Buffer,
  scan: AnswerScan,
  clientQuery: Buffer,
  clientId: number,
  questionEnd: number,
  clientHasEdns: boolean,
  edeCode: number,
): Buffer {
  const base = renderAnswer(stored, scan, clientQuery, clientId, questionEnd, clientHasEdns, 0);
  const dropOpt = !clientHasEdns && scan.optStart >= 0;
  const shift = dropOpt ? scan.optEnd - scan.optStart : 0;
  for (const offset of scan.ttlOffsets) {
    const at = dropOpt && offset > scan.optStart ? offset - shift : offset;
    base.writeUInt32BE(STALE_TTL, at);
  }
  if (!clientHasEdns) return base;
  const option = Buffer.allocUnsafe(6);
  option.writeUInt16BE(EDNS_OPTION.EDE, 0);
  option.writeUInt16BE(2, 2);
  option.writeUInt16BE(edeCode, 4);
  if (scan.optStart >= 0) {
    const out = Buffer.concat([base.subarray(0, scan.optEnd), option, base.subarray(scan.optEnd)]);
    // The OPT's owner is the root (one octet), so RDLENGTH sits at optStart + 9.
    out.writeUInt16BE(out.readUInt16BE(scan.optStart + 9) + option.length, scan.optStart + 9);
    return out;
  }
  const opt = Buffer.alloc(11);
  opt.writeUInt16BE(TYPE.OPT, 1);
  opt.writeUInt16BE(MAX_UDP_PAYLOAD, 3);
  opt.writeUInt16BE(option.length, 9);
  const out = Buffer.concat([base, opt, option]);
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  return out;
}
