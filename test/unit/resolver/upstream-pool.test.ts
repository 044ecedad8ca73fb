// UpstreamPool: one health list and one failover over UDP, DoT and DoH upstreams on loopback.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseUpstream, type UpstreamTarget } from '../../../src/config/upstreams.ts';
import { type UpstreamJob, UpstreamPool } from '../../../src/resolver/upstream-pool.ts';
import { DohUpstream, DotUpstream } from '../../helpers/encrypted-upstream.ts';
import { StubUpstream } from '../../helpers/stub-upstream.ts';
import { makeTestCert, type TestCert } from '../../helpers/tls-certs.ts';
import { questionOf } from '../../helpers/upstream-attempts.ts';

let cert: TestCert;
const cleanup: (() => Promise<void>)[] = [];

beforeAll(() => {
  cert = makeTestCert(mkdtempSync(`${tmpdir()}/dnsward-pool-`), 'pool');
});

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

interface Result {
  name: string;
  answer: Buffer | undefined;
  reason: string;
}

async function pool(addresses: string[], timeoutMs = 300): Promise<{ pool: UpstreamPool<string>; ask: (name: string, budgetMs?: number) => Promise<Result> }> {
  const waiting = new Map<string, (r: Result) => void>();
  const p = new UpstreamPool<string>(
    addresses.map((a) => parseUpstream(a) as UpstreamTarget),
    { timeoutMs, sockets: 2, rotateMs: 60_000, ca: [readFileSync(cert.cert, 'utf8')] },
    (job: UpstreamJob<string>, answer, reason) => waiting.get(job.owner)?.({ name: job.owner, answer, reason }),
    pino({ level: 'silent' }),
  );
  await p.start();
  cleanup.push(() => p.close());
  const ask = (name: string, budgetMs = 1500): Promise<Result> =>
    new Promise((resolve) => {
      waiting.set(name, resolve);
      p.resolve(p.job({ owner: name, question: questionOf(name), exactQuestion: false, dnssecOk: false, checkingDisabled: false, deadline: Date.now() + budgetMs }));
    });
  return { pool: p, ask };
}

async function refusedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function started<T extends { start(): Promise<T>; stop(): Promise<void> }>(server: T): Promise<T> {
  await server.start();
  cleanup.push(() => server.stop());
  return server;
}

describe('UpstreamPool', () => {
  it('fails over from a silent UDP upstream to DoT, then to DoH, and keeps the stats of each', async () => {
    const silent = await started(new StubUpstream(() => 'drop'));
    const dot = await started(new DotUpstream(cert));
    const doh = await started(new DohUpstream(cert));
    const { pool: p, ask } = await pool([`127.0.0.1:${silent.port}`, dot.address(), doh.url()]);
    const first = await ask('one.example');
    expect(first.reason).toBe('ok');
    const [udpState, dotState, dohState] = p.upstreams;
    expect(udpState).toMatchObject({ kind: 'udp', sent: 1, timeouts: 1, answered: 0 });
    expect(udpState?.downUntil).toBeGreaterThan(Date.now());
    expect((dotState?.answered ?? 0) + (dohState?.answered ?? 0)).toBe(1);
    dot.fault = 'close';
    const second = await ask('two.example');
    expect(second.reason).toBe('ok');
    expect(dot.seen.map((q) => q.qname)).toContain('two.example');
    expect(doh.seen.map((q) => q.qname)).toContain('two.example');
    expect(dotState).toMatchObject({ kind: 'dot', errors: 1 });
    expect(p.stats).toMatchObject({ answered: 2, failures: 0 });
  });

  it('does not lengthen the backoff for attempts that fail together', async () => {
    const good = await started(new StubUpstream());
    const dead = `tls://127.0.0.1:${await refusedPort()}`;
    const { pool: p, ask } = await pool([dead, `127.0.0.1:${good.port}`]);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => ask(`burst${i}.example`)));
    expect(results.every((r) => r.reason === 'ok')).toBe(true);
    expect(p.upstreams[0]).toMatchObject({ consecutiveFailures: 1 });
    expect(p.upstreams[0]?.errors).toBeGreaterThanOrEqual(1);
  });

  it('gives up after a bounded number of attempts when every upstream fails at once', async () => {
    const { pool: p, ask } = await pool([`tls://127.0.0.1:${await refusedPort()}`, `https://127.0.0.1:${await refusedPort()}/dns-query`]);
    const result = await ask('nobody.example', 5000);
    expect(result.answer).toBeUndefined();
    expect(result.reason).toMatch(/^(dot|doh)-error/);
    expect(p.stats.sent).toBe(4);
    expect(p.stats.failures).toBe(1);
  });

  it('answers every query in flight with "shutdown" when it closes', async () => {
    const hang = await started(new DotUpstream(cert));
    hang.fault = 'hang';
    const { pool: p, ask } = await pool([hang.address()], 5000);
    const pending = ask('hanging.example', 10_000);
    for (let i = 0; i < 100 && hang.seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await p.close();
    expect(await pending).toMatchObject({ answer: undefined, reason: 'shutdown' });
  });
});
