// The upstream query every transport sends, the checks every reply must pass, and the
// two-octet length framing of DNS over TCP and TLS (RFC 1035 §4.2.2, RFC 7858 §3.3).
import { questionMatches } from '../dns/answer-scan.ts';
import { FLAG, HEADER_SIZE, MAX_UDP_PAYLOAD, TYPE } from '../dns/constants.ts';
import type { Attempt } from './upstream-transport.ts';

/** Header (RD, optional CD) + the client's question + our OPT (payload 1232, DO as the client asked). */
export function buildUpstreamQuery(id: number, question: Buffer, dnssecOk: boolean, checkingDisabled: boolean): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE + question.length + 11);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(FLAG.RD | (checkingDisabled ? FLAG.CD : 0), 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(1, 10);
  question.copy(out, HEADER_SIZE);
  let pos = HEADER_SIZE + question.length;
  out[pos++] = 0;
  out.writeUInt16BE(TYPE.OPT, pos);
  out.writeUInt16BE(MAX_UDP_PAYLOAD, pos + 2);
  out.writeUInt32BE(dnssecOk ? 0x8000 : 0, pos + 4);
  out.writeUInt16BE(0, pos + 8);
  return out;
}

/** The reply carries the attempt's question: exactly with 0x20, else up to letter case. */
export function replyQuestionMatches(reply: Buffer, job: Attempt): boolean {
  if (!job.exactQuestion) return questionMatches(reply, job.question);
  const end = HEADER_SIZE + job.question.length;
  return reply.length >= end && reply.readUInt16BE(4) === 1 && reply.compare(job.question, 0, job.question.length, HEADER_SIZE, end) === 0;
}

/** A reply to the attempt: long enough, our ID, QR=1 and our question. */
export function isReplyTo(reply: Buffer, job: Attempt): boolean {
  return reply.length >= HEADER_SIZE && reply.readUInt16BE(0) === job.id && (reply.readUInt16BE(2) & FLAG.QR) !== 0 && replyQuestionMatches(reply, job);
}

/** The message with its two-octet length in front. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(message.length + 2);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}

/** Cuts a byte stream into the messages it frames; each comes out as its own copy. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, onMessage: (message: Buffer) => void): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 2) {
      const end = 2 + this.pending.readUInt16BE(0);
      if (this.pending.length < end) return;
      const message = Buffer.from(this.pending.subarray(2, end));
      this.pending = this.pending.subarray(end);
      onMessage(message);
    }
  }
}
