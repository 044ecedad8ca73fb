// The resolver: parses each client message once, runs it through the pipeline
// (src/pipeline/order.ts), and owns what the stages share: segments, the list matcher,
// the cache, the upstream pool, decision recording and counters.
import type { Logger } from 'pino';
import type { Decision, DecisionResponse, DecisionSink } from '../audit/types.ts';
import type { AnswerScan } from '../dns/answer-scan.ts';
import { renderAnswer, renderStale } from '../dns/answer-render.ts';
import { EDE, HEADER_SIZE, MAX_UDP_PAYLOAD, MIN_UDP_PAYLOAD, RCODE } from '../dns/constants.ts';
import { isRejection, parseQuery } from '../dns/query-parser.ts';
import { edeText, type SynthSpec, synthesize } from '../dns/synthesize.ts';
import { OUTCOME_INDEX, OUTCOMES, type Handler, type Outcome, type QueryContext, type Responder, type Transport } from '../pipeline/context.ts';
import { buildPipeline } from '../pipeline/order.ts';
import { type DomainMatch, DomainMatcher, matchesAnySuffix } from '../policy/domain-matcher.ts';
import type { RateLimiter } from '../policy/rate-limiter.ts';
import { bindSegments, type ClientClassifier, type ClientInfo, type Segment } from '../policy/segments.ts';
import type { HostPort } from '../util/address.ts';
import { AnswerCache } from './answer-cache.ts';
import { Forwarder, type ForwarderOptions } from './forwarder.ts';

export interface ResolverOptions extends ForwarderOptions {
  cacheSize: number;
  maxStaleSeconds: number;
  anyPolicy: 'hinfo' | 'refuse';
}

const GENERIC_BLOCK_TEXT = edeText('blocked by dnsward');

export class ResolverCore {
  readonly classifier: ClientClassifier;
  readonly segments: readonly Segment[];
  readonly cache: AnswerCache;
  readonly forwarder: Forwarder;
  readonly rateLimiter: RateLimiter;
  readonly anyPolicy: 'hinfo' | 'refuse';
  matcher: DomainMatcher = DomainMatcher.build([]);
  /** Per segment × outcome × transport query counts (see countFor). */
  readonly counters: Float64Array;
  dropped = 0;
  internalErrors = 0;
  private readonly decisions: DecisionSink;
  private readonly logger: Logger;
  private readonly pipeline: Handler;

  constructor(
    deps: {
      classifier: ClientClassifier;
      segments: readonly Segment[];
      rateLimiter: RateLimiter;
      upstreams: readonly HostPort[];
      decisions: DecisionSink;
      logger: Logger;
    },
    options: ResolverOptions,
  ) {
    this.classifier = deps.classifier;
    this.segments = deps.segments;
    this.rateLimiter = deps.rateLimiter;
    this.decisions = deps.decisions;
    this.logger = deps.logger;
    this.anyPolicy = options.anyPolicy;
    this.cache = new AnswerCache(options.cacheSize, 86_400, options.serveStale ? options.maxStaleSeconds : 0);
    this.forwarder = new Forwarder(this, deps.upstreams, options, deps.logger.child({ component: 'upstream' }));
    this.counters = new Float64Array(deps.segments.length * OUTCOMES.length * 2);
    this.pipeline = buildPipeline(this);
  }

  async start(): Promise<void> {
    await this.forwarder.start();
  }

  async stop(): Promise<void> {
    await this.forwarder.stop();
  }

  /** Installs a new list matcher (lists loaded or refreshed); one pointer write per segment. */
  setMatcher(matcher: DomainMatcher): void {
    bindSegments(this.segments, matcher);
    this.matcher = matcher;
  }

