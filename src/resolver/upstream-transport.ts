// The contract between the upstream pool (health, failover, deadlines) and the ways a query
// travels: UDP (upstream-udp.ts), DNS over TLS (upstream-dot.ts), DNS over HTTPS
// (upstream-doh.ts). A transport sends an attempt and reports an answer that passed every
// check, or a failure; the pool owns timeouts and picks the next upstream.
import type { UpstreamKind, UpstreamTarget } from '../config/upstreams.ts';

export interface Upstream {
  readonly target: UpstreamTarget;
  readonly kind: UpstreamKind;
  readonly label: string;
  /** Epoch ms until which the upstream counts as down (0 = up). */
  downUntil: number;
  consecutiveFailures: number;
  sent: number;
  answered: number;
  timeouts: number;
  /** Attempts that failed before their deadline: refused, reset, TLS or HTTP errors, bad replies. */
  errors: number;
}

/** One attempt of a query at one upstream. The pool sets the first group, the transport the rest. */
export interface Attempt {
  /** The question (name, type, class) as sent upstream. */
  readonly question: Buffer;
  /** Require the reply to echo the question's case exactly (0x20); otherwise case-insensitive. */
  readonly exactQuestion: boolean;
  readonly dnssecOk: boolean;
  readonly checkingDisabled: boolean;
  /** Overall deadline (epoch ms) after which the caller gets a failure. */
  readonly deadline: number;
  /** When this attempt times out; a transport may extend it up to `deadline` (UDP's TCP retry). */
  attemptDeadline: number;
  /** When this attempt was sent (epoch ms). */
  sentAt: number;
  upstream: Upstream | undefined;
  /** Set by the transport: the message ID and the query as sent. */
  id: number;
  query: Buffer | undefined;
  /** The transport's state for this attempt (its socket, stream or abort switch); cleared when it ends. */
  handle: unknown;
}

export interface TransportEvents<J extends Attempt> {
  /** A reply that passed every check (source, QR, ID, question). */
  answered(job: J, answer: Buffer): void;
  /** The attempt failed before its deadline; `reason` is short and names the cause. */
  failed(job: J, reason: string): void;
  /** A reply dropped for a wrong source, ID, QR bit or question. */
  mismatched(): void;
}

export interface UpstreamTransport<J extends Attempt> {
  start(): Promise<void>;
  /** Sends `job` to `job.upstream`; the outcome arrives later through the events, never synchronously. */
  send(job: J): void;
  /** The attempt timed out: forget it and release what it holds; no event follows for it. */
  cancel(job: J): void;
  /** Drops every attempt without events and closes sockets and connections. */
  close(): Promise<void>;
}

/** What the transports share: the pool's events and the TLS trust of encrypted upstreams. */
export interface TransportContext<J extends Attempt> {
  events: TransportEvents<J>;
  /** Certificates an encrypted upstream may chain to; undefined: TLS's default roots. */
  ca: string[] | undefined;
  /** The per-upstream timeout (ms); encrypted transports bound their connection setup with it. */
  timeoutMs: number;
}
