// Redis killed (SIGKILL) and restarted under continuous DNS traffic, with two replicas running
// and a third started while it is down: every query is answered, every blocked answer ends up
// exactly once in the fleet-wide stream once Redis is back (the events spooled in the replicas'
// files are replayed), each replica's /healthz goes degraded and back to ok, a list change is
// refused while Redis is down and accepted after, and every replica rejoins without a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryUdp } from '../helpers/dns-client.ts';
import type { TestServer } from '../helpers/dnsward-server.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';
import { api, RedisProcess, startReplica, streamEvents, waitFor } from './fleet-support.ts';

const SERVICE = '127.0.0.2';

/** The unlabelled dnsward_* samples of a replica's /metrics. */
async function metrics(r: TestServer): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${r.app.api?.port}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^(dnsward_[a-z_]+) ([0-9.e+-]+)$/gm)].map((m) => [m[1], Number(m[2])]));
}

interface Answered {
  replica: string;
  qname: string;
  rcode: number;
}

describe('Redis killed and restarted mid-traffic', () => {
  const redisServer = new RedisProcess();
  let upstream: StubUpstream;
  const replicas: TestServer[] = [];

  beforeAll(async () => {
    upstream = new StubUpstream();
    await upstream.start();
    await redisServer.start();
    for (const instance of ['a', 'b']) replicas.push(await startReplica({ instance, upstreamPort: upstream.port, redis: { url: redisServer.url } }));
    for (const r of replicas) await waitFor('redis up', () => r.app.health.report().redis?.state === 'up', 10_000);
  });

  afterAll(async () => {
    try {
      await Promise.allSettled(replicas.map((r) => r.stop()));
      await upstream?.stop();
    } finally {
      await redisServer.kill();
    }
  });

  it('answers every query, loses no block-log event, degrades and recovers without a restart', async () => {
    const answered: Answered[] = [];
    const failures: string[] = [];
    const health = new Map<string, string[]>();
    let running = true;
    let n = 0;
    // Continuous traffic: each replica in turn, a blocked name (unique, so each event is traceable) and an allowed one.
    const traffic = (async () => {
      while (running) {
        for (const r of [...replicas]) {
          const name = r.app.config.instance;
          const qname = `q${n++}.tiktok.com`;
          for (const [q, want] of [
            [qname, 3],
            [`ok${n}.example.org`, 0],
          ] as const) {
            try {
              const reply = await queryUdp(r.port, { name: q, from: SERVICE }, 3000);
              if (reply.rcode !== want) failures.push(`${name} ${q}: rcode ${reply.rcode}`);
              else if (want === 3) answered.push({ replica: name, qname: q, rcode: reply.rcode });
            } catch (error) {
              failures.push(`${name} ${q}: ${(error as Error).message}`);
            }
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const watchHealth = setInterval(() => {
      for (const r of replicas) {
        void api(r, 'GET', '/healthz', { token: null }).then((h) => {
          const seen = health.get(r.app.config.instance) ?? [];
          const status = `${h.status}:${String(h.body.status)}`;
          if (seen.at(-1) !== status) seen.push(status);
          health.set(r.app.config.instance, seen);
        });
      }
    }, 100);

    try {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await redisServer.kill();
      for (const r of replicas) await waitFor(`${r.app.config.instance} to notice Redis is gone`, () => r.app.health.report().redis?.state === 'down', 10_000);
      const refused = await api(replicas[0] as TestServer, 'POST', '/api/lists/tiktok/entries', { body: { domain: 'during-outage.example.com', reason: 'while down' } });
      expect(refused.status).toBe(503);
      expect(String(refused.body.message)).toContain('Redis');
      // A third replica starts while Redis is down: it serves from its local lists.
      const c = await startReplica({ instance: 'c', upstreamPort: upstream.port, redis: { url: redisServer.url } });
      replicas.push(c);
      expect(c.app.health.report().redis?.state).not.toBe('up');
      expect((await queryUdp(c.port, { name: 'www.tiktok.com', from: SERVICE })).rcode).toBe(3);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(replicas.some((r) => (r.app.health.report().redis?.spooled ?? 0) > 0)).toBe(true);
      const during = await metrics(replicas[0] as TestServer);
      expect(during.dnsward_redis_up).toBe(0);
      expect(during.dnsward_audit_spooled_events).toBeGreaterThan(0);

      await redisServer.start();
      for (const r of replicas) await waitFor(`${r.app.config.instance} to rejoin`, () => r.app.health.report().redis?.state === 'up', 15_000, 50);
      const accepted = await api(replicas[1] as TestServer, 'POST', '/api/lists/tiktok/entries', { body: { domain: 'after-outage.example.com', reason: 'Redis is back' } });
      expect(accepted.status).toBe(201);
      await waitFor('the change on the replica started during the outage', async () => (await queryUdp(c.port, { name: 'x.after-outage.example.com', from: SERVICE })).rcode === 3, 2000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const after = await waitFor('the three replicas in a heartbeat round', async () => {
        const m = await metrics(replicas[0] as TestServer);
        return m.dnsward_fleet_replicas === 3 ? m : undefined;
      });
      expect(after.dnsward_redis_up).toBe(1);
      expect(after.dnsward_audit_stream_shipped_total).toBeGreaterThan(0);
    } finally {
      running = false;
      await traffic;
      clearInterval(watchHealth);
    }

    expect(failures).toEqual([]);
    expect(answered.length).toBeGreaterThan(100);
    for (const r of replicas.slice(0, 2)) {
      const seen = health.get(r.app.config.instance) ?? [];
      // Always 200; the body says degraded while Redis was away, then ok again.
      expect(seen.join(' ')).toMatch(/^200:ok .*200:degraded .*200:ok$/);
    }

    // Every blocked answer is in the stream exactly once, with its replica's seq, in order.
    for (const r of replicas) await waitFor('the block log flushed', async () => (r.app.health.report().audit?.buffered ?? 1) === 0, 5000);
    const stream = await waitFor(
      'every spooled event in the stream',
      async () => {
        const entries = await streamEvents(redisServer.url, 'dnsward:');
        const written = replicas.map((r) => r.app.health.report().audit?.written ?? 0).reduce((x, y) => x + y, 0);
        return entries.length >= written && written >= answered.length ? entries : undefined;
      },
      15_000,
      100,
    );
    const keys = stream.map((e) => `${e.instance}:${e.seq}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const instance of ['a', 'b', 'c']) {
      const seqs = stream.filter((e) => e.instance === instance).map((e) => e.seq);
      expect(seqs, `seq of ${instance} in arrival order`).toEqual(seqs.map((_, i) => i + 1));
    }
    const byName = new Map(stream.map((e) => [`${e.instance}/${(JSON.parse(e.line) as { qname: string }).qname}`, e]));
    const missing = answered.filter((x) => !byName.has(`${x.replica}/${x.qname}`));
    expect(missing).toEqual([]);
    const view = await api(replicas[2] as TestServer, 'GET', '/api/fleet');
    expect((view.body.replicas as { instance: string }[]).map((r) => r.instance)).toEqual(['a', 'b', 'c']);
  }, 90_000);
});
