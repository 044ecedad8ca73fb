// What flows through the pipeline: one QueryContext per client query, the handler shapes
// of both sides (query side, response side), and the typed outcome every query ends with
// (bounded labels, fit for metrics).
import type { AnswerScan } from '../dns/answer-scan.ts';
import type { ParsedQuery } from '../dns/query-parser.ts';
import type { DomainMatch } from '../policy/domain-matcher.ts';
import type { TokenBucket } from '../policy/rate-limiter.ts';
import type { Segment } from '../policy/segments.ts';
import type { PolicySnapshot } from '../policy/snapshot.ts';

/**
 * How a query ended. `logged`: a log-only segment's listed name, answered normally (from
 * cache or upstream) and recorded.
 */
export const OUTCOMES = ['blocked', 'logged', 'refused', 'cached', 'forwarded', 'stale', 'servfail', 'formerr', 'notimp', 'answered', 'ratelimited'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const OUTCOME_INDEX: Readonly<Record<Outcome, number>> = Object.fromEntries(OUTCOMES.map((o, i) => [o, i])) as Record<Outcome, number>;

/** Plain UDP and TCP, DNS over TLS (RFC 7858), DNS over HTTPS (RFC 8484). */
export const TRANSPORTS = ['udp', 'tcp', 'dot', 'doh'] as const;
export type Transport = (typeof TRANSPORTS)[number];
export const TRANSPORT_INDEX: Readonly<Record<Transport, number>> = Object.fromEntries(TRANSPORTS.map((t, i) => [t, i])) as Record<Transport, number>;

/** Where an answer relayed to the client came from (the response side's input). */
export type AnswerSource = 'forwarded' | 'cached' | 'stale';

/** A listener's way back to the client (one object per listener, not per query). */
export interface Responder {
  send(ctx: QueryContext, response: Buffer): void;
  /**
   * Optional: like send, for the first `length` bytes of `bytes`, which the caller overwrites
   * as soon as this returns. A listener that copies an answer before returning offers it (the
   * batched UDP listener); answers rendered on the hot path then need no Buffer of their own.
   */
  sendCopy?(ctx: QueryContext, bytes: Buffer, length: number): void;
  /** Called instead of send() when a message gets no answer (dropped), so the listener can release it. */
  noReply(replyTo: unknown): void;
}

export interface QueryContext {
  readonly query: Buffer;
  readonly q: ParsedQuery;
  readonly client: string;
  readonly transport: Transport;
  readonly responder: Responder;
  /** Listener-specific reply address (UDP: host; TCP: the connection). */
  readonly replyTo: unknown;
  readonly replyPort: number;
  /** Largest response the client accepts on this transport. */
  readonly maxSize: number;
  readonly receivedAt: number;
  /** The policy in force when the query arrived: the query runs to its end on it. */
  readonly policy: PolicySnapshot;
  /** Whether the client is inside dns.allow (checked by the acl stage). */
  readonly allowed: boolean;
  /** The most specific segment whose network contains the client (longest prefix wins). */
  readonly segment: Segment;
  /** The client's rate-limit bucket (undefined: exempt or limiting off). */
  readonly bucket: TokenBucket | undefined;
  /** Set when a log-only segment recorded this query (by name or by CNAME): it counts as `logged`. */
  logMatch: DomainMatch | undefined;
  /**
   * Set by whatever keeps the context after its call returns (the forwarder, until the upstream
   * answers). A UDP query's context that nothing kept is reused, with its parsed query, for the
   * next UDP query (src/resolver/resolver.ts): a stage or listener that holds on to a context
   * without setting this would see it change under it.
   */
  retained: boolean;
}

/** A query-side stage: answers the query or passes it to `next`. */
export type Handler = (ctx: QueryContext) => void;

/**
 * A response-side stage: inspects an upstream (or cached, or stale) answer for the query and
 * blocks it or passes it on. Positional arguments: no object per answer on the hot path.
 */
export type ResponseHandler = (ctx: QueryContext, answer: Buffer, scan: AnswerScan, ageSeconds: number, source: AnswerSource) => void;

/** What a listener hands each client message to (the Resolver). */
export interface MessageHandler {
  /** `now`: when the listener read it in a batch, the time of that read (Date.now()), one for the batch; else read here. */
  handleMessage(buf: Buffer, client: string, transport: Transport, responder: Responder, replyTo: unknown, replyPort: number, now?: number): void;
}
