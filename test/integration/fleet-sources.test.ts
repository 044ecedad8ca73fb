// Subscribed sources in a fleet: one replica downloads a source (holding its lease in Redis),
// the others take its copy; when the source changes, it is downloaded once more, not once per
// replica, and every replica ends up on the same version.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryUdp } from '../helpers/dns-client.ts';
import type { TestServer } from '../helpers/dnsward-server.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';
import { dropPrefix, SHARED_REDIS, startReplica, uniquePrefix, waitFor } from './fleet-support.ts';

describe('subscribed sources fetched once for the fleet', () => {
  const prefix = uniquePrefix('sources');
  let upstream: StubUpstream;
  let origin: Server;
  let body = '0.0.0.0 first.partner.example\n0.0.0.0 second.partner.example\n';
  const served = { full: 0, notModified: 0 };
  const replicas: TestServer[] = [];

  beforeAll(async () => {
    upstream = new StubUpstream();
    await upstream.start();
    origin = createServer((req, res) => {
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
      if (req.headers['if-none-match'] === etag) {
        served.notModified++;
        res.writeHead(304, { etag }).end();
        return;
      }
      served.full++;
      res.writeHead(200, { etag, 'content-type': 'text/plain' }).end(body);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(origin.address() as { port: number }).port}/partner.txt`;
    for (const instance of ['a', 'b', 'c']) {
      const lists = { dir: 'lists', feed: false, cache_dir: mkdtempSync(join(tmpdir(), 'dnsward-test-sources-')), sources: [{ name: 'partner', url, refresh: 2 }] };
      const segments = [
        { name: 'service', networks: ['127.0.0.2/32'], action: 'block', lists: ['tiktok', 'partner'] },
        { name: 'default', networks: ['0.0.0.0/0', '::/0'], action: 'allow' },
      ];
      replicas.push(await startReplica({ instance, upstreamPort: upstream.port, redis: { url: SHARED_REDIS, key_prefix: prefix }, overrides: { lists, segments } }));
    }
  });

  afterAll(async () => {
    await Promise.allSettled(replicas.map((r) => r.stop()));
    await upstream?.stop();
    await new Promise((resolve) => origin?.close(resolve));
    await dropPrefix(prefix);
  });

  it('downloads each version once, and every replica enforces it', async () => {
    const version = replicas[0]?.app.lists.get('partner')?.version;
    expect(version).toMatch(/^[0-9a-f]{12}$/);
    for (const r of replicas) expect(r.app.lists.get('partner')?.version).toBe(version);
    expect(served.full).toBe(1);
    for (const r of replicas) expect((await queryUdp(r.port, { name: 'first.partner.example', from: '127.0.0.2' })).rcode).toBe(3);

    body = '0.0.0.0 first.partner.example\n0.0.0.0 third.partner.example\n';
    for (const r of replicas) {
      await waitFor('the new version everywhere', async () => (await queryUdp(r.port, { name: 'third.partner.example', from: '127.0.0.2' })).rcode === 3, 10_000, 100);
    }
    const next = new Set(replicas.map((r) => r.app.lists.get('partner')?.version));
    expect(next.size).toBe(1);
    expect(next.has(version)).toBe(false);
    expect(served.full).toBe(2);
    // Between the versions the origin was asked conditionally, by one replica at a time.
    expect(served.notModified).toBeLessThan(10);
  });
});