  /** Entry point for every client message, from any listener. Never throws. */
  handleMessage(buf: Buffer, client: string, transport: Transport, responder: Responder, replyTo: unknown, replyPort: number): void {
    const info = this.classifier.classify(client);
    const now = Date.now();
    // Rate limiting comes before parsing: a flooding client's excess must cost as little as
    // possible, so the socket drains fast enough for everyone else's queries to get through.
    if (transport === 'udp' && info.bucket !== undefined && !this.rateLimiter.take(info.bucket, now)) {
      this.overLimit(buf, client, info, responder, replyTo, replyPort, now);
      return;
    }
    const parsed = parseQuery(buf);
    if (isRejection(parsed)) {
      if (parsed.kind === 'drop') {
        this.dropped++;
        responder.noReply(replyTo);
        return;
      }
      const view = { id: parsed.id, flags: parsed.flags, questionEnd: parsed.questionEnd, edns: parsed.edns };
      const ctx = this.makeContext(buf, undefined, client, info, now, transport, responder, replyTo, replyPort);
      this.send(ctx, synthesize(buf, view, { rcode: parsed.rcode }), parsed.rcode === RCODE.NOTIMP ? 'notimp' : 'formerr');
      return;
    }
    const ctx = this.makeContext(buf, parsed, client, info, now, transport, responder, replyTo, replyPort);
    try {
      if (parsed.edns !== undefined && parsed.edns.version > 0) {
        // RFC 6891 §6.1.3: unknown EDNS version → BADVERS with an OPT of version 0.
        this.respondSynth(ctx, { rcode: RCODE.BADVERS }, 'formerr');
        return;
      }
      this.pipeline(ctx);
    } catch (error) {
      this.internalErrors++;
      this.logger.error({ err: error, qname: parsed.qname }, 'internal error while handling a query');
      this.respondSynth(ctx, { rcode: RCODE.SERVFAIL }, 'servfail');
    }
  }

  /**
   * A UDP query over its client's rate: "slip" answers one in `slip_every` with an empty
   * TC=1 reply (a real client retries over TCP; a spoofed victim gets little), the rest
   * are dropped; "drop" answers none.
   */
  private overLimit(buf: Buffer, client: string, info: ClientInfo, responder: Responder, replyTo: unknown, replyPort: number, now: number): void {
    if (this.rateLimiter.shouldSlip()) {
      const parsed = parseQuery(buf);
      if (!isRejection(parsed)) {
        const ctx = this.makeContext(buf, parsed, client, info, now, 'udp', responder, replyTo, replyPort);
        this.respondSynth(ctx, { rcode: RCODE.NOERROR, truncated: true }, 'ratelimited');
        return;
      }
    }
    this.countFor(info.segment, 'ratelimited', 'udp');
    responder.noReply(replyTo);
  }

