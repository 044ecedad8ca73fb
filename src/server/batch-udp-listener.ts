// UDP through the batched addon (src/server/datagram-addon.ts): datagrams arrive in batches
// of up to 64 (one recvmmsg, one JavaScript call), and answers leave in batches (one
// sendmmsg): the ones a batch answers at once go out at its end, later ones (from the
// upstream, from the cache after a wait) at the end of the event-loop turn (setImmediate).
import type { Logger } from 'pino';
import type { MessageHandler, QueryContext, Responder } from '../pipeline/context.ts';
import type { HostPort } from '../util/address.ts';
import { AddressText } from './address-text.ts';
import type { AddonSocket, DatagramAddon } from './datagram-addon.ts';
import { DatagramSendQueue } from './datagram-send-queue.ts';
import { UDP_SOCKET_BUFFER_BYTES } from './dgram-udp-listener.ts';

/** Bytes of answers (and their hosts as text) packed before a send; a full area is sent at once. */
const SEND_AREA_BYTES = 128 * 1024;

export interface BatchUdpStats {
  /** recvmmsg batches handed to JavaScript, and the datagrams in them. */
  batches: number;
  datagrams: number;
  /** sendmmsg calls, answers sent, answers that could not be sent (buffer full, unreachable, too big). */
  sendBatches: number;
  sent: number;
  sendFailed: number;
  /** Datagrams the addon dropped unread: truncated, or a sender address it could not read. */
  receiveDropped: number;
}

export class BatchUdpListener implements Responder {
  private readonly address: HostPort;
  private readonly resolver: MessageHandler;
  private readonly logger: Logger;
  private readonly addon: DatagramAddon;
  private readonly meta: number;
  private socket: AddonSocket | undefined;
  private readonly recvMeta: Int32Array;
  private readonly queue: DatagramSendQueue;
  private inBatch = false;
  private flushScheduled = false;
  private readonly counts = { batches: 0, datagrams: 0 };

  private readonly reusePort: boolean;
  private readonly senders = new AddressText();

  constructor(address: HostPort, resolver: MessageHandler, logger: Logger, addon: DatagramAddon, reusePort = false) {
    this.reusePort = reusePort;
    this.address = address;
    this.resolver = resolver;
    this.logger = logger;
    this.addon = addon;
    this.meta = addon.META_INTS;
    this.recvMeta = new Int32Array(addon.MAX_BATCH * this.meta);
    this.queue = new DatagramSendQueue(addon, SEND_AREA_BYTES, logger, { refused: 'udp: sendBatch refused its arguments', failed: 'udp: answers could not be sent' });
  }

  /** Binds and returns the bound port (useful when port 0 was asked for). Rejects with the errno's code (EADDRINUSE, ...). */
  async start(port = this.address.port): Promise<number> {
    // Like node:dgram's exclusive bind: no SO_REUSEPORT (unless asked: DNS worker threads), so a second listener on the port fails.
    this.socket = this.addon.open(this.address.family, this.address.host, port, this.reusePort ? 1 : 0, UDP_SOCKET_BUFFER_BYTES, UDP_SOCKET_BUFFER_BYTES, this.recvMeta, this.queue.area, this.queue.meta, this.onBatch);
    return this.addon.localPort(this.socket);
  }

  /** One received batch: every datagram to the resolver, then the answers it gave at once in one send. */
  private readonly onBatch = (buffer: Buffer, count: number): void => {
    this.inBatch = true;
    this.counts.batches++;
    this.counts.datagrams += count;
    const meta = this.recvMeta;
    // One clock read for the batch (one recvmmsg), not one per query: Date.now() took 98 ns on
    // stop 37's VM (docs/BENCHMARKS.md).
    const now = Date.now();
    for (let i = 0, m = 0; i < count; i++, m += this.meta) {
      const offset = meta[m] as number;
      const length = meta[m + 1] as number;
      const client = this.senders.read(buffer, meta[m + 2] as number, meta[m + 3] as number);
      try {
        this.resolver.handleMessage(buffer.subarray(offset, offset + length), client, 'udp', this, client, meta[m + 4] as number, now);
      } catch (error) {
        // handleMessage never throws by contract; one that does must not cost the rest of the batch.
        this.logger.error({ err: error, client }, 'udp: query handler threw');
      }
    }
    this.inBatch = false;
    this.flush();
  };

  send(ctx: QueryContext, response: Buffer): void {
    this.sendCopy(ctx, response, response.length);
  }

  /** The answer is copied into the send area before this returns (see Responder.sendCopy). */
  sendCopy(ctx: QueryContext, bytes: Buffer, length: number): void {
    if (this.socket === undefined) return; // closed: a late answer from the upstream
    if (!this.queue.add(this.socket, bytes, ctx.replyTo as string, ctx.replyPort, length)) return;
    if (this.queue.size > 0 && !this.inBatch && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushLater);
    }
  }

  noReply(_replyTo: unknown): void {
    // Nothing to release for a datagram.
  }

  private readonly flushLater = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  private flush(): void {
    if (this.socket !== undefined) this.queue.flush(this.socket);
  }

  stats(): BatchUdpStats {
    const receiveDropped = this.socket === undefined ? 0 : this.addon.stats(this.socket)[1];
    return { ...this.counts, sendBatches: this.queue.batches, sent: this.queue.sent, sendFailed: this.queue.failed, receiveDropped };
  }

  async close(): Promise<void> {
    if (this.socket === undefined) return;
    this.flush();
    this.addon.close(this.socket);
    this.socket = undefined;
  }
}
