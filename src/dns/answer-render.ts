// Turns a stored upstream answer into the bytes for one client: patch ID, echo the client's
// question case, age TTLs, set RA/clear AA, and drop the OPT when the client sent none.
// Everything else passes through untouched (unknown types, DNSSEC records, EDNS options).
import type { AnswerScan } from './answer-scan.ts';
import { FLAG, HEADER_SIZE, MAX_UDP_PAYLOAD } from './constants.ts';

export function renderAnswer(
  stored: Buffer,
  scan: AnswerScan,
  clientQuery: Buffer,
  clientId: number,
  questionEnd: number,
  clientHasEdns: boolean,
  elapsedSeconds: number,
): Buffer {
  const dropOpt = !clientHasEdns && scan.optStart >= 0;
  let out: Buffer;
  if (dropOpt) {
    const removed = scan.optEnd - scan.optStart;
    out = Buffer.allocUnsafe(stored.length - removed);
    stored.copy(out, 0, 0, scan.optStart);
    stored.copy(out, scan.optStart, scan.optEnd);
    out.writeUInt16BE(out.readUInt16BE(10) - 1, 10);
  } else {
    out = Buffer.allocUnsafe(stored.length);
    stored.copy(out);
    // The OPT's payload size is hop-by-hop: advertise ours, not the upstream's.
    if (scan.optStart >= 0) out.writeUInt16BE(MAX_UDP_PAYLOAD, scan.optStart + 3);
  }
  out.writeUInt16BE(clientId, 0);
  out.writeUInt16BE((out.readUInt16BE(2) | FLAG.RA) & ~FLAG.AA, 2);
  clientQuery.copy(out, HEADER_SIZE, HEADER_SIZE, questionEnd);
  if (elapsedSeconds > 0) {
    const shift = dropOpt ? scan.optEnd - scan.optStart : 0;
    for (const offset of scan.ttlOffsets) {
      const at = dropOpt && offset > scan.optStart ? offset - shift : offset;
      const ttl = stored.readUInt32BE(offset);
      out.writeUInt32BE(ttl > elapsedSeconds ? ttl - elapsedSeconds : 0, at);
    }
  }
  return out;
}
