// Decisions from the DNS worker threads to the one block-log writer on the main thread. A
// worker's sink only batches (the block log's Batcher: every 512 decisions or 20 ms) and posts
// each batch as flat arrays; the main thread hands every decision, in order, to its own sink.
// Each decision is posted once, and a worker posts what it holds before it reports stopped, so
// none is lost or recorded twice.
import type { Logger } from 'pino';
import { Batcher, HANDOFF_BATCH, HANDOFF_MS } from '../audit/batcher.ts';
import type { Decision, DecisionSink } from '../audit/types.ts';
import { type PackedDecision, packDecision } from '../audit/packed.ts';

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
