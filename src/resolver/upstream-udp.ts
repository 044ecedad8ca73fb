// Plain DNS to upstreams over UDP (RFC 5452 forgery resilience), one transport for every UDP
// upstream. dns2's clients are not used: they do not check the question or QR (see
// shared/research/dns2-and-standards.md). Instead: a pool of UDP sockets on kernel-chosen
// random ports, rotated continuously; a CSPRNG ID per query; a reply is accepted only from
// the upstream's address and port, with QR=1, our ID and our question. TC=1 answers are
// retried over TCP. The sockets are node:dgram's or the batched addon's (upstream-socket.ts).
import type { Logger } from 'pino';
import { FLAG, HEADER_SIZE } from '../dns/constants.ts';
import { chooseDatagramPath, type DatagramMode, type DatagramPath } from '../server/datagram-addon.ts';
import { openBatchUpstreamSocket } from './upstream-batch-socket.ts';
import { noDatagramCounts, openDgramSocket, type UpstreamDatagramCounts, type UpstreamSocket, type UpstreamSocketOpener } from './upstream-socket.ts';
import { randomBelow, randomId } from './random-ids.ts';
import { buildUpstreamQuery, replyQuestionMatches } from './upstream-message.ts';
import { tcpQuery } from './upstream-tcp.ts';
import type { Attempt, TransportEvents, UpstreamTransport } from './upstream-transport.ts';

/** Truncated answers retried over TCP at once, at most (each holds a socket). */
export const MAX_TCP_RETRIES_IN_FLIGHT = 64;

interface SocketSlot<J> {
  socket: UpstreamSocket;
  family: 4 | 6;
  pending: Map<number, J>;
}

/** An attempt retried over TCP: its cancel switch. */
interface TcpRetry {
  cancel: () => void;
}

export interface UdpTransportOptions {
  /** Sockets per address family; each query picks one at random. */
  sockets: number;
  /** How often one socket is replaced by a new one on a fresh random port (ms). */
  rotateMs: number;
  /** dns.datagram: the batched addon or node:dgram (DNSWARD_DATAGRAM overrides; default auto). */
  datagram?: DatagramMode | undefined;
}

/** How `mode` opens upstream sockets here, and which path that is. Throws DNSWARD_ERR_CONFIG as chooseDatagramPath does. */
export function upstreamSocketOpener(mode: DatagramMode | undefined, logger: Logger, counts = noDatagramCounts()): { path: DatagramPath; open: UpstreamSocketOpener } {
  const addon = chooseDatagramPath(mode).addon;
  if (addon === undefined) return { path: 'dgram', open: (family, onMessage) => openDgramSocket(family, onMessage, logger) };
  return { path: 'addon', open: (family, onMessage) => openBatchUpstreamSocket(addon, family, onMessage, logger, counts) };
}

export class UdpTransport<J extends Attempt> implements UpstreamTransport<J> {
  /** Truncated answers retried over TCP so far. */
  tcpRetries = 0;
  /** Which sockets the queries leave from. */
  readonly path: DatagramPath;
  /** Batches and datagrams of the batched sockets, old and current (zero on node:dgram). */
  readonly datagrams: UpstreamDatagramCounts = noDatagramCounts();
  private readonly open: UpstreamSocketOpener;
  private readonly families: readonly (4 | 6)[];
  private readonly options: UdpTransportOptions;
  private readonly events: TransportEvents<J>;
  private readonly logger: Logger;
  private readonly slots: { 4: SocketSlot<J>[]; 6: SocketSlot<J>[] } = { 4: [], 6: [] };
  private readonly retiring: SocketSlot<J>[] = [];
  private readonly retries = new Set<TcpRetry>();
  private rotator: NodeJS.Timeout | undefined;
  private rotateNext = 0;
  private tcpInFlight = 0;
  private closed = false;

  constructor(families: readonly (4 | 6)[], options: UdpTransportOptions, events: TransportEvents<J>, logger: Logger) {
    this.families = families;
    this.options = options;
    this.events = events;
    this.logger = logger;
    ({ path: this.path, open: this.open } = upstreamSocketOpener(options.datagram, logger, this.datagrams));
  }

  async start(): Promise<void> {
    for (const family of this.families) {
      for (let i = 0; i < this.options.sockets; i++) this.slots[family].push(await this.openSlot(family));
    }
    this.rotator = setInterval(() => void this.rotate(), this.options.rotateMs);
    this.rotator.unref();
    this.logger.debug({ datagram: this.path }, this.path === 'addon' ? 'upstream udp: batched datagrams (sendmmsg/recvmmsg addon)' : 'upstream udp: node:dgram');
  }

