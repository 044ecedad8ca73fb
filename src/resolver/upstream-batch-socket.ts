// An upstream socket on the batched datagram addon (native/datagram.cc): the queries sent in
// one turn of JavaScript (a client batch's misses, a sweep's retries) are packed into a
// shared area and leave in one sendmmsg when the turn ends (a microtask), and replies come in
// batches of up to 64, one JavaScript call each, where node:dgram makes one system call and
// one callback per datagram each way.
import type { Logger } from 'pino';
import { AddressText } from '../server/address-text.ts';
import type { AddonSocket, DatagramAddon } from '../server/datagram-addon.ts';
import { DatagramSendQueue } from '../server/datagram-send-queue.ts';
import { type UpstreamDatagramCounts, type UpstreamReceive, type UpstreamSocket, noDatagramCounts } from './upstream-socket.ts';

/** Queries and their hosts packed before a send (the addon wants room for one maximal datagram). */
const SEND_AREA_BYTES = 64 * 1024;
/** Kernel buffers asked for: 0 keeps the kernel's defaults (~200 KB), as node:dgram's upstream sockets do. */
const KERNEL_DEFAULT = 0;

/** `counts`: the transport's, shared by its sockets so that they outlive a socket's rotation. */
export async function openBatchUpstreamSocket(addon: DatagramAddon, family: 4 | 6, onMessage: UpstreamReceive, logger: Logger, counts = noDatagramCounts()): Promise<UpstreamSocket> {
  return new BatchUpstreamSocket(addon, family, onMessage, logger, counts);
}

export class BatchUpstreamSocket implements UpstreamSocket {
  private readonly addon: DatagramAddon;
  private readonly logger: Logger;
  private readonly onMessage: UpstreamReceive;
  private readonly metaInts: number;
  private readonly recvMeta: Int32Array;
  private readonly queue: DatagramSendQueue;
  private readonly senders = new AddressText();
  private socket: AddonSocket | undefined;
  private flushQueued = false;
  private readonly counts: UpstreamDatagramCounts;
  private readonly tallied = { batches: 0, sent: 0, failed: 0 };

  constructor(addon: DatagramAddon, family: 4 | 6, onMessage: UpstreamReceive, logger: Logger, counts = noDatagramCounts()) {
    this.addon = addon;
    this.counts = counts;
    this.logger = logger;
    this.onMessage = onMessage;
    this.metaInts = addon.META_INTS;
    this.recvMeta = new Int32Array(addon.MAX_BATCH * this.metaInts);
    // The attempts whose queries do not leave time out and go to the next upstream.
    this.queue = new DatagramSendQueue(addon, SEND_AREA_BYTES, logger, { refused: 'upstream: sendBatch refused its arguments', failed: 'upstream: queries could not be sent' });
    // Port 0: the kernel picks a random source port (RFC 5452 §9.2).
    this.socket = addon.open(family, family === 4 ? '0.0.0.0' : '::', 0, 0, KERNEL_DEFAULT, KERNEL_DEFAULT, this.recvMeta, this.queue.area, this.queue.meta, this.onBatch);
  }

  /** sendmmsg calls and queries they sent (tests read these). */
  get sendBatches(): number {
    return this.queue.batches;
  }

  get sent(): number {
    return this.queue.sent;
  }

  get localPort(): number {
    return this.socket === undefined ? 0 : this.addon.localPort(this.socket);
  }

  send(query: Buffer, port: number, host: string): void {
    if (this.socket === undefined) return;
    const queued = this.queue.add(this.socket, query, host, port);
    this.tally();
    if (!queued) return;
    if (this.queue.size > 0 && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushQueuedSends);
    }
  }

  close(): void {
    if (this.socket === undefined) return;
    this.queue.drop();
    this.addon.close(this.socket);
    this.socket = undefined;
  }

  private readonly flushQueuedSends = (): void => {
    this.flushQueued = false;
    if (this.socket === undefined) return;
    this.queue.flush(this.socket);
    this.tally();
  };

  /** Adds to the transport's counts what this socket's queue did since the last tally (add() may send or refuse too). */
  private tally(): void {
    const queue = this.queue;
    const counts = this.counts;
    counts.sentBatches += queue.batches - this.tallied.batches;
    counts.sent += queue.sent - this.tallied.sent;
    counts.sendFailed += queue.failed - this.tallied.failed;
    this.tallied.batches = queue.batches;
    this.tallied.sent = queue.sent;
    this.tallied.failed = queue.failed;
  }

  private readonly onBatch = (buffer: Buffer, count: number): void => {
    this.counts.receivedBatches++;
    this.counts.received += count;
    const meta = this.recvMeta;
    for (let i = 0, m = 0; i < count; i++, m += this.metaInts) {
      const offset = meta[m] as number;
      const address = this.senders.read(buffer, meta[m + 2] as number, meta[m + 3] as number);
      try {
        this.onMessage(buffer.subarray(offset, offset + (meta[m + 1] as number)), address, meta[m + 4] as number);
      } catch (error) {
        // The transport never throws by contract; one that does must not cost the rest of the batch.
        this.logger.error({ err: error }, 'upstream: reply handler threw');
      }
    }
  };
}
