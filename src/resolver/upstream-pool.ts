// Upstream forwarding over UDP with failover (RFC 5452 forgery resilience).
//
// dns2's clients are not used: they do not check the question or QR (see
// shared/research/dns2-and-standards.md). Instead: a pool of UDP sockets on kernel-chosen
// random ports, rotated continuously; a CSPRNG ID per query; a reply is accepted only from
// the upstream's address and port, with QR=1, our ID and our question. TC=1 answers are
// retried over TCP. One sweeper timer handles every deadline (no timer per query).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Logger } from 'pino';
import { questionMatches } from '../dns/answer-scan.ts';
import { FLAG, HEADER_SIZE, MAX_UDP_PAYLOAD, TYPE } from '../dns/constants.ts';
import type { HostPort } from '../util/address.ts';
import { randomBelow, randomId } from './random-ids.ts';
import { tcpQuery } from './upstream-tcp.ts';

export interface Upstream {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly label: string;
  /** Epoch ms until which the upstream counts as down (0 = up). */
  downUntil: number;
  consecutiveFailures: number;
  sent: number;
  answered: number;
  timeouts: number;
}

/** A query in flight. The pool owns the fields it sets; `owner` is the caller's context. */
export interface UpstreamJob<T> {
  readonly owner: T;
  /** The question (name, type, class) as sent upstream. */
  readonly question: Buffer;
  /** Require the reply to echo the question's case exactly (0x20); otherwise case-insensitive. */
  readonly exactQuestion: boolean;
  readonly dnssecOk: boolean;
  readonly checkingDisabled: boolean;
  /** Overall deadline (epoch ms) after which the caller gets a failure. */
  readonly deadline: number;
  attempt: number;
  attemptDeadline: number;
  id: number;
  upstream: Upstream | undefined;
  slot: SocketSlot<T> | undefined;
  query: Buffer | undefined;
}

export type UpstreamResult<T> = (job: UpstreamJob<T>, answer: Buffer | undefined, reason: string) => void;

export interface UpstreamStats {
  sent: number;
  answered: number;
  timeouts: number;
  /** Replies dropped for a wrong source, ID, QR or question (possible spoofing). */
  mismatched: number;
  tcpRetries: number;
  failures: number;
}

interface SocketSlot<T> {
  socket: Socket;
  family: 4 | 6;
  pending: Map<number, UpstreamJob<T>>;
  retiredAt: number;
}

export interface UpstreamPoolOptions {
  timeoutMs: number;
  /** Sockets per address family; each query picks one at random. */
  sockets: number;
  /** How often one socket is replaced by a new one on a fresh random port (ms). */
  rotateMs: number;
}

const SWEEP_MS = 20;
/** Truncated answers retried over TCP at once, at most (each holds a socket). */
export const MAX_TCP_RETRIES_IN_FLIGHT = 64;
const MAX_DOWN_MS = 30_000;

export class UpstreamPool<T> {
  readonly upstreams: Upstream[];
  readonly stats: UpstreamStats = { sent: 0, answered: 0, timeouts: 0, mismatched: 0, tcpRetries: 0, failures: 0 };
  private readonly options: UpstreamPoolOptions;
  private readonly onResult: UpstreamResult<T>;
  private readonly logger: Logger;
  private readonly slots: { 4: SocketSlot<T>[]; 6: SocketSlot<T>[] } = { 4: [], 6: [] };
  private readonly retiring: SocketSlot<T>[] = [];
  private sweeper: NodeJS.Timeout | undefined;
  private rotator: NodeJS.Timeout | undefined;
  private rotateNext = 0;
  private tcpInFlight = 0;
  private closed = false;

