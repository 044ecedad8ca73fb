// The dashboard's HTTP side over real HTTP on 127.0.0.1: the page and its assets (security
// headers, caching, 304, compression, 404, not built), and GET /api/audit/timeline over a
// block log written by the real writer (auth, parameter checks, counts, the scan cap).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.ts';
import { type AuditFilter, type AuditReader, FileAuditReader } from '../../src/audit/reader.ts';
import { type Config, configSchema } from '../../src/config/schema.ts';
import { buildDashboard } from '../../src/http/dashboard/build.ts';
import type { HttpDeps } from '../../src/http/deps.ts';
import { createListenerApp } from '../../src/http/listener.ts';
import { KNOWN_PARAMETERS, MAX_SCANS, type TimelineResult } from '../../src/http/routes/audit-timeline.ts';
import { CONTENT_SECURITY_POLICY, registerDashboardRoutes } from '../../src/http/routes/dashboard.ts';
import { ListRegistry } from '../../src/lists/registry.ts';
import { readyHealth } from '../helpers/health.ts';
import { decision, tempDir, writeLog } from '../unit/audit/helpers.ts';

const AUDITOR = 'timeline-auditor-token-0123456789';
const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);
const N = 40;

// Event i at T0 + i × 7 minutes (10:00 … 14:33): even → service/blocked/tiktok, odd → personal/logged,
// every third odd one on list bytedance.
function mix(i: number): ReturnType<typeof decision> {
  const personal = i % 2 === 1;
  return decision(i, {
    ts: T0 + i * 7 * 60_000,
    segment: personal ? 'personal' : 'service',
    action: personal ? 'logged' : 'blocked',
    response: personal ? 'answer' : 'nxdomain',
    qname: i % 4 === 0 ? `www${i}.tiktok.com` : `x${i}.example.tiktok.com`,
    list: personal && i % 3 === 0 ? 'bytedance' : 'tiktok',
  });
}

const logLines: string[] = [];
const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, cb) => (logLines.push(chunk.toString()), cb()) }));
const apps: FastifyInstance[] = [];
let auditDir: string;
let buildDir: string;
let config: Config;
let hash: string;

async function start(dir: string, audit?: AuditReader): Promise<string> {
  const deps: HttpDeps = { config, logger, metrics: new Registry(), lists: new ListRegistry(), health: readyHealth(), ...(audit ? { audit } : {}) };
  const app = createListenerApp(config.api, undefined, logger);
  registerDashboardRoutes(app, deps, dir);
  await app.listen({ host: '127.0.0.1', port: 0 });
  apps.push(app);
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

let base: string;

beforeAll(async () => {
  auditDir = await tempDir('dnsward-timeline-');
  await writeLog(auditDir, N, {}, mix);
  buildDir = await mkdtemp(join(tmpdir(), 'dnsward-dashboard-dist-'));
  hash = (await buildDashboard(buildDir)).hash;
  config = configSchema.parse({
    segments: [{ name: 'default', networks: ['0.0.0.0/0'], action: 'allow' }],
    audit: { dir: auditDir },
    auth: { tokens: [{ name: 'audit-team', role: 'auditor', token: AUDITOR }] },
    instance: 'a',
  });
  base = await start(buildDir);
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await rm(buildDir, { recursive: true, force: true });
});

function expectSecurityHeaders(res: Response): void {
  expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('x-frame-options')).toBe('DENY');
  expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
  expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
}

