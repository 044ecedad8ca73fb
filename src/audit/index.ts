// Entry points of the block log for the app: the sink the resolver reports decisions to,
// and the reader the auditor API and `audit export` use.
import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { keyFingerprint, loadPseudonymSecret, loadSigningKey, rawPublicKey } from './keys.ts';
import { createLogDecisionSink } from './log-sink.ts';
import { createPseudonymizer } from './pseudonym.ts';
import { type AuditReader, FileAuditReader } from './reader.ts';
import { ThreadedAuditSink } from './thread.ts';
import { sha256Path } from './sha256-into.ts';
import type { Decision, DecisionSink } from './types.ts';
import { AuditWriter, type AuditWriterStats, type WrittenFeed } from './writer.ts';
import { threadWanted } from '../util/cpus.ts';

export type { AuditReader } from './reader.ts';
export type { AuditWriterStats, WrittenEvents, WrittenFeed, WrittenListener } from './writer.ts';

export interface AuditSink extends DecisionSink {
  /** Counters for metrics (all zero when audit.enabled is false). */
  stats(): AuditWriterStats;
  /** Each write's event lines as written (only where the writer runs on this thread). */
  onWritten?: WrittenFeed | undefined;
}

/**
 * The block log as configured: the append-only file writer (audit.enabled, the default),
 * plus one pino info line per decision when audit.log_decisions is set (or instead of the
 * files when audit.enabled is false). Loads or creates the keys; throws DnswardError with
 * the config key to fix when a key or the directory is unusable.
 */
export async function createAuditSink(config: Config, logger: Logger): Promise<AuditSink> {
  const audit = config.audit;
  const logSink = audit.log_decisions || !audit.enabled ? createLogDecisionSink(logger) : undefined;
  if (!audit.enabled) {
    const zero: AuditWriterStats = { recorded: 0, written: 0, dropped: 0, buffered: 0, writeErrors: 0, checkpoints: 0, seq: 0 };
    return Object.assign(logSink as DecisionSink, { stats: () => zero });
  }
  const log = logger.child({ component: 'audit' });
  const signing = await loadSigningKey(audit.signing_key_file);
  if (signing.created) {
    // Printed once, so that the key can be pinned somewhere the host cannot rewrite.
    log.info(
      { file: audit.signing_key_file, key: rawPublicKey(signing.value), fingerprint: keyFingerprint(signing.value) },
      'block log: created a new signing key; pin its fingerprint (or audit-<instance>.pub.pem) where auditors keep it',
    );
  }
  let secret: Buffer | undefined;
  if (config.segments.some((s) => s.pseudonymize)) {
    const loaded = await loadPseudonymSecret({ file: audit.pseudonym_secret_file, env: audit.pseudonym_secret_env });
    if (loaded.created) log.info({ file: audit.pseudonym_secret_file }, 'block log: created a new pseudonym secret (back it up: pseudonyms stay stable only while it does)');
    secret = loaded.value;
  }
  const threaded = threadWanted(audit.worker_thread);
  log.debug({ threaded, cpus: availableParallelism(), sha256: sha256Path.path, sha256Reason: sha256Path.reason }, 'block log writer placement and hash');
  // Worth a line at the default level: the fallback costs CPU and garbage on every blocked query.
  if (sha256Path.path === 'js') log.info({ reason: sha256Path.reason }, 'block log: hashing with node:crypto, not the native addon (slower; docs/OPERATIONS.md, DNSWARD_SHA256)');
  const writer: AuditSink = threaded
    ? await ThreadedAuditSink.start({
        init: {
          ...writerSettings(config),
          signingKeyPem: signing.value.export({ format: 'pem', type: 'pkcs8' }).toString(),
          ...(secret ? { pseudonymSecret: secret.toString('hex') } : {}),
          logLevel: logger.level,
        },
        maxBuffered: audit.max_buffered,
        logger,
      })
    : await openInline(config, logger, signing.value, secret);
  if (!logSink) return writer;
  return {
    record(d: Decision): void {
      writer.record(d);
      logSink.record(d);
    },
    async flush(): Promise<void> {
      await Promise.all([writer.flush(), logSink.flush()]);
    },
    async close(): Promise<void> {
      await Promise.all([writer.close(), logSink.close()]);
    },
    stats: () => writer.stats(),
    onWritten: writer.onWritten?.bind(writer),
  };
}

/** The writer on the calling thread (audit.worker_thread: false). */
function openInline(config: Config, logger: Logger, signingKey: KeyObject, secret: Buffer | undefined): Promise<AuditWriter> {
  return AuditWriter.open({
    ...writerSettings(config),
    pseudonymize: secret ? createPseudonymizer(secret) : (address: string): string => address,
    signingKey,
    maxBuffered: config.audit.max_buffered,
    logger,
  });
}

/** The writer settings from config, the same wherever the writer runs. */
function writerSettings(config: Config): {
  dir: string;
  instance: string;
  flushIntervalMs: number;
  maxBatch: number;
  maxFileBytes: number;
  retentionDays: number;
  checkpointIntervalMs: number;
  fsync: boolean;
} {
  const audit = config.audit;
  return {
    dir: audit.dir,
    instance: config.instance,
    flushIntervalMs: audit.flush_interval_ms,
    maxBatch: audit.max_batch,
    maxFileBytes: Math.floor(audit.max_file_mb * 1024 * 1024),
    retentionDays: audit.retention_days,
    checkpointIntervalMs: audit.checkpoint_interval_s * 1000,
    fsync: audit.fsync,
  };
}

/** The reader over this instance's audit.dir (every instance whose files are there). */
export function createAuditReader(config: Config): AuditReader {
  return new FileAuditReader(config.audit.dir);
}
