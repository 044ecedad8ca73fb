// dns.workers: 2 over real loopback sockets: UDP spread over both worker threads (each on its
// own SO_REUSEPORT socket), blocked and logged answers right per segment, every decision in the
// one block log exactly once and the log verifying, a reload with a changed list enforced by
// every worker, and /metrics summing the workers. Runs on both datagram paths (vitest.config.ts).
import { createSocket, type Socket } from 'node:dgram';
import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.ts';
import { createAuditSink } from '../../src/audit/index.ts';
import { verifyAuditPath } from '../../src/audit/verify.ts';
import { startDnsward } from '../../src/app.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import type { DnsWorkerStats } from '../../src/replica/dns-worker.ts';
import { buildQuery, queryTcp } from '../helpers/dns-client.ts';
import { startTestServer, testConfig, type TestServer } from '../helpers/dnsward-server.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';

const ADMIN = 'a'.repeat(32);
const silent = pino({ level: 'silent' });
const SERVICE = '127.0.0.2';
const PERSONAL = '127.0.0.3';
const DEFAULT = '127.0.0.1';
/** Client sockets per source address: each has its own port, and the kernel hashes address and port to a worker. */
const SOCKETS = 24;

function configText(upstreamPort: number, dir: string): string {
  return [
    'dns: { listen: ["127.0.0.1:0"], allow: ["127.0.0.0/8"], rate_limit: { enabled: false }, query_timeout_ms: 1500, workers: 2 }',
    `upstreams: ["127.0.0.1:${upstreamPort}"]`,
    'lists: { dir: lists }',
    'segments:',
    '  - { name: service, networks: ["127.0.0.2/32"], action: block, lists: [tiktok, extra] }',
    '  - { name: personal, networks: ["127.0.0.3/32"], action: log, lists: [tiktok, extra] }',
    '  - { name: default, networks: ["0.0.0.0/0"], action: allow }',
    'http: { enabled: false }',
    'api: { listen: "127.0.0.1:0" }',
    `audit: { dir: "${join(dir, 'audit')}", signing_key_file: "${join(dir, 'keys/s.key')}", pseudonym_secret_file: "${join(dir, 'keys/p.key')}", fsync: false, flush_interval_ms: 50 }`,
    `auth: { tokens: [{ name: ops, role: admin, token: "${ADMIN}" }] }`,
    'instance: workers-test',
  ].join('\n');
}

/** SOCKETS sockets bound on `from`, each a distinct source port. */
async function clients(from: string): Promise<Socket[]> {
  return Promise.all(
    Array.from({ length: SOCKETS }, async () => {
      const socket = createSocket('udp4');
      await new Promise<void>((r) => socket.bind(0, from, () => r()));
      return socket;
    }),
  );
}

/** Sends `names[i]` from socket i % SOCKETS and resolves with each name's rcode. */
async function ask(sockets: Socket[], port: number, names: string[]): Promise<Map<string, number>> {
  const rcodes = new Map<string, number>();
  const waits = names.map(
    (name, i) =>
      new Promise<void>((resolveOne, reject) => {
        const socket = sockets[i % sockets.length] as Socket;
        const id = (i * 7919) & 0xffff;
        const timer = setTimeout(() => reject(new Error(`no answer for ${name}`)), 5000);
        const onMessage = (m: Buffer): void => {
          if (m.readUInt16BE(0) !== id) return;
          socket.off('message', onMessage);
          clearTimeout(timer);
          rcodes.set(name, m.readUInt16BE(2) & 0xf);
          resolveOne();
        };
        socket.on('message', onMessage);
        socket.send(buildQuery({ name, id }), port, '127.0.0.1');
      }),
  );
  await Promise.all(waits);
  return rcodes;
}

async function readEvents(dir: string): Promise<AuditEvent[]> {
  const names = (await readdir(dir)).filter((n) => /-\d{3}\.jsonl$/.test(n)).sort();
  const out: AuditEvent[] = [];
  for (const n of names) for (const line of (await readFile(join(dir, n), 'utf8')).split('\n')) if (line && !line.startsWith('{"type":')) out.push(JSON.parse(line) as AuditEvent);
  return out;
}

