// What flows through the pipeline: one QueryContext per client query, and the typed
// outcome every stage ends with (bounded labels, fit for metrics).
import type { ParsedQuery } from '../dns/query-parser.ts';
import type { DomainMatch } from '../policy/domain-matcher.ts';
import type { TokenBucket } from '../policy/rate-limiter.ts';
import type { Segment } from '../policy/segments.ts';

export const OUTCOMES = ['blocked', 'refused', 'cached', 'forwarded', 'stale', 'servfail', 'formerr', 'notimp', 'answered', 'ratelimited'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const OUTCOME_INDEX: Record<Outcome, number> = Object.fromEntries(OUTCOMES.map((o, i) => [o, i])) as Record<Outcome, number>;

export type Transport = 'udp' | 'tcp';

/** A listener's way back to the client (one object per listener, not per query). */
export interface Responder {
  send(ctx: QueryContext, response: Buffer): void;
  /** Called instead of send() when a message gets no answer (dropped), so the listener can release it. */
  noReply(replyTo: unknown): void;
}

export interface QueryContext {
  readonly query: Buffer;
  readonly q: ParsedQuery;
  readonly client: string;
  readonly transport: Transport;
  readonly responder: Responder;
  /** Listener-specific reply address (UDP: port; TCP: the connection). */
  readonly replyTo: unknown;
  readonly replyPort: number;
  /** Largest response the client accepts on this transport. */
  readonly maxSize: number;
  readonly receivedAt: number;
  /** Whether the client is inside dns.allow (checked by the acl stage). */
  readonly allowed: boolean;
  /** The most specific segment whose network contains the client (longest prefix wins). */
  readonly segment: Segment;
  /** The client's rate-limit bucket (undefined: exempt or limiting off). */
  readonly bucket: TokenBucket | undefined;
  /** Set by the policy stage on log-only segments when the name is listed. */
  logMatch: DomainMatch | undefined;
}

/** A pipeline stage: handles the query (answering it) or passes it to `next`. */
export type Handler = (ctx: QueryContext) => void;