describe('GET /dashboard and its assets', () => {
  it('serves the page with a strict policy, revalidated by ETag (304)', async () => {
    const res = await fetch(`${base}/dashboard`, { headers: { 'accept-encoding': 'identity' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expectSecurityHeaders(res);
    for (const directive of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'none'", "require-trusted-types-for 'script'"]) expect(CONTENT_SECURITY_POLICY).toContain(directive);
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
    const page = await res.text();
    expect(page).toContain(`/dashboard/assets/${hash}/main.js`);
    expect(page).not.toContain(AUDITOR);
    const etag = res.headers.get('etag') as string;
    const again = await fetch(`${base}/dashboard`, { headers: { 'if-none-match': etag, 'accept-encoding': 'identity' } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect((await fetch(`${base}/dashboard/`, { redirect: 'manual' })).headers.get('location')).toBe('/dashboard');
  });

  it('serves assets as immutable under their hash, compressed when asked, and 404s anything else', async () => {
    const plain = await fetch(`${base}/dashboard/assets/${hash}/main.js`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expectSecurityHeaders(plain);
    const body = Buffer.from(await plain.arrayBuffer());
    for (const [encoding, decode] of [['gzip', gunzipSync], ['br', brotliDecompressSync]] as const) {
      // Node's fetch decodes for us; ask for the raw bytes through a plain request instead.
      const res = await rawGet(`/dashboard/assets/${hash}/main.js`, { 'accept-encoding': encoding });
      expect(res.headers['content-encoding']).toBe(encoding);
      expect(decode(res.body).equals(body)).toBe(true);
    }
    for (const path of [`/dashboard/assets/0000000000000000/main.js`, `/dashboard/assets/${hash}/index.html`, `/dashboard/assets/${hash}/nope.js`, `/dashboard/assets/${hash}/..%2Fcurrent.json`]) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(404);
      expectSecurityHeaders(res);
    }
  });

  it('answers 503 and says what to run when the dashboard is not built', async () => {
    const empty = await start(join(buildDir, 'not-built'));
    const res = await fetch(`${empty}/dashboard`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/^the dashboard is not built: run `npm run build`/);
    expect(logLines.some((l) => l.includes('dashboard: not built'))).toBe(true);
  });
});

async function rawGet(path: string, headers: Record<string, string>): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(base + path, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function timeline(query: string, token: string | null = AUDITOR, at = base): Promise<Response> {
  return fetch(`${at}/api/audit/timeline${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

describe('GET /api/audit/timeline', () => {
  const range = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 5 * 3_600_000).toISOString()}`;

  it('needs an auditor token', async () => {
    expect((await timeline(`?${range}`, null)).status).toBe(401);
    expect((await timeline(`?${range}`, 'wrong')).status).toBe(401);
  });

  it('counts per hour by segment and list, over the real block log', async () => {
    const res = await timeline(`?${range}&by=segment,list`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as TimelineResult;
    expect(body.buckets).toEqual([10, 11, 12, 13, 14].map((h) => `2026-11-28T${h}:00:00.000Z`));
    expect(body.total).toBe(N);
    // Expected counts from the events themselves, bucketed by their hour.
    const events = Array.from({ length: N }, (_, i) => mix(i));
    const expected = (key: (e: ReturnType<typeof mix>) => boolean): number[] => [10, 11, 12, 13, 14].map((h) => events.filter((e) => key(e) && new Date(e.ts).getUTCHours() === h).length);
    expect(body.by.segment?.series).toEqual([
      { key: 'personal', counts: expected((e) => e.segment === 'personal'), total: 20 },
      { key: 'service', counts: expected((e) => e.segment === 'service'), total: 20 },
    ]);
    expect(body.by.list?.series.map((s) => [s.key, s.counts])).toEqual([
      ['tiktok', expected((e) => e.list === 'tiktok')],
      ['bytedance', expected((e) => e.list === 'bytedance')],
    ]);
    expect(body.by.list?.series[1]?.total).toBe(7);
  });

  it('applies the same filters as the events API', async () => {
    const body = (await (await timeline(`?${range}&by=action&segment=service&qname=EXAMPLE.tiktok.com&bucket=day`)).json()) as TimelineResult;
    const matching = Array.from({ length: N }, (_, i) => mix(i)).filter((e) => e.segment === 'service' && e.qname.endsWith('.example.tiktok.com'));
    expect(body.buckets).toEqual(['2026-11-28T00:00:00.000Z']);
    expect(body.by.action?.series).toEqual([{ key: 'blocked', counts: [matching.length], total: matching.length }]);
    expect(matching.length).toBeGreaterThan(0);
  });

  it('400s on an unknown parameter, naming the known ones, and on a bad value', async () => {
    const unknown = await timeline(`?${range}&limit=10`);
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ error: 'bad_request', message: `unknown parameter "limit"; known: ${KNOWN_PARAMETERS.join(', ')}` });
    const tooMany = await timeline('?from=2020-01-01&to=2026-01-01');
    expect(tooMany.status).toBe(400);
    expect(((await tooMany.json()) as { message: string }).message).toMatch(/hour buckets; at most 1000: narrow the range or use bucket=day$/);
  });

  it(`counts at most ${MAX_SCANS} timelines at once (503, Retry-After) and recovers`, async () => {
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = 0;
    let bothIn = (): void => {};
    const inside = new Promise<void>((resolve) => (bothIn = resolve));
    const files = new FileAuditReader(auditDir);
    const gated: AuditReader = {
      events: (q) => files.events(q),
      summary: (f) => files.summary(f),
      async *stream(filter: AuditFilter): AsyncIterable<AuditEvent> {
        if (++entered === MAX_SCANS) bothIn();
        await gate;
        yield* files.stream(filter);
      },
    };
    const slow = await start(buildDir, gated);
    const running = Array.from({ length: MAX_SCANS }, () => timeline(`?${range}`, AUDITOR, slow));
    await inside;
    const busy = await timeline(`?${range}`, AUDITOR, slow);
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('1');
    release();
    for (const res of await Promise.all(running)) expect(((await res.json()) as TimelineResult).total).toBe(N);
    expect((await timeline(`?${range}`, AUDITOR, slow)).status).toBe(200);
  });
});
