// Config section `audit:` (owned by the block-log feature). Keep keys snake_case and defaulted.
// docs/AUDIT.md documents every key.
import { z } from 'zod';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name: letters, digits and "_", e.g. DNSWARD_PSEUDONYM_SECRET');

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
    /** false: no block-log files; decisions only go to the pino log (one info line each). */
    enabled: z.boolean().default(AUDIT_DEFAULTS.enabled),
    /** Directory for the append-only block log (JSON Lines) and its checkpoints. */
    dir: z.string().min(1).default(AUDIT_DEFAULTS.dir),
    /** Buffered events are written at least this often (ms); at most 1000 so nothing waits longer than a second. */
    flush_interval_ms: z.number().int().min(10).max(1000, 'at most 1000: events must reach the file within a second').default(AUDIT_DEFAULTS.flush_interval_ms),
    /** A batch this large is written at once, without waiting for the timer. */
    max_batch: z.number().int().min(1).max(1_000_000).default(AUDIT_DEFAULTS.max_batch),
    /** Events held in memory while the disk is slow or failing; beyond this they are counted as dropped (never blocks DNS). */
    max_buffered: z.number().int().min(1000).max(10_000_000).default(AUDIT_DEFAULTS.max_buffered),
    /** Start a new file when the current one reaches this size (MiB); files also rotate at midnight UTC. */
    max_file_mb: z.number().min(1).max(100_000).default(AUDIT_DEFAULTS.max_file_mb),
    /** Files older than this many days are deleted (0 = keep forever). */
    retention_days: z.number().int().min(0).max(36_500).default(AUDIT_DEFAULTS.retention_days),
    /** A signed checkpoint of the chain head is written this often (seconds) when there are new events, and at shutdown. */
    checkpoint_interval_s: z.number().int().min(1).max(86_400).default(AUDIT_DEFAULTS.checkpoint_interval_s),
    /** fdatasync after every batch, so a power cut loses at most one flush interval. */
    fsync: z.boolean().default(AUDIT_DEFAULTS.fsync),
    /** Ed25519 private key (PKCS#8 PEM) for checkpoints; created (mode 0600) when missing. Keep it outside `dir`. */
    signing_key_file: z.string().min(1).default(AUDIT_DEFAULTS.signing_key_file),
    /** Secret for client pseudonyms (HMAC-SHA-256); created (mode 0600) when missing. Keep it outside `dir`. */
    pseudonym_secret_file: z.string().min(1).default(AUDIT_DEFAULTS.pseudonym_secret_file),
    /** Name of an environment variable holding the pseudonym secret; takes precedence over pseudonym_secret_file. */
    pseudonym_secret_env: envName.optional(),
    /** Also write one pino info line per decision (as before the block log existed). */
    log_decisions: z.boolean().default(AUDIT_DEFAULTS.log_decisions),
    /**
     * Encode, hash and write in a worker thread (true) or on the thread that answers DNS (false).
     * auto: a worker with 4 or more CPUs; with fewer it would compete with the DNS thread for the
     * same cores and cost more in total (docs/AUDIT.md, "Cost").
     */
    worker_thread: z.union([z.boolean(), z.literal('auto')]).default(AUDIT_DEFAULTS.worker_thread),
  })
  .default(AUDIT_DEFAULTS);

export type AuditConfig = z.infer<typeof auditSection>;
