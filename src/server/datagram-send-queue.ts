// Datagrams packed for one sendmmsg of the batched addon (src/server/datagram-addon.ts): the
// bytes and the host text (once for a run of datagrams to one host) go into an area shared
// with the addon, their offsets and port into a meta array; flush() sends them all with one
// call. Shared by the UDP listener (answers) and the upstream sockets (queries); each decides
// when to flush besides a full batch.
import type { Logger } from 'pino';
import type { AddonSocket, DatagramAddon } from './datagram-addon.ts';

/** The longest address text the addon reads ("fe80::...%ifname"); longer host values are not addresses. */
const MAX_HOST_TEXT = 62;
/** At most one warning about failed sends per queue in this many ms. */
const SEND_WARN_INTERVAL_MS = 10_000;

export interface SendQueueLabels {
  /** Log line when the addon refuses its arguments ("udp: sendBatch refused its arguments"). */
  refused: string;
  /** Log line when datagrams could not be sent ("udp: answers could not be sent"). */
  failed: string;
}

export class DatagramSendQueue {
  /** Shared with the addon: give both to open(). */
  readonly area: Buffer;
  readonly meta: Int32Array;
  /** sendmmsg calls, datagrams sent, datagrams that could not be sent (too big, not an address, buffer full, refused). */
  batches = 0;
  sent = 0;
  failed = 0;
  private readonly addon: DatagramAddon;
  private readonly logger: Logger;
  private readonly labels: SendQueueLabels;
  private readonly metaInts: number;
  private pending = 0;
  private used = 0;
  private lastWarn = 0;
  /** The host text last written into the area, where, and its length in bytes (-1: none since the last send). */
  private lastHost = '';
  private lastHostAt = -1;
  private lastHostLength = 0;

  constructor(addon: DatagramAddon, areaBytes: number, logger: Logger, labels: SendQueueLabels) {
    this.addon = addon;
    this.logger = logger;
    this.labels = labels;
    this.metaInts = addon.META_INTS;
    this.area = Buffer.allocUnsafeSlow(areaBytes);
    this.meta = new Int32Array(addon.MAX_BATCH * this.metaInts);
  }

  /** Datagrams packed and not sent yet. */
  get size(): number {
    return this.pending;
  }

  /**
   * Packs one datagram (the first `length` bytes of `bytes`) for `socket` (sending what is packed first when the area is full, and
   * everything when the batch is). Counts it failed and returns false when it cannot be sent.
   */
  add(socket: AddonSocket, bytes: Buffer, host: string, port: number, length = bytes.length): boolean {
    if (length > this.addon.MAX_DATAGRAM || length > bytes.length || host.length > MAX_HOST_TEXT) {
      this.failed++;
      return false;
    }
    if (this.used + length + host.length > this.area.length) this.flush(socket);
    const m = this.pending * this.metaInts;
    const meta = this.meta;
    meta[m] = this.used;
    meta[m + 1] = bytes.copy(this.area, this.used, 0, length);
    this.used += length;
    // A run of datagrams to one host (a busy client; the upstream, always) points at one copy of
    // its text, which the addon then parses once: a write per datagram was a call into C++.
    if (host !== this.lastHost || this.lastHostAt < 0) {
      this.lastHost = host;
      this.lastHostAt = this.used;
      this.lastHostLength = this.area.write(host, this.used, 'latin1');
      this.used += host.length;
    }
    meta[m + 2] = this.lastHostAt;
    meta[m + 3] = this.lastHostLength;
    meta[m + 4] = port;
    if (++this.pending === this.addon.MAX_BATCH) this.flush(socket);
    return true;
  }

  /** Sends everything packed with one sendmmsg; failures are counted and logged (at most every 10 s). */
  flush(socket: AddonSocket): void {
    const count = this.pending;
    if (count === 0) return;
    this.pending = 0;
    this.used = 0;
    this.lastHostAt = -1;
    this.batches++;
    let sent = 0;
    try {
      sent = this.addon.sendBatch(socket, count);
    } catch (error) {
      this.logger.error({ err: error }, this.labels.refused);
    }
    this.sent += sent;
    if (sent === count) return;
    this.failed += count - sent;
    const now = Date.now();
    if (now - this.lastWarn >= SEND_WARN_INTERVAL_MS) {
      this.lastWarn = now;
      this.logger.warn({ failed: count - sent, code: this.addon.stats(socket)[4] || undefined }, this.labels.failed);
    }
  }

  /** Forgets what is packed (the socket closed). */
  drop(): void {
    this.pending = 0;
    this.used = 0;
    this.lastHostAt = -1;
  }
}
