// The auditor dashboard in a real browser (Debian's chromium driven by playwright-core) against
// a real replica: block-log events come from real DNS queries (blocked and log-only, two
// segments, two lists, qnames holding HTML and a control character). The test builds the
// bundle as `npm run build` does, then: a wrong token shows nothing and says why; login;
// table, charts and fleet panel (from /api/fleet) have content;
// filter; page; CSV export read back from the download; the fleet panel against the
// /api/fleet contract; the token never leaves sessionStorage except in the header.
// Screenshot: test-artifacts/dashboard.png (and dashboard-fleet.png) at the repository root.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard } from '../../src/http/dashboard/build.ts';
import { CONTENT_SECURITY_POLICY } from '../../src/http/routes/dashboard.ts';
import { queryUdp } from '../helpers/dns-client.ts';
import { startTestServer, testConfig, type TestServer } from '../helpers/dnsward-server.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';

/** The page's document, as far as the functions these tests run in chromium use it (DOM types stay out of the Node type check). */
declare const document: { body: { dataset: Record<string, string | undefined> }; getElementById(id: string): { textContent: string | null } | null };

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const AUDITOR = 'dashboard-auditor-token-5f2c9a1e7b';
const SERVICE = '127.0.0.2';
const PERSONAL = '127.0.0.3';
const OTHER = '127.0.0.1';

const HTML_QNAME = '<b>bold</b>.tiktok.com';
const SCRIPT_QNAME = '<script>alert(1)</script>.tiktok.com';
const BELL_QNAME = 'bell\u0007.tiktok.com';
/** [source, qname, qtype]: 7 blocked on service, 5 logged on personal, 2 allowed (no event). */
const QUERIES: [string, string, number][] = [
  [SERVICE, 'tiktok.com', 1],
  [SERVICE, 'www.tiktok.com', 28],
  [SERVICE, HTML_QNAME, 1],
  [SERVICE, BELL_QNAME, 1],
  [SERVICE, 'capcut.com', 1],
  [SERVICE, 'api.tiktokv.com', 1],
  [SERVICE, 'musical.ly', 1],
  [PERSONAL, 'tiktok.com', 1],
  [PERSONAL, 'm.tiktok.com', 1],
  [PERSONAL, 'www.capcut.com', 1],
  [PERSONAL, SCRIPT_QNAME, 1],
  [PERSONAL, 'v16.tiktokcdn.com', 1],
  [OTHER, 'tiktok.com', 1],
  [OTHER, 'example.com', 1],
];
const EVENTS = 12;

let upstream: StubUpstream;
let server: TestServer;
let base: string;
let userDataDir: string;
let context: BrowserContext;
let page: Page;
const requested: string[] = [];
const consoleLines: string[] = [];

interface Readyz {
  instance: string;
  lists: { name: string; version: string; entries: number }[];
}