  send(job: J): void {
    const target = (job.upstream as NonNullable<J['upstream']>).target;
    const slots = this.slots[target.family === 6 ? 6 : 4];
    const slot = slots[randomBelow(slots.length)] as SocketSlot<J>;
    let id = randomId();
    while (slot.pending.has(id)) id = randomId();
    job.id = id;
    job.handle = slot;
    job.query = buildUpstreamQuery(id, job.question, job.dnssecOk, job.checkingDisabled);
    slot.pending.set(id, job);
    slot.socket.send(job.query, target.port, target.host);
  }

  cancel(job: J): void {
    const handle = job.handle as SocketSlot<J> | TcpRetry | undefined;
    job.handle = undefined;
    if (handle === undefined) return;
    if ('pending' in handle) {
      if (handle.pending.get(job.id) === job) handle.pending.delete(job.id);
    } else {
      handle.cancel();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.rotator);
    for (const slot of [...this.slots[4], ...this.slots[6], ...this.retiring]) {
      for (const job of slot.pending.values()) job.handle = undefined;
      slot.pending.clear();
      slot.socket.close();
    }
    for (const retry of this.retries) retry.cancel();
  }

  private async openSlot(family: 4 | 6): Promise<SocketSlot<J>> {
    // A datagram that arrives before the socket is set (noise at a fresh port) only meets `pending`, which exists.
    const slot = { family, pending: new Map<number, J>() } as SocketSlot<J>;
    slot.socket = await this.open(family, (msg, address, port) => this.onMessage(slot, msg, address, port));
    return slot;
  }

  /** Replaces one socket with a fresh one (new random port); old ones close once they have drained. */
  private async rotate(): Promise<void> {
    for (let i = this.retiring.length - 1; i >= 0; i--) {
      const slot = this.retiring[i] as SocketSlot<J>;
      if (slot.pending.size > 0) continue;
      slot.socket.close();
      this.retiring.splice(i, 1);
    }
    for (const family of this.families) {
      const slots = this.slots[family];
      if (slots.length === 0 || this.closed) continue;
      const index = this.rotateNext % slots.length;
      const fresh = await this.openSlot(family).catch(() => undefined);
      if (!fresh || this.closed) {
        fresh?.socket.close();
        continue;
      }
      this.retiring.push(slots[index] as SocketSlot<J>);
      slots[index] = fresh;
    }
    this.rotateNext++;
  }

  private onMessage(slot: SocketSlot<J>, msg: Buffer, address: string, port: number): void {
    if (msg.length < HEADER_SIZE) {
      this.events.mismatched();
      return;
    }
    const job = slot.pending.get(msg.readUInt16BE(0));
    const target = job?.upstream?.target;
    if (
      job === undefined ||
      target === undefined ||
      port !== target.port ||
      address !== target.host ||
      (msg.readUInt16BE(2) & FLAG.QR) === 0 ||
      !replyQuestionMatches(msg, job)
    ) {
      this.events.mismatched();
      return;
    }
    slot.pending.delete(job.id);
    if (msg.readUInt16BE(2) & FLAG.TC) {
      this.retryOverTcp(job, target.host, target.port);
      return;
    }
    job.handle = undefined;
    this.events.answered(job, msg);
  }

  private retryOverTcp(job: J, host: string, port: number): void {
    // Each retry holds a descriptor: a bounded number at once (src/replica/fd-budget.ts counts on it).
    if (this.tcpInFlight >= MAX_TCP_RETRIES_IN_FLIGHT) {
      job.handle = undefined;
      this.events.failed(job, 'tcp-busy');
      return;
    }
    this.tcpRetries++;
    this.tcpInFlight++;
    // The retry may take what is left of the query's budget, not just this attempt's.
    job.attemptDeadline = job.deadline;
    const retry: TcpRetry = { cancel: () => undefined };
    job.handle = retry;
    this.retries.add(retry);
    const remaining = Math.max(job.deadline - Date.now(), 1);
    retry.cancel = tcpQuery(host, port, job.query as Buffer, (reply) => replyQuestionMatches(reply, job), remaining, (answer, reason) => {
      this.tcpInFlight--;
      this.retries.delete(retry);
      if (job.handle !== retry || this.closed) return;
      job.handle = undefined;
      if (answer) this.events.answered(job, answer);
      else this.events.failed(job, reason);
    });
  }
}