  private makeContext(
    buf: Buffer,
    parsed: ReturnType<typeof parseQuery> | undefined,
    client: string,
    info: ClientInfo,
    now: number,
    transport: Transport,
    responder: Responder,
    replyTo: unknown,
    replyPort: number,
  ): QueryContext {
    const q = parsed !== undefined && !isRejection(parsed) ? parsed : EMPTY_QUERY;
    const edns = q.edns;
    const maxSize = transport === 'tcp' ? 65_535 : edns === undefined ? MIN_UDP_PAYLOAD : Math.min(Math.max(edns.udpSize, MIN_UDP_PAYLOAD), MAX_UDP_PAYLOAD);
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
      allowed: info.allowed,
      segment: info.segment,
      bucket: info.bucket,
      logMatch: undefined,
    };
  }

  /** Sends a synthesised answer built from the query. */
  respondSynth(ctx: QueryContext, spec: SynthSpec, outcome: Outcome): void {
    this.send(ctx, synthesize(ctx.query, ctx.q, spec), outcome);
  }

  /** Answers a blocked query per the segment's block_response and records the decision. */
  block(ctx: QueryContext, match: DomainMatch, response: Segment['blockResponse'], soaOwnerOffset: number, rule = match.rule): void {
    const text = ctx.segment.edeByList.get(match.list.name) ?? GENERIC_BLOCK_TEXT;
    const ede = { code: EDE.BLOCKED, text };
    if (response === 'refused') this.respondSynth(ctx, { rcode: RCODE.REFUSED, ede }, 'blocked');
    else if (response === 'null') this.respondSynth(ctx, { rcode: RCODE.NOERROR, nullAddress: true, soaOwnerOffset, ede }, 'blocked');
    else this.respondSynth(ctx, { rcode: RCODE.NXDOMAIN, soaOwnerOffset, ede }, 'blocked');
    this.recordDecision(ctx, match, rule, 'blocked', response);
  }

  recordDecision(ctx: QueryContext, match: DomainMatch, rule: string, action: Decision['action'], response: DecisionResponse): void {
    this.decisions.record({
      // When the client asked (also for CNAME decisions made after the upstream answered).
      ts: ctx.receivedAt,
      segment: ctx.segment.name,
      client: ctx.client,
      pseudonymize: ctx.segment.pseudonymize,
      qname: ctx.q.qname,
      qtype: ctx.q.qtype,
      action,
      list: match.list.name,
      rule,
      listVersion: match.list.version,
      response,
    });
  }

  /** Offset of `rule` inside the question's name (for an SOA owner pointer); the qname itself otherwise. */
  ruleOffset(ctx: QueryContext, rule: string): number {
    let labels = 1;
    for (let i = 0; i < rule.length; i++) if (rule.charCodeAt(i) === 46) labels++;
    const offsets = ctx.q.labelOffsets;
    return offsets[offsets.length - labels] ?? HEADER_SIZE;
  }

  /** Relays an upstream (or cached) answer, unless its CNAME chain enters a listed domain. */
  answerFromUpstream(ctx: QueryContext, stored: Buffer, scan: AnswerScan, elapsedSeconds: number, outcome: Outcome): void {
    const segment = ctx.segment;
    // Allowlists beat lists here too (the policy stage already let this name through).
    if (segment.mask !== 0 && scan.cnameTargets.length > 0 && matchesAnySuffix(ctx.q.qname, segment.allowlist) === undefined) {
      for (const target of scan.cnameTargets) {
        const match = this.matcher.match(target, segment.mask);
        if (match === undefined) continue;
        const rule = `cname:${match.rule}`;
        if (segment.action === 'block') {
          this.block(ctx, match, segment.blockResponse, HEADER_SIZE, rule);
          return;
        }
        if (ctx.logMatch === undefined) this.recordDecision(ctx, match, rule, 'logged', 'answer');
        break;
      }
    }
    const q = ctx.q;
    const hasEdns = q.edns !== undefined;
    const out =
      outcome === 'stale'
        ? renderStale(stored, scan, ctx.query, q.id, q.questionEnd, hasEdns, scan.rcode === RCODE.NXDOMAIN ? EDE.STALE_NXDOMAIN : EDE.STALE_ANSWER)
        : renderAnswer(stored, scan, ctx.query, q.id, q.questionEnd, hasEdns, elapsedSeconds);
    this.send(ctx, out, outcome);
  }

  private countFor(segment: Segment, outcome: Outcome, transport: Transport): void {
    const slot = (segment.index * OUTCOMES.length + OUTCOME_INDEX[outcome]) * 2 + (transport === 'udp' ? 0 : 1);
    this.counters[slot] = (this.counters[slot] ?? 0) + 1;
  }

  /** Final step for every answer: truncate for UDP if it does not fit, count, hand to the listener. */
  private send(ctx: QueryContext, response: Buffer, outcome: Outcome): void {
    let out = response;
    if (out.length > ctx.maxSize) out = synthesize(ctx.query, ctx.q, { rcode: RCODE.NOERROR, truncated: true });
    this.countFor(ctx.segment, outcome, ctx.transport);
    ctx.responder.send(ctx, out);
  }
}

const EMPTY_QUERY: QueryContext['q'] = {
  id: 0,
  flags: 0,
  opcode: 0,
  qname: '',
  qtype: 0,
  qclass: 0,
  questionEnd: HEADER_SIZE,
  labelOffsets: [],
  edns: undefined,
  cacheKey: '',
};
