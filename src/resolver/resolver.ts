// The resolver's front door: every client message from any listener comes in here. It
// picks the policy snapshot in force (the query keeps it to the end), classifies the
// client, applies the UDP rate limit before any parsing, parses the message once, and runs
// the pipeline (src/pipeline/order.ts). It owns what outlives a policy swap: the answer
// cache, the forwarder with its upstream sockets, and the query counters.
import type { Logger } from 'pino';
import type { DecisionSink } from '../audit/types.ts';
import type { UpstreamTarget } from '../config/upstreams.ts';
import { HEADER_SIZE, RCODE } from '../dns/constants.ts';
import { isRejection, type ParsedQuery, parseQuery, udpAnswerLimit } from '../dns/query-parser.ts';
import { synthesize } from '../dns/synthesize.ts';
import type { Handler, QueryContext, Responder, Transport } from '../pipeline/context.ts';
import { countQuery, type QueryCount, QueryCounters } from '../pipeline/counters.ts';
import { buildQueryPipeline, buildResponsePipeline } from '../pipeline/order.ts';
import { createReplier, type Replier } from '../pipeline/reply.ts';
import { createVerdicts } from '../pipeline/verdicts.ts';
import type { ClientInfo } from '../policy/segments.ts';
import type { PolicySnapshot } from '../policy/snapshot.ts';
import { AnswerCache, type CacheStats } from './answer-cache.ts';
import { Forwarder, type ForwarderOptions, type ForwarderStats } from './forwarder.ts';

export interface ResolverOptions extends ForwarderOptions {
  cacheSize: number;
  maxStaleSeconds: number;
}

export interface ResolverDeps {
  upstreams: readonly UpstreamTarget[];
  decisions: DecisionSink;
  logger: Logger;
  /** Shared with the policy builder: each segment's counts come from here. */
  counters: QueryCounters;
}

export interface ResolverStats {
  queries: QueryCount[];
  /** Datagrams dropped without an answer (too short to parse, or QR=1). */
  dropped: number;
  /** UDP queries over their client's rate limit (answered TC=1 or dropped). */
  rateLimited: number;
  /** Exceptions caught on the query path (answered SERVFAIL); should stay 0. */
  internalErrors: number;
  cache: CacheStats & { entries: number };
  forwarder: ForwarderStats;
  /** Generation of the policy in force (src/policy/snapshot.ts). */
  policyGeneration: number;
}

export class Resolver {
  private policy: PolicySnapshot;
  private readonly cache: AnswerCache;
  private readonly forwarder: Forwarder;
  private readonly counters: QueryCounters;
  private readonly reply: Replier;
  private readonly pipeline: Handler;
  private readonly logger: Logger;
  private readonly counts = { dropped: 0, rateLimited: 0, internalErrors: 0 };
  /**
   * The context (and parsed query) of the last UDP query that ended within its handleMessage
   * call with nothing keeping it (`retained`), for the next UDP query to fill instead of making
   * two objects. They were ~40% of what a cached answer allocated; young-generation GC
   * pauses at 20k queries a second are what set the p99 (docs/BENCHMARKS.md).
   */
  private spare: ReusableContext | undefined;

  constructor(deps: ResolverDeps, options: ResolverOptions, policy: PolicySnapshot) {
    this.policy = policy;
    this.logger = deps.logger;
    this.counters = deps.counters;
    this.cache = new AnswerCache(options.cacheSize, 86_400, options.serveStale ? options.maxStaleSeconds : 0);
    this.reply = createReplier();
    const verdicts = createVerdicts({ reply: this.reply, decisions: deps.decisions });
    const respond = buildResponsePipeline({ reply: this.reply, verdicts });
    this.forwarder = new Forwarder({ upstreams: deps.upstreams, cache: this.cache, reply: this.reply, respond, logger: deps.logger.child({ component: 'upstream' }) }, options);
    this.pipeline = buildQueryPipeline({ reply: this.reply, verdicts, cache: this.cache, forwarder: this.forwarder, respond });
  }

  async start(): Promise<void> {
    await this.forwarder.start();
  }

  async stop(): Promise<void> {
    await this.forwarder.stop();
  }

  /** The policy in force. */
  get currentPolicy(): PolicySnapshot {
    return this.policy;
  }

  /**
   * Installs a new policy: one pointer write. Queries already running finish on the policy
   * they started with; cached answers stay valid (policy applies on the way out).
   */
  install(policy: PolicySnapshot): void {
    this.policy = policy;
  }

  stats(): ResolverStats {
    return {
      queries: this.counters.stats(),
      ...this.counts,
      cache: { ...this.cache.stats, entries: this.cache.size },
      forwarder: this.forwarder.stats(),
      policyGeneration: this.policy.generation,
    };
  }

