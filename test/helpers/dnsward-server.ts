// Starts the real dnsward (in-process) on loopback port 0 against a stub upstream, and
// captures its log lines so tests can assert on them.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startDnsward, type RunningDnsward, type StartOptions } from '../../src/app.ts';
import { type Config, configSchema } from '../../src/config/schema.ts';

export interface TestServer {
  app: RunningDnsward;
  port: number;
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

/** Three segments on loopback sources: 127.0.0.2 = service (block), 127.0.0.3 = personal (log), the rest default (allow). */
/** `dns` overrides are merged into the test defaults; other keys replace them. Rate limiting is off unless a test turns it on. */
export function testConfig(upstreamPort: number, overrides: Record<string, unknown> = {}): Config {
  const { dns, ...rest } = overrides;
  return configSchema.parse({
    dns: {
      listen: ['127.0.0.1:0'],
      allow: ['127.0.0.0/8', '::1/128'],
      upstream_timeout_ms: 400,
      query_timeout_ms: 1500,
      rate_limit: { enabled: false },
      // The test runner's own threads keep their priority (test/**/thread-priority.test.ts check the setting).
      background_nice: 0,
      ...(dns as Record<string, unknown> | undefined),
    },
    upstreams: [`127.0.0.1:${upstreamPort}`],
    lists: { dir: 'lists' },
    segments: [
      { name: 'service', networks: ['127.0.0.2/32', '10.10.0.0/16'], action: 'block', lists: ['tiktok'] },
      { name: 'personal', networks: ['127.0.0.3/32'], action: 'log', lists: ['tiktok'], pseudonymize: true },
      { name: 'nullseg', networks: ['127.0.0.4/32'], action: 'block', lists: ['tiktok'], block_response: 'null' },
      { name: 'refuseseg', networks: ['127.0.0.5/32'], action: 'block', lists: ['tiktok'], block_response: 'refused' },
      { name: 'default', networks: ['0.0.0.0/0', '::/0'], action: 'allow' },
    ],
    http: { listen: '127.0.0.1:0' },
    api: { listen: '127.0.0.1:0' },
    // Each server gets its own block log and keys; decisions are also logged as pino lines,
    // which is what most tests assert on.
    audit: auditConfig(),
    instance: 'test',
    ...rest,
  });
}

export function auditConfig(): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-test-audit-'));
  return {
    dir: join(dir, 'log'),
    signing_key_file: join(dir, 'keys', 'signing.key'),
    pseudonym_secret_file: join(dir, 'keys', 'pseudonym.key'),
    log_decisions: true,
    fsync: false,
  };
}

/** `options.decisions` replaces the block log (e.g. an in-memory sink). */
export async function startTestServer(config: Config, options: Omit<StartOptions, 'logger'> = {}): Promise<TestServer> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  const app = await startDnsward(config, { ...options, logger });
  const port = app.dns[0]?.port;
  if (port === undefined) throw new Error('dnsward bound no DNS port');
  return { app, port, logs, stop: () => app.stop() };
}
