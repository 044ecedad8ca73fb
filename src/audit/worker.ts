// Worker-thread side of the block log (see thread.ts): owns the AuditWriter, so encoding,
// hashing, pseudonymising and disk I/O never run on the thread that answers DNS.
import { createPrivateKey } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { DnswardError } from '../errors.ts';
import { threadLogger } from '../util/thread-log.ts';
import { createPseudonymizer } from './pseudonym.ts';
import { AuditWriter } from './writer.ts';
import { type PackedDecision, unpackDecision } from './packed.ts';

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
}

export type ToWorker = { t: 'batch' | 'flush' | 'close'; id: number; events: PackedDecision[]; dropped: number };
export type FromWorker =
  | { t: 'ready'; seq: number }
  | { t: 'fatal'; code?: string; message: string }
  | { t: 'ack'; id: number; stats: ReturnType<AuditWriter['stats']> }
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
  post({ t: 'ready', seq: writer.stats().seq });
  port.on('message', (message: ToWorker) => {
    writer.setExternalDropped(message.dropped);
    for (const p of message.events) writer.record(unpackDecision(p));
    // Encoded at once: the lines wait for the writer's flush timer, the decision objects do not.
    writer.encodeBuffered();
    if (message.t === 'batch') {
      post({ t: 'ack', id: message.id, stats: writer.stats() });
    } else if (message.t === 'flush') {
      void writer.flush().then(() => post({ t: 'ack', id: message.id, stats: writer.stats() }));
    } else {
      void writer.close().then(() => {
        post({ t: 'ack', id: message.id, stats: writer.stats() });
        port.close();
      });
    }
  });
}

await main();
