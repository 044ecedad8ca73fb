// The auditor API over real HTTP on 127.0.0.1 (port 0): auth rules, filters, paging, CSV, summary.
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readyHealth } from '../helpers/health.ts';
import type { AuditEvent } from '../../src/audit/event.ts';
import { configSchema } from '../../src/config/schema.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { ListRegistry } from '../../src/lists/registry.ts';
import { FORMULA_CELL, HOSTILE_QNAMES, RAW_CONTROL, decision, parseCsv, tempDir, writeLog } from '../unit/audit/helpers.ts';

const AUDITOR = 'auditor-token-0123456789abcdef';
const ADMIN = 'admin-token-fedcba9876543210';
const ENV_TOKEN = 'env-token-from-the-environment';
const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

let app: FastifyInstance;
let base: string;
const logLines: string[] = [];

// 40 events: i even → service/blocked (10.10.0.5), odd → personal/logged (pseudonymised 10.20.0.x);
// every 4th one matched list "bytedance"; one per minute from T0.
function mix(i: number): ReturnType<typeof decision> {
  const personal = i % 2 === 1;
  return decision(i, {
    ts: T0 + i * 60_000,
    segment: personal ? 'personal' : 'service',
    action: personal ? 'logged' : 'blocked',
    response: personal ? 'answer' : 'nxdomain',
    pseudonymize: personal,
    client: personal ? `10.20.0.${i % 3}` : '10.10.0.5',
    qname: i % 4 === 0 ? `x${i}.byteoversea.com` : i % 5 === 0 ? `=cmd|x${i}.tiktok.com` : `www${i}.tiktok.com`,
    list: i % 4 === 0 ? 'bytedance' : 'tiktok',
    rule: i % 4 === 0 ? 'byteoversea.com' : 'tiktok.com',
  });
}

beforeAll(async () => {
  const dir = await tempDir('dnsward-audit-api-');
  await writeLog(dir, 40, {}, mix);
  process.env.DNSWARD_TEST_AUDIT_TOKEN = ENV_TOKEN;
  const config = configSchema.parse({
    segments: [{ name: 'default', networks: ['0.0.0.0/0'], action: 'allow' }],
    audit: { dir },
    auth: {
      tokens: [
        { name: 'audit-team', role: 'auditor', token: AUDITOR },
        { name: 'ops', role: 'admin', token: ADMIN },
        { name: 'from-env', role: 'auditor', token_env: 'DNSWARD_TEST_AUDIT_TOKEN' },
      ],
    },
    instance: 'a',
  });
  const logger = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, cb) => (logLines.push(chunk.toString()), cb()) }));
  app = buildHttpApp({ config, logger, metrics: new Registry(), lists: new ListRegistry(), health: readyHealth() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await app?.close();
});

