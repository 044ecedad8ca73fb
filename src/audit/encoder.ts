// Decisions become chained event lines: pseudonymise, build the schema-1 body, encode it
// with its seq and prev, hash it in place (event.ts), and queue the bytes for their file.
import { type EncodedEvent, type EventBody, encodeEventInto, hashBytes, maxEventBytes, qtypeName } from './event.ts';
import type { Outbox } from './outbox.ts';
import type { FileRotation } from './rotation.ts';
import type { Decision } from './types.ts';

export class ChainEncoder {
  /** seq of the last event encoded (the head of the chain, written or not). */
  seq: number;
  /** Its hash, as the 64 ASCII hex digits the next line's `prev` copies. */
  private readonly prevBytes: Buffer;
  private readonly instance: string;
  private readonly pseudonymize: (address: string) => string;
  private scratch = Buffer.allocUnsafe(8192);
  /** Under load many events share a millisecond: format each one once (and its day, which names the file). */
  private lastTs = Number.NaN;
  private lastIso = '';
  private lastDay = '';
  /**
   * Filled for each event in turn: encodeEventInto reads it and keeps nothing. A body and a
   * result object per event, and the day's slice, were ~200 bytes of a blocked query's garbage.
   */
  private readonly body: EventBody;
  private readonly encoded: EncodedEvent = { end: 0, hashAt: 0 };

  constructor(instance: string, pseudonymize: (address: string) => string, head: { seq: number; hash: string }) {
    this.instance = instance;
    this.pseudonymize = pseudonymize;
    this.seq = head.seq;
    this.prevBytes = hashBytes(head.hash);
    this.body = { ts: '', instance, segment: '', client: '', qname: '', qtype: '', action: 'blocked', list: '', rule: '', list_version: '', response: 'nxdomain', transport: undefined };
  }

  /** Encodes one decision as the chain's next event, into the outbox (its file chosen by `files`). */
  encode(d: Decision, files: FileRotation, outbox: Outbox): void {
    if (d.ts !== this.lastTs) {
      this.lastTs = d.ts;
      this.lastIso = new Date(d.ts).toISOString();
      this.lastDay = this.lastIso.slice(0, 10);
    }
    const body = this.body;
    body.ts = this.lastIso;
    body.segment = d.segment;
    body.client = d.pseudonymize ? this.pseudonymize(d.client) : d.client;
    body.qname = d.qname;
    body.qtype = qtypeName(d.qtype);
    body.action = d.action;
    body.list = d.list;
    body.rule = d.rule;
    body.list_version = d.listVersion;
    body.response = d.response;
    body.transport = d.transport;
    const seq = this.seq + 1;
    const need = maxEventBytes(body);
    if (this.scratch.length < need) this.scratch = Buffer.allocUnsafe(need);
    const scratch = this.scratch;
    const { end: bytes, hashAt } = encodeEventInto(scratch, 0, body, seq, this.prevBytes, this.encoded);
    outbox.add(files.place(this.lastDay, bytes), scratch, bytes, seq, hashAt);
    // The chain moves on only once the line is queued: a throw above leaves no gap in it.
    this.seq = seq;
    // A loop: Buffer.copy's checks cost more than 64 byte moves.
    const prev = this.prevBytes;
    for (let i = 0; i < 64; i++) prev[i] = scratch[hashAt + i] as number;
  }

  /** The hash of the last event encoded (tests and tools). */
  get prev(): string {
    return this.prevBytes.toString('latin1');
  }
}