  /** Entry point for every client message, from any listener. Never throws. */
  handleMessage(buf: Buffer, client: string, transport: Transport, responder: Responder, replyTo: unknown, replyPort: number, now = Date.now()): void {
    const policy = this.policy;
    const info = policy.classifier.classify(client);
    // Rate limiting comes before parsing: a flooding client's excess must cost as little as
    // possible, so the socket drains fast enough for everyone else's queries to get through.
    if (transport === 'udp' && info.bucket !== undefined && !policy.rateLimiter.take(info.bucket, now)) {
      this.overLimit(buf, client, policy, info, responder, replyTo, replyPort, now);
      return;
    }
    const spare = transport === 'udp' ? this.spare : undefined;
    if (spare !== undefined) this.spare = undefined;
    const parsed = parseQuery(buf, spare?.q);
    if (isRejection(parsed)) {
      this.spare = spare;
      if (parsed.kind === 'drop') {
        this.counts.dropped++;
        responder.noReply(replyTo);
        return;
      }
      const ctx = makeContext(buf, EMPTY_QUERY, client, policy, info, now, transport, responder, replyTo, replyPort);
      const view = { id: parsed.id, flags: parsed.flags, questionEnd: parsed.questionEnd, edns: parsed.edns };
      this.reply.send(ctx, synthesize(buf, view, { rcode: parsed.rcode }), parsed.rcode === RCODE.NOTIMP ? 'notimp' : 'formerr');
      return;
    }
    const ctx = spare === undefined ? makeContext(buf, parsed, client, policy, info, now, transport, responder, replyTo, replyPort) : refill(spare, buf, client, policy, info, now, responder, replyTo, replyPort);
    try {
      if (parsed.edns !== undefined && parsed.edns.version > 0) {
        // RFC 6891 §6.1.3: unknown EDNS version → BADVERS with an OPT of version 0.
        this.reply.synth(ctx, { rcode: RCODE.BADVERS }, 'formerr');
      } else {
        this.pipeline(ctx);
      }
    } catch (error) {
      this.counts.internalErrors++;
      this.logger.error({ err: error, qname: parsed.qname }, 'internal error while handling a query');
      this.reply.synth(ctx, { rcode: RCODE.SERVFAIL }, 'servfail');
    }
    if (transport === 'udp' && !ctx.retained) this.spare = ctx;
  }

  /**
   * A UDP query over its client's rate: "slip" answers one in `slip_every` with an empty
   * TC=1 reply (a real client retries over TCP; a spoofed victim gets little), the rest
   * are dropped; "drop" answers none.
   */
  private overLimit(buf: Buffer, client: string, policy: PolicySnapshot, info: ClientInfo, responder: Responder, replyTo: unknown, replyPort: number, now: number): void {
    this.counts.rateLimited++;
    if (policy.rateLimiter.shouldSlip()) {
      const parsed = parseQuery(buf);
      if (!isRejection(parsed)) {
        const ctx = makeContext(buf, parsed, client, policy, info, now, 'udp', responder, replyTo, replyPort);
        this.reply.synth(ctx, { rcode: RCODE.NOERROR, truncated: true }, 'ratelimited');
        return;
      }
    }
    countQuery(info.segment.counts, 'ratelimited', 'udp');
    responder.noReply(replyTo);
  }
}

function makeContext(
  buf: Buffer,
  q: ParsedQuery,
  client: string,
  policy: PolicySnapshot,
  info: ClientInfo,
  now: number,
  transport: Transport,
  responder: Responder,
  replyTo: unknown,
  replyPort: number,
): QueryContext {
  const edns = q.edns;
  // Only UDP has a size limit; TCP, DoT and DoH carry up to 65,535 octets.
  const maxSize = transport !== 'udp' ? 65_535 : udpAnswerLimit(edns);
  return {
    query: buf,
    q,
    client,
    transport,
    responder,
    replyTo,
    replyPort,
    maxSize,
    receivedAt: now,
    policy,
    allowed: info.allowed,
    segment: info.segment,
    bucket: info.bucket,
    logMatch: undefined,
    retained: false,
  };
}

type ReusableContext = { -readonly [K in keyof QueryContext]: QueryContext[K] };

/** `ctx` (a finished UDP query's, its parsed query already refilled) set up for the next UDP query: every field makeContext sets. */
function refill(ctx: ReusableContext, buf: Buffer, client: string, policy: PolicySnapshot, info: ClientInfo, now: number, responder: Responder, replyTo: unknown, replyPort: number): QueryContext {
  const edns = ctx.q.edns;
  ctx.query = buf;
  ctx.client = client;
  ctx.responder = responder;
  ctx.replyTo = replyTo;
  ctx.replyPort = replyPort;
  ctx.maxSize = udpAnswerLimit(edns);
  ctx.receivedAt = now;
  ctx.policy = policy;
  ctx.allowed = info.allowed;
  ctx.segment = info.segment;
  ctx.bucket = info.bucket;
  ctx.logMatch = undefined;
  ctx.retained = false;
  return ctx;
}

/** The parsed view of a message that was rejected before its question could be read. */
const EMPTY_QUERY: ParsedQuery = Object.freeze({
  id: 0,
  flags: 0,
  opcode: 0,
  qname: '',
  qtype: 0,
  qclass: 0,
  questionEnd: HEADER_SIZE,
  edns: undefined,
  cacheKey: '',
});
