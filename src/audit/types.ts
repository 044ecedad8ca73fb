// The contract between the resolver (which decides) and the block log (which records).

export type DecisionAction = 'blocked' | 'logged';
/** How the query came in (DoT and DoH only from embedders' servers so far, src/plugin/dns2.ts). */
export type DecisionTransport = 'udp' | 'tcp' | 'dot' | 'doh';
/** What the client received: a synthesised answer, or the real one (log-only). */
export type DecisionResponse = 'nxdomain' | 'null' | 'refused' | 'answer';

/** One block or log-only decision, as the resolver reports it. Nothing is reported for allowed queries. */
export interface Decision {
  /** Epoch milliseconds. */
  ts: number;
  segment: string;
  /** Client address as seen on the socket; sinks must pseudonymise it when `pseudonymize` is set. */
  client: string;
  pseudonymize: boolean;
  /** Query name as asked, lowercased, without trailing dot. */
  qname: string;
  /** Numeric QTYPE (1 = A, 28 = AAAA, 65 = HTTPS, ...). */
  qtype: number;
  action: DecisionAction;
  list: string;
  /** The entry that matched, e.g. "tiktok.com", or "cname:<target>" for CNAME cloaking. */
  rule: string;
  listVersion: string;
  response: DecisionResponse;
  /** How the query came in; absent when the reporter does not say (not yet written to the block log files). */
  transport?: DecisionTransport;
}

/** Where decisions go. record() is called on the query path: it must not block or throw. */
export interface DecisionSink {
  record(decision: Decision): void;
  /** Writes out anything buffered. */
  flush(): Promise<void>;
  /** Flushes and releases resources; record() after close() is ignored. */
  close(): Promise<void>;
}
