// Cache misses: one upstream query per distinct question in flight (identical questions
// are coalesced), a cap on queries in flight, and serve-stale (RFC 8767) when the
// upstreams fail or are slower than the client response timer. Answers are cached and go
// to the response side (`respond`); failures get SERVFAIL through `reply`.
import type { Logger } from 'pino';
import { scanAnswer } from '../dns/answer-scan.ts';
import { EDE, FLAG, HEADER_SIZE, RCODE } from '../dns/constants.ts';
import { edeText } from '../dns/synthesize.ts';
import type { UpstreamKind, UpstreamTarget } from '../config/upstreams.ts';
import type { QueryContext, ResponseHandler } from '../pipeline/context.ts';
import type { DatagramMode } from '../server/datagram-addon.ts';
import type { Replier } from '../pipeline/reply.ts';
import type { AnswerCache } from './answer-cache.ts';
import { randomId } from './random-ids.ts';
import { UpstreamPool, type UpstreamJob } from './upstream-pool.ts';
import type { UpstreamDatagramCounts } from './upstream-socket.ts';

export interface ForwarderOptions {
  queryTimeoutMs: number;
  upstreamTimeoutMs: number;
  upstreamSockets: number;
  maxInflight: number;
  use0x20: boolean;
  serveStale: boolean;
  /** RFC 8767 client response timer: answer stale after this long without an upstream answer. */
  staleAfterMs: number;
  /** Certificates encrypted upstreams may chain to (undefined: the default roots). */
  upstreamCa?: string[] | undefined;
  /** dns.datagram: UDP queries to the upstreams leave through the batched addon or node:dgram. */
  datagram?: DatagramMode | undefined;
}

export interface ForwarderDeps {
  upstreams: readonly UpstreamTarget[];
  cache: AnswerCache;
  reply: Pick<Replier, 'synth'>;
  respond: ResponseHandler;
  logger: Logger;
}

export interface UpstreamState {
  label: string;
  transport: UpstreamKind;
  up: boolean;
  sent: number;
  answered: number;
  timeouts: number;
  /** Attempts that failed early: refused, reset, TLS or HTTP errors, wrong answers. */
  errors: number;
}

export interface ForwarderStats {
  /** Cache misses that joined an identical question already in flight. */
  coalesced: number;
  /** Distinct questions waiting for an upstream answer. */
  inflight: number;
  /** Upstream replies dropped for a wrong source, ID, QR bit or question (RFC 5452). */
  mismatched: number;
  upstreams: UpstreamState[];
  /** Batches and datagrams of the UDP upstream sockets on the batched addon (zeros on node:dgram). */
  udp: UpstreamDatagramCounts;
}

/** One distinct question in flight and the clients waiting for it. */
interface Inflight {
  readonly key: string;
  readonly startedAt: number;
  waiters: QueryContext[];
  /** The waiters so far got a stale answer; later arrivals get it at once. */
  staleServed: boolean;
}

const NO_UPSTREAM = { code: EDE.NO_REACHABLE_AUTHORITY, text: edeText('no upstream answered') };
const MALFORMED = { code: EDE.NETWORK_ERROR, text: edeText('upstream answer was malformed') };
const BUSY_TEXT = edeText('too many queries in flight');

export class Forwarder {
  private readonly pool: UpstreamPool<Inflight>;
  private readonly inflight = new Map<string, Inflight>();
  private readonly cache: AnswerCache;
  private readonly reply: Pick<Replier, 'synth'>;
  private readonly respond: ResponseHandler;
  private readonly options: ForwarderOptions;
  private staleTimer: NodeJS.Timeout | undefined;
  private coalesced = 0;

  constructor(deps: ForwarderDeps, options: ForwarderOptions) {
    this.cache = deps.cache;
    this.reply = deps.reply;
    this.respond = deps.respond;
    this.options = options;
    this.pool = new UpstreamPool<Inflight>(
      deps.upstreams,
      { timeoutMs: options.upstreamTimeoutMs, sockets: options.upstreamSockets, rotateMs: 1000, ca: options.upstreamCa, datagram: options.datagram },
      (job, answer, reason) => this.onResult(job, answer, reason),
      deps.logger,
    );
  }

  async start(): Promise<void> {
    await this.pool.start();
    if (this.options.serveStale) {
      this.staleTimer = setInterval(() => this.serveStaleToSlow(), 100);
      this.staleTimer.unref();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.staleTimer);
    await this.pool.close();
  }