/** The UDP queries a DNS worker answered (its resolver's counters). */
function udpQueries(worker: DnsWorkerStats): number {
  return worker.resolver.queries.filter((q) => q.transport === 'udp').reduce((n, q) => n + q.count, 0);
}

/** Sum of dnsward_queries_total samples matching every label given. */
function queriesMetric(text: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('dnsward_queries_total{')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.split(' ').at(-1));
  }
  return total;
}

describe('dns.workers: 2', () => {
  let upstream: StubUpstream;
  let server: TestServer;
  let dir: string;
  let file: string;
  let api: string;
  const sockets: Record<string, Socket[]> = {};
  let stopped = false;

  beforeAll(async () => {
    upstream = await new StubUpstream().start();
    dir = await mkdtemp(join(tmpdir(), 'dnsward-workers-'));
    await cp(resolve('lists'), join(dir, 'lists'), { recursive: true });
    await writeFile(join(dir, 'lists', 'extra.list'), '# title: extra\n');
    file = join(dir, 'dnsward.yaml');
    await writeFile(file, configText(upstream.port, dir));
    server = await startTestServer(await loadConfigFile(file), { loadConfig: () => loadConfigFile(file) });
    api = `http://127.0.0.1:${server.app.api?.port}`;
    for (const from of [SERVICE, PERSONAL, DEFAULT]) sockets[from] = await clients(from);
  });
  afterAll(async () => {
    for (const list of Object.values(sockets)) for (const s of list) s.close();
    if (!stopped) await server?.stop();
    await upstream?.stop();
  });

  it('spreads UDP over both workers, answers per segment, counts every query once in /metrics, and enforces a reload everywhere', async () => {
    const workers = server.app.workers();
    expect(workers).toBeDefined();
    const listed = Array.from({ length: 60 }, (_, i) => `w${i}.tiktok.com`);
    const unlisted = Array.from({ length: 60 }, (_, i) => `w${i}.example.org`);
    const service = await ask(sockets[SERVICE] as Socket[], server.port, [...listed, ...unlisted]);
    const personal = await ask(sockets[PERSONAL] as Socket[], server.port, listed);
    const plain = await ask(sockets[DEFAULT] as Socket[], server.port, listed);
    expect(listed.every((n) => service.get(n) === 3)).toBe(true);
    expect(unlisted.every((n) => service.get(n) === 0)).toBe(true);
    expect(listed.every((n) => personal.get(n) === 0 && plain.get(n) === 0)).toBe(true);
    // TCP stays on the main thread, and is counted with the rest.
    expect((await queryTcp(server.port, { name: 'tcp.tiktok.com', from: SERVICE })).rcode).toBe(3);

    // Both workers took a share of the 240 datagrams from 72 source ports.
    await workers?.refresh();
    const each = workers?.stats() ?? [];
    expect(each).toHaveLength(2);
    expect(each.every((w) => udpQueries(w) > 0)).toBe(true);
    expect(each.reduce((n, w) => n + udpQueries(w), 0)).toBe(240);
    // The path this suite runs on (DNSWARD_DATAGRAM): addon sockets report batch counters, node:dgram ones none.
    const onAddon = process.env.DNSWARD_DATAGRAM !== 'dgram';
    expect(each.every((w) => w.udp.length === (onAddon ? 1 : 0))).toBe(true);

    // /metrics sums the workers and the main thread.
    const metrics = await (await fetch(`${api}/metrics`)).text();
    expect(queriesMetric(metrics, { segment: 'service', outcome: 'blocked', transport: 'udp' })).toBe(60);
    expect(queriesMetric(metrics, { segment: 'service', outcome: 'blocked', transport: 'tcp' })).toBe(1);
    expect(queriesMetric(metrics, { transport: 'udp' })).toBe(240);
    const perWorker = each.flatMap((w) => w.resolver.queries).filter((q) => q.segment === 'service' && q.outcome === 'blocked');
    expect(perWorker.reduce((n, q) => n + q.count, 0)).toBe(60);
    // The batched path's counters, summed over the workers: every datagram in and every answer out.
    const udpDatagrams = (direction: string): number => Number(new RegExp(`^dnsward_udp_datagrams_total\\{direction="${direction}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    expect(udpDatagrams('received')).toBe(onAddon ? 240 : 0);
    expect(udpDatagrams('sent')).toBe(onAddon ? 240 : 0);
    expect(metrics).toContain('dnsward_udp_send_failed_total 0');
    // The upstream leg's sockets too: each query forwarded left as one datagram, each reply came back as one.
    const sumOf = (pattern: string): number => [...metrics.matchAll(new RegExp(`^${pattern} (\\d+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
    const forwarded = sumOf('dnsward_upstream_queries_total\\{upstream="[^"]+",result="sent"\\}');
    const answered = sumOf('dnsward_upstream_queries_total\\{upstream="[^"]+",result="answered"\\}');
    expect(forwarded).toBeGreaterThanOrEqual(60);
    expect(sumOf('dnsward_upstream_udp_datagrams_total\\{direction="sent"\\}')).toBe(onAddon ? forwarded : 0);
    expect(sumOf('dnsward_upstream_udp_datagrams_total\\{direction="received"\\}')).toBe(onAddon ? answered : 0);
    const upstreamBatches = sumOf('dnsward_upstream_udp_batches_total\\{direction="sent"\\}');
    expect(onAddon ? upstreamBatches >= 1 && upstreamBatches <= forwarded : upstreamBatches === 0).toBe(true);
    expect(metrics).toContain('dnsward_upstream_udp_send_failed_total 0');

    // A changed list, reloaded: every worker enforces it before the reload answers.
    await writeFile(join(dir, 'lists', 'extra.list'), '# title: extra\nnewly-listed.example  2026-12-02  X\n');
    const res = await fetch(`${api}/api/reload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
    const body = (await res.json()) as { ok: boolean; policyGeneration: number };
    expect(body.ok).toBe(true);
    // Confirmed by every worker before the reload answered.
    expect(workers?.generations()).toEqual([body.policyGeneration, body.policyGeneration]);
    await workers?.refresh();
    expect(workers?.stats().map((w) => w.resolver.policyGeneration)).toEqual([body.policyGeneration, body.policyGeneration]);
    const fresh = Array.from({ length: 48 }, (_, i) => `n${i}.newly-listed.example`);
    const after = await ask(sockets[SERVICE] as Socket[], server.port, fresh);
    expect(fresh.every((n) => after.get(n) === 3)).toBe(true);
    await workers?.refresh();
    const afterReload = workers?.stats() ?? [];
    expect(afterReload.every((w) => w.resolver.queries.some((q) => q.segment === 'service' && q.outcome === 'blocked' && q.count > 0))).toBe(true);
    expect(afterReload.reduce((n, w) => n + udpQueries(w), 0)).toBe(288);

    // A list changed outside a reload (a source refreshed, the fleet's change log): installed and sent to every worker.
    const extra = server.app.lists.get('extra');
    server.app.lists.set({ ...(extra as NonNullable<typeof extra>), version: 'changed', domains: ['via-change.example'] });
    const target = server.app.resolver.currentPolicy.generation;
    // Installed here at once; the workers confirm on their own time, and settled() waits for all of them.
    expect(workers?.generations()).not.toContain(target);
    await workers?.settled();
    expect(workers?.generations()).toEqual([target, target]);
    const changed = Array.from({ length: 48 }, (_, i) => `c${i}.via-change.example`);
    const afterChange = await ask(sockets[SERVICE] as Socket[], server.port, changed);
    expect(changed.every((n) => afterChange.get(n) === 3)).toBe(true);

    // One block log for all threads: every decision exactly once, and the chain verifies.
    stopped = true;
    await server.stop();
    const events = await readEvents(join(dir, 'audit'));
    const key = (e: AuditEvent): string => `${e.segment} ${e.action} ${e.qname}`;
    const expected = [
      ...listed.map((n) => `service blocked ${n}`),
      'service blocked tcp.tiktok.com',
      ...listed.map((n) => `personal logged ${n}`),
      ...fresh.map((n) => `service blocked ${n}`),
      ...changed.map((n) => `service blocked ${n}`),
    ];
    expect(events.map(key).sort()).toEqual(expected.sort());
    const report = await verifyAuditPath(join(dir, 'audit'));
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });
});

describe('dns.workers: 2, stopping with queries in flight', () => {
  it('loses no decision and records none twice: every worker hands over what it holds before the block log closes', async () => {
    const upstream = await new StubUpstream().start();
    const root = await mkdtemp(join(tmpdir(), 'dnsward-workers-stop-'));
    const audit = join(root, 'audit');
    const config = testConfig(upstream.port, {
      dns: { workers: 2 },
      audit: { dir: audit, signing_key_file: join(root, 'keys', 's.key'), pseudonym_secret_file: join(root, 'keys', 'p.key'), flush_interval_ms: 100, fsync: false },
      http: { enabled: false },
      api: { enabled: false },
    });
    const sink = await createAuditSink(config, silent);
    const app = await startDnsward(config, { logger: silent, decisions: sink });
    const port = app.dns[0]?.port as number;
    const senders = await clients(SERVICE);
    const answered = new Set<number>();
    for (const socket of senders) socket.on('message', (m: Buffer) => (m.readUInt16BE(2) & 0xf) === 3 && answered.add(m.readUInt16BE(0)));
    let sent = 0;
    let stopping: Promise<void> | undefined;
    for (let burst = 0; burst < 40; burst++) {
      for (let i = 0; i < 96; i++, sent++) (senders[sent % SOCKETS] as Socket).send(buildQuery({ name: `h${sent}.tiktok.com`, id: sent & 0xffff }), port, '127.0.0.1');
      await new Promise((r) => setImmediate(r));
      if (burst === 20) stopping = app.stop();
    }
    await stopping;
    for (const s of senders) s.close();
    await upstream.stop();
    const stats = sink.stats();
    const names = (await readEvents(audit)).map((e) => e.qname);
    expect(answered.size).toBeGreaterThan(100);
    expect(stats.dropped).toBe(0);
    expect(names).toHaveLength(stats.recorded);
    // Each name was asked once: a name twice would be a decision recorded twice.
    expect(new Set(names).size).toBe(names.length);
    // Every answered query (IDs are unique here: fewer than 65,536 sent) has its event.
    const asked = new Set(names.map((n) => Number(/^h(\d+)\./.exec(n)?.[1])));
    expect([...answered].every((id) => asked.has(id))).toBe(true);
    expect(names.length).toBeLessThanOrEqual(sent);
    const report = await verifyAuditPath(audit);
    expect(report.problems).toEqual([]);
    expect(report.instances[0]?.lastCheckpointSeq).toBe(names.length);
    // Starting and stopping worker threads (each compiles its modules) is slow on a busy machine.
  }, 60_000);
});


describe('dns.workers: 2, rate limits', () => {
  it('limits a client on one address and port as before; each worker keeps its own buckets', async () => {
    const upstream = await new StubUpstream().start();
    const server = await startTestServer(testConfig(upstream.port, { dns: { workers: 2, rate_limit: { enabled: true, qps: 1, burst: 20, action: 'slip', slip_every: 1 } } }));
    /** Sends `count` queries from each socket and counts the full answers (the rest come back TC=1). */
    const burst = async (from: string, sockets: number, count: number): Promise<number> => {
      const all = (await clients(from)).slice(0, sockets);
      let full = 0;
      let replies = 0;
      const done = new Promise<void>((resolveAll, reject) => {
        setTimeout(() => reject(new Error(`${replies} of ${sockets * count} replies`)), 5000).unref();
        for (const s of all) {
          s.on('message', (m: Buffer) => {
            if ((m.readUInt16BE(2) & 0x0200) === 0) full++;
            if (++replies === sockets * count) resolveAll();
          });
        }
      });
      let id = 0;
      for (const s of all) for (let i = 0; i < count; i++, id++) s.send(buildQuery({ name: 'rl.example', id }), server.port, '127.0.0.1');
      await done;
      for (const s of all) s.close();
      return full;
    };
    try {
      // One source port reaches one worker: its one bucket of 20 (plus at most a few refilled at 1 q/s).
      const one = await burst('127.0.0.20', 1, 60);
      expect(one).toBeGreaterThanOrEqual(20);
      expect(one).toBeLessThanOrEqual(25);
      // Many source ports from one address reach both workers: up to one bucket each.
      const many = await burst('127.0.0.21', SOCKETS, 10);
      expect(many).toBeGreaterThan(25);
      expect(many).toBeLessThanOrEqual(2 * 20 + 5);
    } finally {
      await server.stop();
      await upstream.stop();
    }
  }, 60_000);
});