  constructor(targets: readonly HostPort[], options: UpstreamPoolOptions, onResult: UpstreamResult<T>, logger: Logger) {
    this.upstreams = targets.map((t) => ({
      host: t.host,
      port: t.port,
      family: t.family,
      label: t.family === 6 ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`,
      downUntil: 0,
      consecutiveFailures: 0,
      sent: 0,
      answered: 0,
      timeouts: 0,
    }));
    this.options = options;
    this.onResult = onResult;
    this.logger = logger;
  }

  async start(): Promise<void> {
    const families = new Set(this.upstreams.map((u) => u.family));
    for (const family of families) {
      for (let i = 0; i < this.options.sockets; i++) this.slots[family].push(await this.openSlot(family));
    }
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
    this.rotator = setInterval(() => void this.rotate(), this.options.rotateMs);
    this.rotator.unref();
  }

  /** Sends the job's question to the healthiest upstream; the result arrives through onResult. */
  resolve(job: UpstreamJob<T>): void {
    this.sendAttempt(job, Date.now());
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    clearInterval(this.rotator);
    const all = [...this.slots[4], ...this.slots[6], ...this.retiring];
    for (const slot of all) {
      for (const job of slot.pending.values()) this.onResult(job, undefined, 'shutdown');
      slot.pending.clear();
      slot.socket.close();
    }
  }

  private async openSlot(family: 4 | 6): Promise<SocketSlot<T>> {
    const socket = createSocket({ type: family === 4 ? 'udp4' : 'udp6' });
    const slot: SocketSlot<T> = { socket, family, pending: new Map(), retiredAt: 0 };
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.onMessage(slot, msg, rinfo));
    socket.on('error', (error) => this.logger.warn({ err: error }, 'upstream socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, family === 4 ? '0.0.0.0' : '::', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return slot;
  }

  /** Replaces one socket with a fresh one (new random port); the old one drains its pending queries. */
  private async rotate(): Promise<void> {
    for (const family of [4, 6] as const) {
      const slots = this.slots[family];
      if (slots.length === 0 || this.closed) continue;
      const index = this.rotateNext % slots.length;
      const fresh = await this.openSlot(family).catch(() => undefined);
      if (!fresh || this.closed) {
        fresh?.socket.close();
        continue;
      }
      const old = slots[index] as SocketSlot<T>;
      old.retiredAt = Date.now();
      this.retiring.push(old);
      slots[index] = fresh;
    }
    this.rotateNext++;
  }

  private pick(attempt: number, now: number): Upstream {
    let upCount = 0;
    for (const u of this.upstreams) if (u.downUntil <= now) upCount++;
    if (upCount > 0) {
      let k = attempt % upCount;
      for (const u of this.upstreams) {
        if (u.downUntil <= now && k-- === 0) return u;
      }
    }
    // Everything is down: try the one that has been down longest first.
    const byRecovery = [...this.upstreams].sort((a, b) => a.downUntil - b.downUntil);
    return byRecovery[attempt % byRecovery.length] as Upstream;
  }

  private sendAttempt(job: UpstreamJob<T>, now: number): void {
    const upstream = this.pick(job.attempt, now);
    const slots = this.slots[upstream.family];
    const slot = slots[randomBelow(slots.length)] as SocketSlot<T>;
    let id = randomId();
    while (slot.pending.has(id)) id = randomId();
    job.id = id;
    job.upstream = upstream;
    job.slot = slot;
    job.attemptDeadline = Math.min(now + this.options.timeoutMs, job.deadline);
    job.query = buildUpstreamQuery(id, job.question, job.dnssecOk, job.checkingDisabled);
    slot.pending.set(id, job);
    upstream.sent++;
    this.stats.sent++;
    slot.socket.send(job.query, upstream.port, upstream.host);
  }

  private onMessage(slot: SocketSlot<T>, msg: Buffer, rinfo: RemoteInfo): void {
    if (msg.length < HEADER_SIZE) {
      this.stats.mismatched++;
      return;
    }
    const job = slot.pending.get(msg.readUInt16BE(0));
    const upstream = job?.upstream;
    if (
      job === undefined ||
      upstream === undefined ||
      rinfo.port !== upstream.port ||
      rinfo.address !== upstream.host ||
      (msg.readUInt16BE(2) & FLAG.QR) === 0 ||
      !replyQuestionMatches(msg, job)
    ) {
      this.stats.mismatched++;
      return;
    }
    slot.pending.delete(job.id);
    this.markUp(upstream);
    if (msg.readUInt16BE(2) & FLAG.TC) {
      this.retryOverTcp(job, upstream);
      return;
    }
    this.stats.answered++;
    this.onResult(job, msg, 'ok');
  }

  private retryOverTcp(job: UpstreamJob<T>, upstream: Upstream): void {
    // Each retry holds a descriptor: a bounded number at once (src/replica/fd-budget.ts counts on it).
    if (this.tcpInFlight >= MAX_TCP_RETRIES_IN_FLIGHT) {
      this.stats.failures++;
      this.onResult(job, undefined, 'tcp-busy');
      return;
    }
    this.stats.tcpRetries++;
    this.tcpInFlight++;
    const remaining = Math.max(job.deadline - Date.now(), 1);
    tcpQuery(upstream.host, upstream.port, job.query as Buffer, (reply) => replyQuestionMatches(reply, job), remaining, (answer, reason) => {
      this.tcpInFlight--;
      if (this.closed) return;
      if (answer) this.stats.answered++;
      else this.stats.failures++;
      this.onResult(job, answer, answer ? 'ok' : reason);
    });
  }

  private markUp(upstream: Upstream): void {
    upstream.answered++;
    if (upstream.consecutiveFailures > 0 || upstream.downUntil > 0) {
      if (upstream.downUntil > 0) this.logger.info({ upstream: upstream.label }, 'upstream is answering again');
      upstream.consecutiveFailures = 0;
      upstream.downUntil = 0;
    }
  }

  private markDown(upstream: Upstream, now: number): void {
    upstream.timeouts++;
    upstream.consecutiveFailures++;
    const wasUp = upstream.downUntil <= now;
    upstream.downUntil = now + Math.min(MAX_DOWN_MS, 1000 * 2 ** Math.min(upstream.consecutiveFailures - 1, 5));
    if (wasUp) this.logger.warn({ upstream: upstream.label, failures: upstream.consecutiveFailures }, 'upstream timed out; marked down');
  }

  private sweep(): void {
    const now = Date.now();
    for (const family of [4, 6] as const) for (const slot of this.slots[family]) this.expire(slot, now);
    for (let i = this.retiring.length - 1; i >= 0; i--) {
      const slot = this.retiring[i] as SocketSlot<T>;
      this.expire(slot, now);
      if (slot.pending.size === 0) {
        slot.socket.close();
        this.retiring.splice(i, 1);
      }
    }
  }

  private expire(slot: SocketSlot<T>, now: number): void {
    if (slot.pending.size === 0) return;
    for (const job of slot.pending.values()) {
      if (job.attemptDeadline > now) continue;
      slot.pending.delete(job.id);
      this.stats.timeouts++;
      if (job.upstream) this.markDown(job.upstream, now);
      if (now < job.deadline && !this.closed) {
        job.attempt++;
        this.sendAttempt(job, now);
      } else {
        this.stats.failures++;
        this.onResult(job, undefined, 'timeout');
      }
    }
  }
}

function replyQuestionMatches<T>(reply: Buffer, job: UpstreamJob<T>): boolean {
  if (!job.exactQuestion) return questionMatches(reply, job.question);
  const end = HEADER_SIZE + job.question.length;
  return reply.length >= end && reply.readUInt16BE(4) === 1 && reply.compare(job.question, 0, job.question.length, HEADER_SIZE, end) === 0;
}

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