async function apiEvents(query = ''): Promise<{ qname: string }[]> {
  const res = await fetch(`${base}/api/audit/events?limit=1000${query}`, { headers: { authorization: `Bearer ${AUDITOR}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: { qname: string }[] }).events;
}

beforeAll(async () => {
  await buildDashboard();
  upstream = await new StubUpstream().start();
  server = await startTestServer(
    testConfig(upstream.port, {
      segments: [
        { name: 'service', networks: ['127.0.0.2/32'], action: 'block', lists: ['tiktok', 'bytedance'] },
        { name: 'personal', networks: ['127.0.0.3/32'], action: 'log', lists: ['tiktok', 'bytedance'], pseudonymize: true },
        { name: 'default', networks: ['0.0.0.0/0', '::/0'], action: 'allow' },
      ],
      auth: { tokens: [{ name: 'audit-team', role: 'auditor', token: AUDITOR }] },
    }),
  );
  const api = server.app.api;
  if (!api) throw new Error('the private API is not listening');
  base = `http://${api.host}:${api.port}`;
  for (const [from, name, type] of QUERIES) await queryUdp(server.port, { name, type, from });
  // The block log is flushed every flush_interval_ms: wait until the API sees every event.
  for (let i = 0; i < 100 && (await apiEvents()).length < EVENTS; i++) await new Promise((r) => setTimeout(r, 100));
  expect((await apiEvents()).map((e) => e.qname)).toContain(HTML_QNAME);

  userDataDir = await mkdtemp(join(tmpdir(), 'dnsward-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    acceptDownloads: true,
    viewport: { width: 1400, height: 1100 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('request', (request) => requested.push(request.url()));
  page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()} @ ${message.location().url}`));
  page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
}, 60_000);

afterAll(async () => {
  await context?.close();
  await server?.stop();
  await upstream?.stop();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

async function settled(): Promise<string> {
  await page.waitForFunction(() => ['login', 'ready', 'error'].includes(document.body.dataset.state ?? ''), undefined, { timeout: 15_000 });
  return page.evaluate(() => document.body.dataset.state ?? '');
}

async function tableRows(): Promise<Record<string, string>[]> {
  return page.$$eval('#events-body tr.event', (rows) =>
    rows.map((row) => Object.fromEntries([...row.querySelectorAll('td')].map((td) => [td.dataset.col ?? '', td.textContent ?? '']))),
  );
}

async function submitFilter(values: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(values)) {
    const field = page.locator(`#filters [name="${name}"]`);
    if ((await field.evaluate((node) => node.tagName)) === 'SELECT') await field.selectOption(value);
    else await field.fill(value);
  }
  await page.click('#filters button[type=submit]');
  expect(await settled()).toBe('ready');
}

describe('the dashboard in chromium', () => {
  it('is served static with a strict policy, and a wrong token shows nothing and says why', async () => {
    const response = await page.goto(`${base}/dashboard`);
    expect(response?.status()).toBe(200);
    const headers = response?.headers() ?? {};
    expect(headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(headers['content-security-policy']).toContain("script-src 'self'");
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(await settled()).toBe('login');
    expect(await page.isVisible('#data')).toBe(false);

    await page.fill('#token', 'not-the-token');
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => (document.getElementById('login-error')?.textContent ?? '') !== '');
    expect(await settled()).toBe('login');
    expect(await page.textContent('#login-error')).toMatch(/did not accept this token \(401 Unauthorized\)/);
    expect(await page.isVisible('#data')).toBe(false);
    expect(await page.locator('#events-body tr').count()).toBe(0);
    expect(await page.locator('#fleet-body *').count()).toBe(0);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });

  it('logs in and shows the table, both charts and the fleet panel (from /api/fleet)', async () => {
    await page.fill('#token', AUDITOR);
    await page.click('#login-form button[type=submit]');
    expect(await settled()).toBe('ready');
    expect(await page.isVisible('#login')).toBe(false);
    expect(await page.textContent('#totals')).toContain(`${EVENTS} events`);

    const rows = await tableRows();
    expect(rows).toHaveLength(EVENTS);
    expect(rows.filter((r) => r.segment === 'service' && r.action === 'blocked')).toHaveLength(7);
    expect(rows.filter((r) => r.segment === 'personal' && r.action === 'logged')).toHaveLength(5);
    expect(rows.filter((r) => r.segment === 'personal').every((r) => r.client?.startsWith('anon:'))).toBe(true);
    // Markup in a qname is shown as text, never parsed; a control character is shown escaped.
    expect(rows.map((r) => r.qname)).toEqual(expect.arrayContaining([HTML_QNAME, SCRIPT_QNAME, 'bell\\007.tiktok.com']));
    expect(await page.locator('#events-body b, #events-body script').count()).toBe(0);

    for (const [chart, keys] of [['#chart-segment', ['service', 'personal']], ['#chart-list', ['tiktok', 'bytedance']]] as const) {
      expect(await page.locator(`${chart} svg rect.bar`).count()).toBeGreaterThan(0);
      expect(await page.locator(`${chart} .legend .key`).allTextContents()).toEqual(expect.arrayContaining([...keys]));
    }
    const bars = await page.$$eval('#chart-segment rect.bar title', (titles) => titles.map((t) => Number(/: (\d+)$/.exec(t.textContent ?? '')?.[1] ?? 0)));
    expect(bars.reduce((a, b) => a + b, 0)).toBe(EVENTS);

    // GET /api/fleet (issue 11): a replica on its own is a fleet of one.
    const readyz = (await (await fetch(`${base}/readyz`)).json()) as Readyz;
    expect(await page.getAttribute('#fleet-source', 'data-source')).toBe('/api/fleet');
    expect(await page.textContent('#fleet-source')).toBe('Source: GET /api/fleet, 1 replica; every replica runs the same list versions.');
    expect(requested.some((url) => url.endsWith('/api/fleet'))).toBe(true);
    expect(await page.textContent('#replicas tbody')).toContain(readyz.instance);
    const tiktok = readyz.lists.find((l) => l.name === 'tiktok');
    expect(tiktok).toBeDefined();
    expect(await page.textContent('#list-versions tr[data-list="tiktok"]')).toContain(tiktok?.version);
  });

  it('filters by segment, action and domain', async () => {
    await submitFilter({ segment: 'service', action: 'blocked', qname: 'tiktok.com' });
    const rows = await tableRows();
    const expected = (await apiEvents('&segment=service&action=blocked&qname=tiktok.com')).map((e) => e.qname);
    expect(expected).toHaveLength(4);
    expect(rows.map((r) => r.qname)).toEqual(expected.map((q) => q.replace('\u0007', '\\007')));
    expect(rows.every((r) => r.segment === 'service' && r.action === 'blocked' && (r.qname === 'tiktok.com' || r.qname?.endsWith('.tiktok.com')))).toBe(true);
    expect(await page.locator('#chart-segment .legend .key').allTextContents()).toEqual(['service']);

    await submitFilter({ segment: '', action: 'logged', qname: '' });
    expect((await tableRows()).map((r) => r.segment)).toEqual(['personal', 'personal', 'personal', 'personal', 'personal']);
  });

  it('pages through the log', async () => {
    await submitFilter({ action: '', limit: '10' });
    expect(await tableRows()).toHaveLength(10);
    expect(await page.isDisabled('#prev')).toBe(true);
    await page.click('#next');
    expect(await settled()).toBe('ready');
    expect(await tableRows()).toHaveLength(EVENTS - 10);
    expect(await page.textContent('#page-info')).toBe(`Page 2: events 11–${EVENTS}`);
    expect(await page.isDisabled('#next')).toBe(true);
    await page.click('#prev');
    expect(await settled()).toBe('ready');
    expect(await tableRows()).toHaveLength(10);
  });

  it('exports the filtered log as CSV (fetched with the header, saved from a Blob)', async () => {
    await submitFilter({ segment: 'service', limit: '100' });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    expect(download.url()).toMatch(/^blob:/);
    expect(download.suggestedFilename()).toMatch(/^dnsward-audit-\d{8}T\d{6}Z\.csv$/);
    const csv = await readFile(await download.path(), 'utf8');
    const lines = csv.split('\r\n').filter((l) => l !== '');
    expect(lines[0]).toMatch(/^ts,instance,segment,client,qname,/);
    expect(lines).toHaveLength(1 + 7);
    expect(lines.slice(1).every((l) => l.split(',')[2] === 'service')).toBe(true);
    // Names are written in DNS presentation form with \DDD escapes (inert in spreadsheets, docs/AUDIT.md).
    expect(csv).toContain('\\060b\\062bold\\060\\047b\\062.tiktok.com');
    expect(csv).not.toContain(HTML_QNAME);
    await page.waitForFunction(() => (document.getElementById('status')?.textContent ?? '').startsWith('Exported'));
    expect(await page.textContent('#status')).toBe('Exported 7 events.');
  });

  it('stops one export at 100,000 events and says so', async () => {
    // 100 pages of 1000 events would take a big log: the browser is given pages that always say "more".
    let served = 0;
    await page.route('**/api/audit/events?*format=csv*', (route) => {
      served++;
      return route.fulfill({ status: 200, headers: { 'content-type': 'text/csv', 'x-next-cursor': `c${served}` }, body: `ts,qname\r\n2026-11-28T10:00:00.000Z,n${served}.tiktok.com\r\n` });
    });
    try {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
      const csv = await readFile(await download.path(), 'utf8');
      expect(served).toBe(100);
      expect(csv.split('\r\n').filter((l) => l !== '')).toHaveLength(1 + 100);
      await page.waitForFunction(() => (document.getElementById('status')?.textContent ?? '').startsWith('Exported'));
      expect(await page.textContent('#status')).toBe('Exported 100 events. The export stops at 100,000 events: narrow the filter, or use dnsward audit export.');
    } finally {
      await page.unroute('**/api/audit/events?*format=csv*');
    }
  });

  it('keeps the token in sessionStorage and the Authorization header only; no policy violation; screenshot', async () => {
    await submitFilter({ segment: '' });
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([AUDITOR]);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(await context.cookies()).toEqual([]);
    expect(requested.length).toBeGreaterThan(10);
    expect(requested.filter((url) => url.includes(AUDITOR) || url.includes(encodeURIComponent(AUDITOR)))).toEqual([]);
    expect(page.url()).toBe(`${base}/dashboard`);
    // The browser logs failed fetches: only the wrong token's 401 is expected.
    const problems = consoleLines.filter((l) => !/401 \(Unauthorized\) @ .*\/api\/audit\/summary\?/.test(l));
    expect(problems).toEqual([]);
  });

  it('shows the fleet view from GET /api/fleet by its contract (issue 11), and a version mismatch', async () => {
    // Two replicas, one behind: the browser is given the view in its documented shape.
    await page.route('**/api/fleet', (route) =>
      route.fulfill({
        json: {
          replicas: [
            { instance: 'a', version: '0.1.0', self: true, lists: [{ name: 'tiktok', version: 'v1', entries: 10 }], last_heartbeat: '2026-11-28T10:00:00.000Z', redis: 'up', audit: { written: 5, spooled: 0 } },
            { instance: 'b<i>', version: '0.1.0', self: false, lists: [{ name: 'tiktok', version: 'v2', entries: 11 }], last_heartbeat: '2026-11-28T09:59:58.000Z', redis: 'down', audit: { written: 3, spooled: 2 } },
          ],
          consistent: false,
        },
      }),
    );
    try {
      await page.reload();
      expect(await settled()).toBe('ready');
      expect(await page.getAttribute('#fleet-source', 'data-source')).toBe('/api/fleet');
      expect(await page.textContent('#fleet-body')).toContain('The replicas do not run the same list versions.');
      expect(await page.locator('#replicas tbody tr').allTextContents()).toEqual([
        'a (this one)0.1.0tiktok v12026-11-28T10:00:00.000Zup5 written, 0 spooled',
        'b<i>0.1.0tiktok v22026-11-28T09:59:58.000Zdown3 written, 2 spooled',
      ]);
      expect(await page.locator('#list-versions tr.differs').count()).toBe(2);
      expect(await page.locator('#fleet-body i').count()).toBe(0);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-fleet.png'), fullPage: true });
    } finally {
      await page.unroute('**/api/fleet');
    }
  });

  it('keeps the session when only the fleet view is forbidden (403), and says why it shows /readyz', async () => {
    await page.route('**/api/fleet', (route) => route.fulfill({ status: 403, json: { error: 'forbidden', message: 'this needs role admin' } }));
    try {
      await page.reload();
      expect(await settled()).toBe('ready');
      expect(await page.textContent('#fleet-source')).toBe('Source: GET /readyz, this replica only (this token may not read GET /api/fleet (403)).');
      expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([AUDITOR]);
      expect(await tableRows()).toHaveLength(EVENTS);
    } finally {
      await page.unroute('**/api/fleet');
    }
  });

  it('empties the page and forgets the token on a 403 too', async () => {
    // No configured role lacks audit access (admin includes auditor): the browser is given the 403 the API would send.
    await page.route('**/api/audit/events?*', (route) => route.fulfill({ status: 403, json: { error: 'forbidden', message: 'token "x" has role y; this needs role auditor' } }));
    try {
      await page.click('#filters button[type=submit]');
      expect(await settled()).toBe('login');
      expect(await page.textContent('#login-error')).toBe('This token may not read the block log (403 Forbidden): token "x" has role y; this needs role auditor. Use a token with role auditor or admin.');
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
      expect(await page.isVisible('#data')).toBe(false);
      expect(await page.locator('#events-body tr').count()).toBe(0);
    } finally {
      await page.unroute('**/api/audit/events?*');
    }
    await page.fill('#token', AUDITOR);
    await page.click('#login-form button[type=submit]');
    expect(await settled()).toBe('ready');
  });

  it('forgets the token on request', async () => {
    await page.click('#logout');
    expect(await settled()).toBe('login');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await page.isVisible('#data')).toBe(false);
    expect(await page.locator('#events-body tr').count()).toBe(0);
  });
});