  stats(): ForwarderStats {
    const now = Date.now();
    return {
      coalesced: this.coalesced,
      inflight: this.inflight.size,
      mismatched: this.pool.stats.mismatched,
      udp: { ...this.pool.udpDatagrams },
      upstreams: this.pool.upstreams.map((u) => ({ label: u.label, transport: u.kind, up: u.downUntil <= now, sent: u.sent, answered: u.answered, timeouts: u.timeouts, errors: u.errors })),
    };
  }

  readonly forward = (ctx: QueryContext): void => {
    // Waiters are answered later: the resolver must not reuse this context meanwhile.
    ctx.retained = true;
    const q = ctx.q;
    const key = q.cacheKey;
    const existing = this.inflight.get(key);
    if (existing !== undefined) {
      this.coalesced++;
      if (existing.staleServed && this.answerStale(ctx, key)) return;
      existing.waiters.push(ctx);
      return;
    }
    if (this.inflight.size >= this.options.maxInflight) {
      if (!this.answerStale(ctx, key)) this.reply.synth(ctx, { rcode: RCODE.SERVFAIL, ede: { code: EDE.OTHER, text: BUSY_TEXT } }, 'servfail');
      return;
    }
    const entry: Inflight = { key, startedAt: ctx.receivedAt, waiters: [ctx], staleServed: false };
    this.inflight.set(key, entry);
    const clientQuestion = ctx.query.subarray(HEADER_SIZE, q.questionEnd);
    const job = this.pool.job({
      owner: entry,
      question: this.options.use0x20 ? randomizeCase(clientQuestion) : clientQuestion,
      exactQuestion: this.options.use0x20,
      dnssecOk: q.edns?.dnssecOk === true,
      checkingDisabled: (q.flags & FLAG.CD) !== 0,
      deadline: ctx.receivedAt + this.options.queryTimeoutMs,
    });
    this.pool.resolve(job);
  };

  private onResult(job: UpstreamJob<Inflight>, answer: Buffer | undefined, _reason: string): void {
    const entry = job.owner;
    if (this.inflight.get(entry.key) === entry) this.inflight.delete(entry.key);
    const waiters = entry.waiters;
    entry.waiters = [];
    const scan = answer === undefined ? undefined : scanAnswer(answer, HEADER_SIZE + job.question.length);
    if (answer === undefined || scan === undefined) {
      const ede = answer === undefined ? NO_UPSTREAM : MALFORMED;
      for (const ctx of waiters) {
        if (!this.answerStale(ctx, entry.key)) this.reply.synth(ctx, { rcode: RCODE.SERVFAIL, ede }, 'servfail');
      }
      return;
    }
    this.cache.set(entry.key, answer, scan, Date.now());
    for (const ctx of waiters) {
      // RFC 8767 §4: an upstream SERVFAIL is a failure too; a stale answer beats it.
      if (scan.rcode === RCODE.SERVFAIL && this.answerStale(ctx, entry.key)) continue;
      this.respond(ctx, answer, scan, 0, 'forwarded');
    }
  }

  /** Answers from an expired cache entry if serve-stale allows; false when there is none. */
  private answerStale(ctx: QueryContext, key: string): boolean {
    if (!this.options.serveStale) return false;
    const stale = this.cache.getStale(key, Date.now());
    if (stale === undefined) return false;
    this.respond(ctx, stale.buf, stale.scan, 0, 'stale');
    return true;
  }

  /** RFC 8767 client response timer: waiters past staleAfterMs get a stale answer if one exists. */
  private serveStaleToSlow(): void {
    const cutoff = Date.now() - this.options.staleAfterMs;
    for (const entry of this.inflight.values()) {
      if (entry.startedAt > cutoff || entry.waiters.length === 0) continue;
      const [first] = entry.waiters;
      if (first === undefined || !this.answerStale(first, entry.key)) continue;
      for (const ctx of entry.waiters.slice(1)) this.answerStale(ctx, entry.key);
      entry.waiters = [];
      entry.staleServed = true;
    }
  }
}

/** Random upper/lower case for each letter (DNS 0x20): more bits an off-path spoofer must guess. */
function randomizeCase(question: Buffer): Buffer {
  const out = Buffer.from(question);
  let bits = 0;
  let left = 0;
  for (let i = 0; i < out.length - 4; i++) {
    const c = out[i] as number;
    const lower = c | 0x20;
    if (lower < 0x61 || lower > 0x7a) continue;
    if (left === 0) {
      bits = randomId();
      left = 16;
    }
    out[i] = bits & 1 ? lower & ~0x20 : lower;
    bits >>= 1;
    left--;
  }
  return out;
}