function get(path: string, token?: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(base + path, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
}

async function events(query: string, token = AUDITOR): Promise<{ events: AuditEvent[]; next: string | null }> {
  const res = await get(`/api/audit/events${query}`, token);
  expect(res.status).toBe(200);
  return (await res.json()) as { events: AuditEvent[]; next: string | null };
}

describe('auth', () => {
  it.each(['/api/audit/events', '/api/audit/summary'])('%s: 401 without a token, with a wrong one, or a malformed header', async (path) => {
    const variants: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token' }, { authorization: `Basic ${AUDITOR}` }, { authorization: `Bearer ${AUDITOR}x` }, { authorization: 'Bearer' }];
    for (const headers of variants) {
      const res = await get(path, undefined, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="dnsward"');
      expect(((await res.json()) as { error: string }).error).toBe('unauthorized');
    }
  });

  it('200 for auditor, admin, and a token taken from the environment', async () => {
    for (const token of [AUDITOR, ADMIN, ENV_TOKEN]) {
      expect((await get('/api/audit/events', token)).status).toBe(200);
      expect((await get('/api/audit/summary', token)).status).toBe(200);
    }
  });

  it('403 for a valid token without the role (the admin-only guard)', async () => {
    const { createAuth } = await import('../../src/http/auth.ts');
    const auth = createAuth([{ name: 'audit-team', role: 'auditor', token: AUDITOR }]);
    const Fastify = (await import('fastify')).default;
    const small = Fastify();
    small.get('/admin-only', { preHandler: auth.require('admin') }, async () => ({ ok: true }));
    await small.listen({ host: '127.0.0.1', port: 0 });
    const port = (small.server.address() as { port: number }).port;
    try {
      const forbidden = await fetch(`http://127.0.0.1:${port}/admin-only`, { headers: { authorization: `Bearer ${AUDITOR}` } });
      expect(forbidden.status).toBe(403);
      expect(await forbidden.json()).toEqual({ error: 'forbidden', message: 'token "audit-team" has role auditor; this needs role admin' });
      expect((await fetch(`http://127.0.0.1:${port}/admin-only`)).status).toBe(401);
    } finally {
      await small.close();
    }
  });

  it('health stays public', async () => {
    expect((await get('/healthz')).status).toBe(200);
  });

  it('never logs a token, right or wrong', async () => {
    await get('/api/audit/events', 'wrong-token-value-123');
    await get('/api/audit/events', AUDITOR);
    const all = logLines.join('');
    expect(all).toContain('unauthorized request');
    for (const secret of [AUDITOR, ADMIN, ENV_TOKEN, 'wrong-token-value-123']) expect(all).not.toContain(secret);
  });

  it('refuses to start when a token_env variable is unset, naming the key', async () => {
    const { createAuth } = await import('../../src/http/auth.ts');
    expect(() => createAuth([{ name: 'x', role: 'auditor', token_env: 'DNSWARD_TEST_SURELY_UNSET' }])).toThrow(
      'auth.tokens[0].token_env: environment variable DNSWARD_TEST_SURELY_UNSET (token "x") is not set',
    );
  });
});

describe('GET /api/audit/events', () => {
  it('returns events oldest first with the schema fields, 100 by default, next null at the end', async () => {
    const page = await events('');
    expect(page.events).toHaveLength(40);
    expect(page.next).toBeNull();
    expect(page.events.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(Object.keys(page.events[0]!)).toEqual(['ts', 'instance', 'segment', 'client', 'qname', 'qtype', 'action', 'list', 'rule', 'list_version', 'response', 'transport', 'seq', 'prev', 'hash']);
  });

  it('pages with limit and cursor without losing or repeating an event', async () => {
    const seen: number[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const page = await events(`?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.events.map((e) => e.seq));
      cursor = page.next;
      pages++;
    }
    expect(pages).toBe(6);
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('filters by segment, action, list, client and qname suffix (label boundary)', async () => {
    expect((await events('?segment=service')).events.every((e) => e.segment === 'service')).toBe(true);
    expect((await events('?segment=service')).events).toHaveLength(20);
    expect((await events('?action=logged')).events).toHaveLength(20);
    expect((await events('?list=bytedance')).events).toHaveLength(10);
    expect((await events('?client=10.10.0.5')).events).toHaveLength(20);
    expect((await events('?qname=byteoversea.com')).events).toHaveLength(10);
    expect((await events('?qname=BYTEOVERSEA.COM.')).events).toHaveLength(10);
    expect((await events('?qname=eoversea.com')).events).toHaveLength(0);
    expect((await events('?qname=www3.tiktok.com')).events.map((e) => e.seq)).toEqual([4]);
    expect((await events('?segment=personal&list=bytedance')).events).toHaveLength(0);
  });

  it('filters by time: from inclusive, to exclusive, ISO or epoch ms', async () => {
    const from = new Date(T0 + 10 * 60_000).toISOString();
    const to = new Date(T0 + 20 * 60_000).toISOString();
    const page = await events(`?from=${from}&to=${to}`);
    expect(page.events.map((e) => e.seq)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect((await events(`?from=${T0 + 39 * 60_000}`)).events.map((e) => e.seq)).toEqual([40]);
    expect((await events('?from=2026-11-29')).events).toHaveLength(0);
  });

  it('shows pseudonyms, never addresses, for pseudonymised segments; the same device maps to the same pseudonym', async () => {
    const res = await get('/api/audit/events?segment=personal', AUDITOR);
    const text = await res.text();
    expect(text).not.toContain('10.20.0.');
    const page = JSON.parse(text) as { events: AuditEvent[] };
    const bySource = new Map<number, Set<string>>();
    for (const e of page.events) {
      expect(e.client).toMatch(/^anon:[0-9a-f]{16}$/);
      const source = (e.seq - 1) % 3;
      bySource.set(source, (bySource.get(source) ?? new Set()).add(e.client));
    }
    expect([...bySource.values()].map((s) => s.size)).toEqual([1, 1, 1]);
    expect(new Set([...bySource.values()].flatMap((s) => [...s])).size).toBe(3);
    // Filtering by the address does not reveal which pseudonym it is.
    expect((await events('?client=10.20.0.1')).events).toHaveLength(0);
    const pseudonym = page.events[0]!.client;
    expect((await events(`?client=${pseudonym}`)).events.length).toBeGreaterThan(1);
  });

  it('answers CSV with a header row for format=csv and for Accept: text/csv, neutralising formula cells', async () => {
    for (const [query, headers] of [['?format=csv&limit=5', {}], ['?limit=5', { accept: 'text/csv' }]] as const) {
      const res = await get(`/api/audit/events${query}`, AUDITOR, headers);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(res.headers.get('x-next-cursor')).toBeTruthy();
      const rows = (await res.text()).split('\r\n').filter((l) => l !== '');
      expect(rows[0]).toBe('ts,instance,segment,client,qname,qtype,action,list,rule,list_version,response,transport,seq,prev,hash');
      expect(rows).toHaveLength(6);
      expect(rows[1]).toMatch(/^2026-11-28T10:00:00.000Z,a,service,10.10.0.5,x0.byteoversea.com,A,blocked,bytedance,byteoversea.com,/);
    }
    const res = await get('/api/audit/events?format=csv&qname=tiktok.com&segment=personal&list=tiktok', AUDITOR);
    const csv = await res.text();
    // DNS presentation form: "=" and "|" become \061 and \124, so the cell cannot be a formula.
    expect(csv).toContain(',\\061cmd\\124x5.tiktok.com,');
    expect(csv).not.toContain('=cmd');
  });

  it('rejects bad parameters with 400 and a message naming the parameter', async () => {
    for (const [query, message] of [
      ['?action=allowed', 'action: "allowed" is not valid'],
      ['?limit=0', 'limit: "0" is not valid'],
      ['?limit=5000', 'limit: "5000" is not valid'],
      ['?from=yesterday', 'from: "yesterday" is not a time'],
      ['?format=xml', 'format: "xml" is not valid'],
      ['?cursor=bm9wZQ', 'cursor is not valid'],
      ['?segment=a&segment=b', 'segment: give it once'],
      [`?from=${T0 + 1000}&to=${T0}`, 'from must be before to'],
    ] as const) {
      const res = await get(`/api/audit/events${query}`, AUDITOR);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { message: string }).message).toContain(message);
    }
  });
});

describe('unknown parameters', () => {
  it.each([
    ['/api/audit/events?sgment=service', 'unknown parameter "sgment"; known: from, to, segment, action, list, client, qname, limit, cursor, format'],
    ['/api/audit/summary?segment=service&actoin=blocked', 'unknown parameter "actoin"; known: from, to, segment, action, list, client, qname'],
    ['/api/audit/summary?limit=5', 'unknown parameter "limit"'],
  ])('%s: 400 naming the known ones (a typo never widens the answer)', async (path, message) => {
    const res = await get(path, AUDITOR);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toContain(message);
  });
});

describe('CSV with names from the network', () => {
  it('has no formula cell and no raw control character, read with "," or with ";" (Belgian locales)', async () => {
    const dir = await tempDir('dnsward-audit-api-csv-');
    await writeLog(dir, HOSTILE_QNAMES.length, {}, (i) =>
      decision(i, { qname: HOSTILE_QNAMES[i]!, rule: i % 2 ? `cname:${HOSTILE_QNAMES[i]!}` : 'tiktok.com', segment: i === 0 ? '=seg' : 'service', list: i === 1 ? '+list;=x' : 'tiktok' }),
    );
    const config = configSchema.parse({ segments: [{ name: 'default', networks: ['0.0.0.0/0'], action: 'allow' }], audit: { dir }, auth: { tokens: [{ name: 'a', role: 'auditor', token: AUDITOR }] }, instance: 'a' });
    const small = buildHttpApp({ config, logger: pino({ level: 'silent' }), metrics: new Registry(), lists: new ListRegistry(), health: readyHealth() });
    await small.listen({ host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`http://127.0.0.1:${(small.server.address() as { port: number }).port}/api/audit/events?format=csv`, { headers: { authorization: `Bearer ${AUDITOR}` } });
      const csv = await res.text();
      expect(csv).not.toMatch(RAW_CONTROL);
      for (const sep of [',', ';'] as const) {
        const rows = parseCsv(csv, sep);
        expect(rows).toHaveLength(HOSTILE_QNAMES.length + 1);
        for (const cell of rows.flat()) expect(cell, `${sep}: ${cell}`).not.toMatch(FORMULA_CELL);
      }
      const rows = parseCsv(csv, ',');
      expect(rows.map((r) => r.length)).toEqual(rows.map(() => 15));
      // DNS presentation form: the query of the issue, inert.
      expect(rows[1]![4]).toBe('x\\059\\061cmd\\124\\039\\032\\047C\\032calc\\039\\033A0\\059y.tiktok.com');
      expect(rows[3]![4]).toBe('\\027\\09131mred\\007\\000.tiktok.com');
      expect(rows[2]![8]).toBe('cname:a\\044\\0611\\0431\\044b.tiktok.com');
      expect(rows[1]![2]).toBe("'=seg");
      expect(rows[2]![7]).toBe("'+list\\059=x");
      // JSON stays as it is: the same names, exactly.
      const json = await fetch(`http://127.0.0.1:${(small.server.address() as { port: number }).port}/api/audit/events`, { headers: { authorization: `Bearer ${AUDITOR}` } });
      expect(((await json.json()) as { events: AuditEvent[] }).events.map((e) => e.qname)).toEqual(HOSTILE_QNAMES);
    } finally {
      await small.close();
    }
  });
});

describe('GET /api/audit/summary', () => {
  it('counts per segment, action and list over a range', async () => {
    const res = await get(`/api/audit/summary?from=${new Date(T0).toISOString()}&to=${new Date(T0 + 3_600_000).toISOString()}`, AUDITOR);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      total: 40,
      by_segment: { service: 20, personal: 20 },
      by_action: { blocked: 20, logged: 20 },
      by_list: { tiktok: 30, bytedance: 10 },
    });
    expect(body.rows).toEqual([
      { segment: 'personal', action: 'logged', list: 'tiktok', count: 20 },
      { segment: 'service', action: 'blocked', list: 'bytedance', count: 10 },
      { segment: 'service', action: 'blocked', list: 'tiktok', count: 10 },
    ]);
  });

  it('takes the same filters, and defaults to the last 24 hours', async () => {
    const res = await get(`/api/audit/summary?from=${T0}&to=${T0 + 3_600_000}&segment=service`, AUDITOR);
    expect(((await res.json()) as { total: number }).total).toBe(20);
    const recent = (await (await get('/api/audit/summary', AUDITOR)).json()) as { total: number; from: string; to: string };
    expect(recent.total).toBe(0);
    expect(Date.parse(recent.to) - Date.parse(recent.from)).toBe(86_400_000);
  });
});
