// An upstream socket on the batched datagram addon (native/datagram.cc): the queries sent in
// one turn of JavaScript (a client batch's misses, a sweep's retries) are packed into a
// shared area and leave in one sendmmsg when the turn ends (a microtask), and replies come in
// batches of up to 64, one JavaScript call each, where node:dgram makes one system call and
// one callback per datagram each way.
import type { Logger } from 'pino';
import { AddressText } from '../server/address-text.ts';
import type { AddonSocket, DatagramAddon } from '../server/datagram-addon.ts';
import type { UpstreamReceive, UpstreamSocket } from './upstream-socket.ts';

/** Queries and their hosts packed before a send (the addon wants room for one maximal datagram). */
const SEND_AREA_BYTES = 64 * 1024;
/** The longest address text the addon reads ("fe80::...%ifname"). */
const MAX_HOST_TEXT = 62;
/** Kernel buffers asked for: node:dgram's upstream sockets keep the kernel's defaults (~200 KB); 0 does too. */
const KERNEL_DEFAULT = 0;
/** At most one warning about failed sends per socket in this many ms. */
const SEND_WARN_INTERVAL_MS = 10_000;

export async function openBatchUpstreamSocket(addon: DatagramAddon, family: 4 | 6, onMessage: UpstreamReceive, logger: Logger): Promise<UpstreamSocket> {
  return new BatchUpstreamSocket(addon, family, onMessage, logger);
}

export class BatchUpstreamSocket implements UpstreamSocket {
  /** sendmmsg calls and queries handed to them (tests and stats read these). */
  sendBatches = 0;
  sent = 0;
  private readonly addon: DatagramAddon;
  private readonly logger: Logger;
  private readonly onMessage: UpstreamReceive;
  private readonly metaInts: number;
  private readonly recvMeta: Int32Array;
  private readonly sendArea = Buffer.allocUnsafeSlow(SEND_AREA_BYTES);
  private readonly sendMeta: Int32Array;
  private readonly senders = new AddressText();
  private socket: AddonSocket | undefined;
  private pending = 0;
  private used = 0;
  private flushQueued = false;
  private lastSendWarn = 0;

  constructor(addon: DatagramAddon, family: 4 | 6, onMessage: UpstreamReceive, logger: Logger) {
    this.addon = addon;
    this.logger = logger;
    this.onMessage = onMessage;
    this.metaInts = addon.META_INTS;
    this.recvMeta = new Int32Array(addon.MAX_BATCH * this.metaInts);
    this.sendMeta = new Int32Array(addon.MAX_BATCH * this.metaInts);
    // Port 0: the kernel picks a random source port (RFC 5452 §9.2).
    this.socket = addon.open(family, family === 4 ? '0.0.0.0' : '::', 0, 0, KERNEL_DEFAULT, KERNEL_DEFAULT, this.recvMeta, this.sendArea, this.sendMeta, this.onBatch);
  }

  get localPort(): number {
    return this.socket === undefined ? 0 : this.addon.localPort(this.socket);
  }

  send(query: Buffer, port: number, host: string): void {
    if (this.socket === undefined || host.length > MAX_HOST_TEXT) return;
    if (this.used + query.length + host.length > SEND_AREA_BYTES) this.flush();
    const m = this.pending * this.metaInts;
    const meta = this.sendMeta;
    meta[m] = this.used;
    meta[m + 1] = query.copy(this.sendArea, this.used);
    this.used += query.length;
    meta[m + 2] = this.used;
    meta[m + 3] = this.sendArea.write(host, this.used, 'latin1');
    this.used += host.length;
    meta[m + 4] = port;
    if (++this.pending === this.addon.MAX_BATCH) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushQueuedSends);
    }
  }

  close(): void {
    if (this.socket === undefined) return;
    this.addon.close(this.socket);
    this.socket = undefined;
  }

  private readonly flushQueuedSends = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  private flush(): void {
    const count = this.pending;
    if (count === 0 || this.socket === undefined) return;
    this.pending = 0;
    this.used = 0;
    this.sendBatches++;
    let sent = 0;
    try {
      sent = this.addon.sendBatch(this.socket, count);
    } catch (error) {
      this.logger.error({ err: error }, 'upstream: sendBatch refused its arguments');
    }
    this.sent += sent;
    const now = Date.now();
    if (sent < count && now - this.lastSendWarn >= SEND_WARN_INTERVAL_MS) {
      // The attempts that did not leave time out and go to the next upstream.
      this.lastSendWarn = now;
      this.logger.warn({ failed: count - sent, code: this.addon.stats(this.socket)[4] || undefined }, 'upstream: queries could not be sent');
    }
  }

  private readonly onBatch = (buffer: Buffer, count: number): void => {
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
