// Decisions become chained event lines: pseudonymise, build the schema-1 body, encode it
// with its seq and prev, hash it in place (event.ts), and queue the bytes for their file.
import { type EventBody, encodeEventInto, maxEventBytes, qtypeName } from './event.ts';
import type { Outbox } from './outbox.ts';
import type { FileRotation } from './rotation.ts';
import type { Decision } from './types.ts';

export class ChainEncoder {
  /** seq and hash of the last event encoded (the head of the chain, written or not). */
  seq: number;
  prev: string;
  private readonly instance: string;
  private readonly pseudonymize: (address: string) => string;
  private scratch = Buffer.allocUnsafe(8192);
  /** Under load many events share a millisecond: format each one once. */
  private lastTs = Number.NaN;
  private lastIso = '';

  constructor(instance: string, pseudonymize: (address: string) => string, head: { seq: number; hash: string }) {
    this.instance = instance;
    this.pseudonymize = pseudonymize;
    this.seq = head.seq;
    this.prev = head.hash;
  }

  /** Encodes the batch in order, continuing the chain, into the outbox (files chosen by `files`). */
  encode(batch: readonly Decision[], files: FileRotation, outbox: Outbox): void {
    for (const d of batch) {
      if (d.ts !== this.lastTs) {
        this.lastTs = d.ts;
        this.lastIso = new Date(d.ts).toISOString();
      }
      const body: EventBody = {
        ts: this.lastIso,
        instance: this.instance,
        segment: d.segment,
        client: d.pseudonymize ? this.pseudonymize(d.client) : d.client,
        qname: d.qname,
        qtype: qtypeName(d.qtype),
        action: d.action,
        list: d.list,
        rule: d.rule,
        list_version: d.listVersion,
        response: d.response,
        transport: d.transport,
      };
      const seq = this.seq + 1;
      const need = maxEventBytes(body);
      if (this.scratch.length < need) this.scratch = Buffer.allocUnsafe(need);
      const { end: bytes, hash } = encodeEventInto(this.scratch, 0, body, seq, this.prev);
      this.seq = seq;
      this.prev = hash;
      outbox.add(files.place(body.ts.slice(0, 10), bytes), this.scratch, bytes, seq, hash);
    }
  }
}
