import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../src/config/load.ts';

const SEGMENTS = 'segments:\n  - { name: personal, networks: ["10.20.0.0/16"], action: log, lists: [tiktok], pseudonymize: true }\n';

describe('audit config section', () => {
  it('defaults every key', () => {
    const config = parseConfig(SEGMENTS);
    expect(config.audit).toEqual({
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
    });
  });

  it('names the key, the value and the fix', () => {
    expect(() => parseConfig(`${SEGMENTS}audit:\n  flush_interval_ms: 5000\n`)).toThrow('audit.flush_interval_ms: 5000 is not valid: at most 1000: events must reach the file within a second');
    expect(() => parseConfig(`${SEGMENTS}audit:\n  pseudonym_secret_env: "my-secret"\n`)).toThrow('audit.pseudonym_secret_env: (value hidden) is not valid: an environment variable name');
    expect(() => parseConfig(`${SEGMENTS}audit:\n  retention: 30\n`)).toThrow('audit.retention: unknown key');
  });
});
