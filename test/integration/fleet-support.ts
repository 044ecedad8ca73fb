// Shared by the fleet integration tests: replicas on the real Redis (127.0.0.1:6379, each test
// file under its own key prefix, deleted afterwards) or on a redis-server the test starts and
// kills, API calls with the test tokens, and polling.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import type { Config } from '../../src/config/schema.ts';
import { auditConfig, startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { freeUdpTcpPort } from '../helpers/free-port.ts';

export const ADMIN = 'fleet-admin-token-0123456789abcdef';
export const AUDITOR = 'fleet-auditor-token-0123456789abcdef';
export const SHARED_REDIS = 'redis://127.0.0.1:6379/0';

/** A key prefix no other test uses. */
export function uniquePrefix(tag: string): string {
  return `dnsward:test-${tag}-${process.pid}-${Date.now().toString(36)}:`;
}

/** Deletes every key under the prefix. */
export async function dropPrefix(prefix: string, url = SHARED_REDIS): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Every event in the fleet-wide stream, read straight from Redis (one entry per span: fields i, f, l, and z the lines zstd-compressed). */
export async function streamEvents(url: string, prefix: string): Promise<{ instance: string; seq: number; line: string; entry: string }[]> {
  const redis = new Redis(url);
  try {
    const rows = await redis.xrangeBuffer(`${prefix}{audit}:stream`, '-', '+');
    return rows.flatMap(([entry, fields]) => {
      const f = new Map(fields.flatMap((_, i) => (i % 2 === 0 ? [[(fields[i] as Buffer).toString(), fields[i + 1] as Buffer] as const] : [])));
      expect([...f.keys()].sort()).toEqual(['f', 'i', 'l', 'z']);
      const lines = zstdDecompressSync(f.get('z') as Buffer).toString().split('\n').filter((l) => l !== '');
      expect(lines.length).toBe(Number(f.get('l')?.toString()) - Number(f.get('f')?.toString()) + 1);
      return lines.map((line) => ({ instance: f.get('i')?.toString() ?? '', seq: (JSON.parse(line) as { seq: number }).seq, line, entry: entry.toString() }));
    });
  } finally {
    redis.disconnect();
  }
}

export interface ReplicaOptions {
  instance: string;
  upstreamPort: number;
  redis?: Record<string, unknown> | undefined;
  /** Reuse a replica's audit section (its directory and keys): a restart. */
  audit?: Record<string, unknown>;
  overrides?: Record<string, unknown>;
}

export function fleetConfig(o: ReplicaOptions): Config {
  return testConfig(o.upstreamPort, {
    instance: o.instance,
    // The writer on the DNS thread whatever the CPUs, so that the shipper takes its writes from memory.
    audit: o.audit ?? { ...auditConfig(), log_decisions: false, checkpoint_interval_s: 1, flush_interval_ms: 50, worker_thread: false },
    auth: {
      tokens: [
        { name: 'alice', role: 'admin', token: ADMIN },
        { name: 'audit-team', role: 'auditor', token: AUDITOR },
      ],
    },
    ...(o.redis ? { redis: { heartbeat_interval_s: 1, witness_interval_s: 1, ...o.redis } } : {}),
    ...o.overrides,
  });
}

export async function startReplica(o: ReplicaOptions): Promise<TestServer> {
  return startTestServer(fleetConfig(o));
}

export interface ApiReply {
  status: number;
  body: Record<string, unknown>;
}

export async function api(server: TestServer, method: string, path: string, options: { token?: string | null; body?: unknown } = {}): Promise<ApiReply> {
  const token = options.token === undefined ? ADMIN : options.token;
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  // A connection per request (no keep-alive): a replica's stop() then never waits for idle ones.
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.app.api?.port,
        method,
        path,
        agent: false,
        headers: { connection: 'close', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Polls `check` until it returns a value other than undefined/false; fails naming `what` after timeoutMs. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5000, stepMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

/** A loopback port free for UDP and TCP (Redis, replicas' DNS and HTTP listeners). */
export const freePort = freeUdpTcpPort;

/** A redis-server of the test's own, on a free port, persisting every write (AOF, fsync always) so a SIGKILL loses nothing. */
export class RedisProcess {
  readonly dir = mkdtempSync(join(tmpdir(), 'dnsward-test-redis-'));
  port = 0;
  private child: ChildProcess | undefined;

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir], { stdio: 'ignore' });
    this.child = child;
    await waitFor(
      'redis-server to answer',
      async () => {
        const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => undefined);
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } finally {
          probe.disconnect();
        }
      },
      10_000,
      50,
    );
  }

  /** SIGSTOP for `ms`, then SIGCONT: a Redis that does not answer, with its connections open. */
  async freeze(ms: number): Promise<void> {
    this.child?.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, ms));
    this.child?.kill('SIGCONT');
  }

  /** SIGKILL: no shutdown, no goodbye to the clients. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }
}
