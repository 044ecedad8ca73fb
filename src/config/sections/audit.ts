// Config section `audit:` (owned by the block-log feature). Keep keys snake_case and defaulted.
// docs/AUDIT.md documents every key.
import { z } from 'zod';
import { envName } from '../fields.ts';
import { configPath } from '../paths.ts';

export const AUDIT_DEFAULTS = {
  enabled: true,
  dir: 'var/audit',
  flush_interval_ms: 250,
  max_batch: 4096,
  max_buffered: 200_000,
  max_file_mb: 256,
  retention_days: 400,
  checkpoint_interval_s: 60,
  fsync: true,
  signing_key_file: 'var/audit-keys/signing.key',
  pseudonym_secret_file: 'var/audit-keys/pseudonym.key',
  log_decisions: false,
  worker_thread: 'auto',
} as const;

export const auditSection = z
  .strictObject({
    enabled: z.boolean().default(AUDIT_DEFAULTS.enabled).describe('false: no block-log files; decisions only go to the service log (one info line each).'),
    dir: configPath().default(AUDIT_DEFAULTS.dir).describe('Directory of the append-only block log (JSON Lines) and its checkpoints.'),
    flush_interval_ms: z
      .number()
      .int()
      .min(10)
      .max(1000, 'at most 1000: events must reach the file within a second')
      .default(AUDIT_DEFAULTS.flush_interval_ms)
      .describe('Buffered events are written at most this long after the last write began (ms; at most 1000, so none waits longer than a second).'),
    max_batch: z.number().int().min(1).max(1_000_000).default(AUDIT_DEFAULTS.max_batch).describe('A batch this large is written at once, without waiting for the timer.'),
    max_buffered: z
      .number()
      .int()
      .min(1000)
      .max(10_000_000)
      .default(AUDIT_DEFAULTS.max_buffered)
      .describe('Events held in memory while the writer is behind (a slow or failing disk, or a flood of decisions); beyond this they are counted as dropped (DNS never waits).'),
    max_file_mb: z.number().min(1).max(100_000).default(AUDIT_DEFAULTS.max_file_mb).describe('Start a new file when the current one reaches this size (MiB); files also rotate at midnight UTC.'),
    retention_days: z.number().int().min(0).max(36_500).default(AUDIT_DEFAULTS.retention_days).describe('Files older than this many days are deleted (0: keep forever).'),
    checkpoint_interval_s: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .default(AUDIT_DEFAULTS.checkpoint_interval_s)
      .describe('A signed checkpoint of the chain head is written this often (seconds) when there are new events, and at shutdown.'),
    fsync: z.boolean().default(AUDIT_DEFAULTS.fsync).describe('fdatasync after every batch, so a power cut loses at most one flush interval.'),
    signing_key_file: configPath()
      .default(AUDIT_DEFAULTS.signing_key_file)
      .describe('Ed25519 private key (PKCS#8 PEM) signing the checkpoints; created (mode 0600) when missing. Keep it outside dir.'),
    pseudonym_secret_file: configPath()
      .default(AUDIT_DEFAULTS.pseudonym_secret_file)
      .describe('Secret for client pseudonyms (HMAC-SHA-256); created (mode 0600) when missing. Keep it outside dir.'),
    pseudonym_secret_env: envName('DNSWARD_PSEUDONYM_SECRET')
      .optional()
      .meta({ description: 'The name of an environment variable holding the pseudonym secret; wins over pseudonym_secret_file.', examples: ['DNSWARD_PSEUDONYM_SECRET'] }),
    log_decisions: z.boolean().default(AUDIT_DEFAULTS.log_decisions).describe('Also write one service-log info line per decision.'),
    worker_thread: z
      .union([z.boolean(), z.literal('auto')])
      .default(AUDIT_DEFAULTS.worker_thread)
      .describe('Encode, hash and write in a worker thread (true) or on the DNS thread (false); auto: a worker with 4 or more CPUs (docs/AUDIT.md, "Cost").'),
  })
  .prefault({})
  .describe('The block log: one hash-chained event per block or log-only decision (docs/AUDIT.md).');

export type AuditConfig = z.infer<typeof auditSection>;
