// /healthz and /readyz as operators and probes see them: every degradation named (upstreams
// down, the block log unable to write), health 200 throughout, readiness independent of the
// upstreams (a deliberate choice, see src/replica/health.ts and docs/OPERATIONS.md).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/replica/health.ts';
import { queryUdp } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';

async function get(server: TestServer, path: string): Promise<{ status: number; body: HealthReport }> {
  const res = await fetch(`http://127.0.0.1:${server.app.api?.port}${path}`);
  return { status: res.status, body: (await res.json()) as HealthReport };
}

const until = async (check: () => Promise<boolean>, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('health and readiness across an upstream outage', () => {
  let upstream: StubUpstream;
  let server: TestServer;
  beforeAll(async () => {
    upstream = await new StubUpstream().start();
    server = await startTestServer(testConfig(upstream.port, { dns: { upstream_timeout_ms: 200, query_timeout_ms: 400 } }));
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.stop();
  });

  it('is ok and ready at start, naming the upstream and the lists', async () => {
    const health = await get(server, '/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', ready: true, instance: 'test', degraded: [] });
    expect(health.body.upstreams).toEqual([{ upstream: `127.0.0.1:${upstream.port}`, up: true }]);
    expect(health.body.lists.map((l) => l.name)).toContain('tiktok');
    expect((await get(server, '/readyz')).status).toBe(200);
  });

  it('stays 200 and ready but degraded while every upstream is down, and recovers', async () => {
    upstream.handler = () => 'drop';
    await queryUdp(server.port, { name: 'down1.example' }).catch(() => undefined);
    await until(async () => (await get(server, '/healthz')).body.status === 'degraded');
    const health = await get(server, '/healthz');
    expect(health.status).toBe(200);
    expect(health.body.degraded).toEqual(['every upstream is down: only blocked, cached and stale answers are given']);
    expect(health.body.upstreams[0]?.up).toBe(false);
    // Blocked names are still answered, and readiness holds: taking every replica out would answer nothing.
    expect((await queryUdp(server.port, { name: 'www.tiktok.com', from: '127.0.0.2' })).rcode).toBe(3);
    const ready = await get(server, '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('degraded');

    upstream.handler = (await import('../helpers/stub-upstream.ts')).defaultHandler;
    await until(async () => {
      await queryUdp(server.port, { name: `up${Date.now()}.example` }).catch(() => undefined);
      return (await get(server, '/healthz')).body.status === 'ok';
    }, 40_000);
    expect((await get(server, '/healthz')).body.upstreams[0]?.up).toBe(true);
  }, 60_000);
});

// Needs a small filesystem to fill: a tmpfs (root can mount one here and in CI).
const canMount = (() => {
  const probe = mkdtempSync(join(tmpdir(), 'dnsward-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();

describe.skipIf(!canMount)('health while the block log cannot write (disk full)', () => {
  let upstream: StubUpstream;
  let server: TestServer;
  let dir: string;
  let mountpoint: string;
  beforeAll(async () => {
    upstream = await new StubUpstream().start();
    dir = mkdtempSync(join(tmpdir(), 'dnsward-full-'));
    mountpoint = join(dir, 'audit');
    mkdirSync(mountpoint);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountpoint]);
    server = await startTestServer(
      testConfig(upstream.port, {
        audit: { dir: join(mountpoint, 'log'), signing_key_file: join(dir, 'keys/s.key'), pseudonym_secret_file: join(dir, 'keys/p.key'), fsync: false, flush_interval_ms: 50, worker_thread: false },
      }),
    );
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.stop();
    execFileSync('umount', [mountpoint]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the failing block log and the events held, then clears once space returns, losing nothing', async () => {
    const blocked = async (n: number, tag: string) => {
      for (let i = 0; i < n; i++) expect((await queryUdp(server.port, { name: `${tag}${i}.tiktok.com`, from: '127.0.0.2' })).rcode).toBe(3);
    };
    await blocked(5, 'before');
    // Fill the filesystem: every further append fails with ENOSPC.
    const filler = join(mountpoint, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(2 * 1024 * 1024));
    } catch {
      // ENOSPC once it is full: what we want.
    }
    await blocked(20, 'full');
    await until(async () => (await get(server, '/healthz')).body.audit?.failing === true);
    const health = await get(server, '/healthz');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('degraded');
    expect(health.body.degraded.some((d) => /^the block log cannot write: \d+ events held in memory/.test(d))).toBe(true);
    expect(health.body.audit?.buffered).toBeGreaterThan(0);

    rmSync(filler);
    await until(async () => (await get(server, '/healthz')).body.status === 'ok');
    const after = await get(server, '/healthz');
    expect(after.body.audit).toMatchObject({ buffered: 0, failing: false, dropped: 0 });
    expect(after.body.audit?.written).toBeGreaterThanOrEqual(25);
  });
});
