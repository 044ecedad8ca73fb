// Worker-thread side of the block log (see thread.ts): owns the AuditWriter, so encoding,
// hashing, pseudonymising and disk I/O never run on the thread that answers DNS. Decisions
// arrive through the shared ring (decision-ring.ts): woken by the first one after a quiet
// spell, the worker waits TAKE_DELAY_MS so that it takes them in batches (one wake-up, one
// futex call on the DNS thread, per batch rather than per decision).
import { createPrivateKey } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { DnswardError } from '../errors.ts';
import { threadLogger } from '../util/thread-log.ts';
import { createPseudonymizer } from './pseudonym.ts';
import type { Decision } from './types.ts';
import { AuditWriter } from './writer.ts';
import { type DecisionRingMemory, DecisionRingReader } from './decision-ring.ts';

/** How long the worker lets decisions gather in the ring after the first wakes it (ms). */
export const TAKE_DELAY_MS = 5;
/** How often the worker tells the main thread its counts when they change (ms): metrics and max_buffered. */
export const STATS_INTERVAL_MS = 200;

/** What the main thread hands over (structured-cloneable). */
export interface WorkerInit {
  dir: string;
  instance: string;
  signingKeyPem: string;
  /** Hex; absent when no segment pseudonymises. */
  pseudonymSecret?: string;
  flushIntervalMs: number;
  maxBatch: number;
  maxFileBytes: number;
  retentionDays: number;
  checkpointIntervalMs: number;
  fsync: boolean;
  logLevel: string;
  /** The decisions' way in (shared memory, created by the main thread). */
  ring: DecisionRingMemory;
}

/**
 * Flush and close take what the ring holds first: its records were published before the message.
 * The main thread's drop count travels in the ring's memory (read at every take and stats tick).
 */
export type ToWorker = { t: 'flush' | 'close'; id: number };
export type FromWorker =
  | { t: 'ready'; seq: number }
  | { t: 'fatal'; code?: string; message: string }
  | { t: 'ack'; id: number; stats: ReturnType<AuditWriter['stats']> }
  | { t: 'stats'; stats: ReturnType<AuditWriter['stats']> }
  | { t: 'log'; line: string };

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('audit worker started outside a worker thread');
  const init = workerData as WorkerInit;
  const post = (message: FromWorker): void => port.postMessage(message);
  // Log lines travel to the main thread, which writes them with the app's logger.
  const logger = threadLogger(init.logLevel, (line) => post({ t: 'log', line }));
  let writer: AuditWriter;
  try {
    writer = await AuditWriter.open({
      dir: init.dir,
      instance: init.instance,
      pseudonymize: init.pseudonymSecret ? createPseudonymizer(Buffer.from(init.pseudonymSecret, 'hex')) : (a) => a,
      signingKey: createPrivateKey(init.signingKeyPem),
      flushIntervalMs: init.flushIntervalMs,
      maxBatch: init.maxBatch,
      // The main thread is the one gate on memory (it counts what the worker holds too).
      maxBuffered: Number.MAX_SAFE_INTEGER,
      maxFileBytes: init.maxFileBytes,
      retentionDays: init.retentionDays,
      checkpointIntervalMs: init.checkpointIntervalMs,
      fsync: init.fsync,
      logger,
    });
  } catch (error) {
    post({ t: 'fatal', code: error instanceof DnswardError ? error.code : undefined, message: (error as Error).message });
    return;
  }
  const ring = new DecisionRingReader(init.ring);
  let closing = false;
  const record = (d: Decision): void => writer.record(d);
  const unwritten = (): number => writer.stats().buffered;
  /** Tells the DNS thread what this side holds unwritten (it counts toward max_buffered). */
  const publishHeld = (): void => ring.setHeld(unwritten());
  const take = (): void => {
    writer.setExternalDropped(ring.dropped);
    // Encoded at once: the lines wait for the writer's flush timer, the decision objects do not.
    if (ring.drain(record, (taken) => unwritten() + taken) > 0) writer.encodeBuffered();
    publishHeld();
  };
  const wake = (): void => {
    if (closing) return;
    setTimeout(() => {
      if (closing) return;
      take();
      ring.whenWritten(wake);
    }, TAKE_DELAY_MS);
  };
  let last = '';
  const statsTimer = setInterval(() => {
    // Drops made while nothing reaches the ring (max_buffered full) still reach the next checkpoint.
    writer.setExternalDropped(ring.dropped);
    const stats = writer.stats();
    ring.setHeld(stats.buffered);
    const now = JSON.stringify(stats);
    if (now !== last) post({ t: 'stats', stats });
    last = now;
  }, STATS_INTERVAL_MS);
  statsTimer.unref();
  post({ t: 'ready', seq: writer.stats().seq });
  ring.whenWritten(wake);
  port.on('message', (message: ToWorker) => {
    take();
    if (message.t === 'flush') {
      void writer.flush().then(() => {
        publishHeld();
        post({ t: 'ack', id: message.id, stats: writer.stats() });
      });
    } else {
      closing = true;
      clearInterval(statsTimer);
      ring.interrupt();
      void writer.close().then(() => {
        publishHeld();
        post({ t: 'ack', id: message.id, stats: writer.stats() });
        port.close();
      });
    }
  });
}

await main();
