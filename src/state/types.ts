// The shared state of a fleet, as one interface with two implementations: memory.ts (one
// replica, the default) and redis.ts (ioredis). The fleet code (src/fleet/) runs the same
// paths over either. Nothing on the DNS query path calls this: the policy in force is always
// a local snapshot, and every call here either fails fast or is fire-and-forget.

export type ConnectionState = 'up' | 'down' | 'connecting';

export interface StateStatus {
  state: ConnectionState;
  /** The last error while not up (a connection refused, a command timed out). */
  error?: string | undefined;
  /** When the state last changed (ISO). */
  since: string;
}

/** The head of a hash chain: its last record's seq and hash (0 and 64 zeros when empty). */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** What replicas tell each other on the pub/sub channel. */
export type FleetEvent =
  /** The change log grew to `seq`: sync it and install the lists it changed. */
  | { type: 'changes'; seq: number; from: string }
  /** A subscribed source has a new shared copy. */
  | { type: 'source'; name: string; sha256: string; from: string }
  /** Not sent by anyone: the subscription was (re)established, messages may have been missed. */
  | { type: 'resync' };

/** One event of the fleet-wide stream, as read back. */
export interface StreamEntry {
  /** Where it is in the stream: the entry's id and the event's index in it ("1767225600000-0/12"). */
  id: string;
  instance: string;
  seq: number;
  /** The event as written in the replica's file (canonical JSON with its hash). */
  line: string;
}

/** Consecutive events of one replica for the stream: their lines (each followed by a newline) and the seq of the first and last. */
export interface EventSpan {
  first: number;
  last: number;
  lines: Buffer;
}

/** Taken (the stream has the replica up to `seq` now); or refused: the stream has it up to `shipped` (-1: nothing). */
export type ShipResult = { ok: true; seq: number; count: number } | { ok: false; shipped: number };

/** A subscribed source's shared copy: the validated body and what is known about it (JSON). */
export interface SharedSource {
  meta: string;
  body: Buffer;
}

export interface SharedState {
  readonly kind: 'memory' | 'redis';
  status(): StateStatus;
  onStatus(listener: (status: StateStatus) => void): () => void;

  // The organisation's list changes: one hash-chained log, the only source of truth for the entries.
  changesHead(): Promise<ChainHead>;
  /** The records after `seq`, oldest first (JSON lines as stored). */
  changesSince(seq: number): Promise<string[]>;
  /** Appends `lines` (chained after `expected`) if the log still ends at `expected`; else returns the head it ends at. */
  appendChanges(expected: ChainHead, lines: readonly string[]): Promise<true | ChainHead>;

  publish(event: FleetEvent): Promise<void>;
  subscribe(listener: (event: FleetEvent) => void): () => void;

  /** Writes this replica's heartbeat (JSON). */
  putReplica(instance: string, json: string): Promise<void>;
  /** Every replica's last heartbeat, by instance. */
  replicas(): Promise<Record<string, string>>;
  removeReplicas(instances: readonly string[]): Promise<void>;

  /** Takes the named lease for `ttlMs` if nobody holds it (true), or extends it if `holder` does. */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
  /** Who holds the lease now, if anyone. */
  leaseHolder(name: string): Promise<string | undefined>;
  sourceMeta(name: string): Promise<string | undefined>;
  getSource(name: string): Promise<SharedSource | undefined>;
  putSource(name: string, source: SharedSource): Promise<void>;
  /** Replaces only the meta of a shared copy that exists (its body stays): false when there is none. */
  putSourceMeta(name: string, meta: string): Promise<boolean>;

  /**
   * Appends consecutive events of a replica to the fleet-wide stream (one stream entry), exactly
   * once and in order: refused, with where the stream stands, unless they start right after the
   * replica's last events there (or anywhere after them, when `gap`: the events between are gone
   * from the replica's files), or the stream has none of the replica yet. The stream keeps about
   * redis.stream_max_events events, none older than redis.stream_retention_days.
   */
  shipEvents(instance: string, span: EventSpan, gap?: boolean): Promise<ShipResult>;
  /** The last seq of `instance` in the stream (undefined: none recorded). */
  shippedSeq(instance: string): Promise<number | undefined>;
  /** Up to about `count` events after the event id `after` ('' = from the start), in arrival order. */
  readStream(after: string, count: number): Promise<StreamEntry[]>;
  /** Events in the stream now. */
  streamLength(): Promise<number>;

  close(): Promise<void>;
}

/** Thrown (or rejected with) when the shared state cannot be reached: callers fail fast with it. */
export class SharedStateUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SharedStateUnavailable';
  }
}
