// Decisions from the DNS worker threads to the one block-log writer on the main thread. A
// worker's sink only batches (the block log's Batcher: every 512 decisions or 20 ms) and posts
// each batch as flat arrays; the main thread hands every decision, in order, to its own sink.
// Each decision is posted once, and a worker posts what it holds before it reports stopped, so
// none is lost or recorded twice.
import type { Logger } from 'pino';
import { Batcher, HANDOFF_BATCH, HANDOFF_MS } from '../audit/batcher.ts';
import type { Decision, DecisionSink } from '../audit/types.ts';
import type { PackedDecision } from '../audit/worker.ts';

export function packDecision(d: Decision): PackedDecision {
  return [d.ts, d.segment, d.client, d.pseudonymize ? 1 : 0, d.qname, d.qtype, d.action, d.list, d.rule, d.listVersion, d.response, d.transport];
}

export function unpackDecision(p: PackedDecision): Decision {
  return { ts: p[0], segment: p[1], client: p[2], pseudonymize: p[3] === 1, qname: p[4], qtype: p[5], action: p[6], list: p[7], rule: p[8], listVersion: p[9], response: p[10], transport: p[11] };
}

/** The worker's decision sink: `post` gets each batch. flush() and close() post what waits at once. */
export function relayDecisions(post: (events: PackedDecision[]) => void, logger: Logger): DecisionSink {
  const send = (): void => {
    const batch = batcher.take();
    if (batch.length > 0) post(batch.map(packDecision));
  };
  // The main thread's sink is the one memory gate (audit.max_buffered): nothing is dropped here.
  const batcher: Batcher<Decision> = new Batcher({ batchSize: HANDOFF_BATCH, intervalMs: HANDOFF_MS, maxBuffered: Number.MAX_SAFE_INTEGER, onBatch: send, logger });
  batcher.start();
  return {
    record: (d) => batcher.push(d),
    flush: async () => send(),
    close: async () => {
      batcher.close();
      send();
    },
  };
}
