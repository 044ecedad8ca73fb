// Hot reload: POST /api/reload and SIGHUP re-read the config file and the lists, install the
// new policy with no query failing, and refuse a bad config or list (the old policy stays).
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.ts';
import { buildQuery, queryUdp } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer } from '../helpers/dnsward-server.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';

const ADMIN = 'a'.repeat(32);
const AUDITOR = 'b'.repeat(32);

/** A config file in `dir` (with its own copy of lists/), `service` (127.0.0.2) blocking or logging tiktok. */
function configText(upstreamPort: number, dir: string, action: 'block' | 'log', extra = ''): string {
  return [
    'dns: { listen: ["127.0.0.1:0"], allow: ["127.0.0.0/8"], rate_limit: { enabled: false }, query_timeout_ms: 1500 }',
    `upstreams: ["127.0.0.1:${upstreamPort}"]`,
    'lists: { dir: lists }',
    'segments:',
    `  - { name: service, networks: ["127.0.0.2/32"], action: ${action}, lists: [tiktok] }`,
    '  - { name: default, networks: ["0.0.0.0/0", "::/0"], action: allow }',
    'http: { enabled: false }',
    'api: { listen: "127.0.0.1:0" }',
    `audit: { dir: "${join(dir, 'audit')}", signing_key_file: "${join(dir, 'keys/s.key')}", pseudonym_secret_file: "${join(dir, 'keys/p.key')}", fsync: false }`,
    `auth: { tokens: [{ name: ops, role: admin, token: "${ADMIN}" }, { name: reader, role: auditor, token: "${AUDITOR}" }] }`,
    'instance: reload-test',
    extra,
  ].join('\n');
}

describe('reload (in process, from the config file)', () => {
  let upstream: StubUpstream;
  let server: TestServer;
  let dir: string;
  let file: string;
  let api: string;

  beforeAll(async () => {
    upstream = await new StubUpstream().start();
    dir = await mkdtemp(join(tmpdir(), 'dnsward-reload-'));
    await cp(resolve('lists'), join(dir, 'lists'), { recursive: true });
    file = join(dir, 'dnsward.yaml');
    await writeFile(file, configText(upstream.port, dir, 'block'));
    server = await startTestServer(await loadConfigFile(file), { loadConfig: () => loadConfigFile(file) });
    api = `http://127.0.0.1:${server.app.api?.port}`;
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.stop();
  });

  const reload = (token: string) => fetch(`${api}/api/reload`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  const ask = async (name: string) => (await queryUdp(server.port, { name, from: '127.0.0.2' })).rcode;

  it('needs an admin token: 401 without, 403 for an auditor', async () => {
    expect((await fetch(`${api}/api/reload`, { method: 'POST' })).status).toBe(401);
    expect((await reload(AUDITOR)).status).toBe(403);
  });

  it('installs a changed policy under continuous queries with none failing', async () => {
    expect(await ask('www.tiktok.com')).toBe(3);
    const generation = server.app.resolver.currentPolicy.generation;
    // 8 clients keep asking a listed and an unlisted name while the config changes under them.
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.2', () => r()));
    const answers = new Map<number, number>();
    socket.on('message', (m) => answers.set(m.readUInt16BE(0), m.readUInt16BE(2) & 0xf));
    let sent = 0;
    let running = true;
    const traffic = (async () => {
      while (running) {
        for (let i = 0; i < 20; i++, sent++) socket.send(buildQuery({ name: sent % 2 ? 'www.tiktok.com' : 'example.org', id: sent }), server.port, '127.0.0.1');
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    await writeFile(file, configText(upstream.port, dir, 'log'));
    const res = await reload(ADMIN);
    const body = (await res.json()) as { ok: boolean; message: string; restartNeeded: string[]; policyGeneration: number };
    await new Promise((r) => setTimeout(r, 100));
    running = false;
    await traffic;
    await new Promise((r) => setTimeout(r, 300));
    socket.close();
    expect(res.status).toBe(200);
    expect(body.ok).toBe(true);
    expect(body.message).toContain('segments');
    expect(body.restartNeeded).toEqual([]);
    expect(body.policyGeneration).toBeGreaterThan(generation);
    // Every query answered; the listed name NXDOMAIN before, NOERROR (logged) after; nothing else.
    expect(answers.size).toBe(sent);
    expect([...answers.values()].every((rcode) => rcode === 0 || rcode === 3)).toBe(true);
    expect(await ask('www.tiktok.com')).toBe(0);
    expect(server.logs.some((l) => l.msg === 'reload: new config and lists in force' && l.requestedBy === 'api:ops')).toBe(true);
  });

  it('refuses a config with a typo, says why, and keeps the policy in force', async () => {
    const before = server.app.resolver.currentPolicy;
    await writeFile(file, configText(upstream.port, dir, 'block').replace('action: block', 'action: blokc'));
    const res = await reload(ADMIN);
    const body = (await res.json()) as { ok: boolean; message: string };
    expect(res.status).toBe(409);
    expect(body.ok).toBe(false);
    expect(body.message).toContain('segments[0].action: "blokc" is not valid');
    expect(server.app.resolver.currentPolicy).toBe(before);
    expect(await ask('www.tiktok.com')).toBe(0);
    expect(server.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('reload refused, the policy in force stays') && l.level === 50)).toBe(true);
  });

  it('refuses a list with a bad line, naming file:line, and keeps the policy in force', async () => {
    const before = server.app.resolver.currentPolicy;
    await writeFile(file, configText(upstream.port, dir, 'block'));
    await writeFile(join(dir, 'lists', 'extra.list'), '# title: extra\nnot a domain!  2026-12-01  X\n');
    const res = await reload(ADMIN);
    const body = (await res.json()) as { ok: boolean; message: string };
    expect(res.status).toBe(409);
    expect(body.message).toMatch(/extra\.list:2/);
    expect(server.app.resolver.currentPolicy).toBe(before);
    await writeFile(join(dir, 'lists', 'extra.list'), '# title: extra\n');
  });

  it('reports keys that need a restart, and applies the rest', async () => {
    await writeFile(file, configText(upstream.port, dir, 'block').replace('query_timeout_ms: 1500', 'query_timeout_ms: 2000'));
    const res = await reload(ADMIN);
    const body = (await res.json()) as { ok: boolean; restartNeeded: string[] };
    expect(body.ok).toBe(true);
    expect(body.restartNeeded).toEqual(['dns.query_timeout_ms']);
    expect(await ask('www.tiktok.com')).toBe(3);
  });
});

describe('reload on SIGHUP (dnsward serve)', () => {
  it('re-reads the file on SIGHUP; a refused file is logged and the process keeps serving', async () => {
    const upstream = await new StubUpstream().start();
    const dir = await mkdtemp(join(tmpdir(), 'dnsward-sighup-'));
    await cp(resolve('lists'), join(dir, 'lists'), { recursive: true });
    const file = join(dir, 'dnsward.yaml');
    await writeFile(file, configText(upstream.port, dir, 'block'));
    const child = spawn(process.execPath, [resolve('bin/dnsward'), 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      for (let i = 0; i < 200 && !out.includes('dnsward ready'); i++) await new Promise((r) => setTimeout(r, 50));
      const port = Number(/"dns":\["127\.0\.0\.1:(\d+)"/.exec(out)?.[1]);
      const ask = async () => (await queryUdp(port, { name: 'www.tiktok.com', from: '127.0.0.2' })).rcode;
      expect(await ask()).toBe(3);

      await writeFile(file, configText(upstream.port, dir, 'log'));
      child.kill('SIGHUP');
      for (let i = 0; i < 100 && !out.includes('reload: new config and lists in force'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(await ask()).toBe(0);

      await writeFile(file, 'segments: [');
      child.kill('SIGHUP');
      for (let i = 0; i < 100 && !out.includes('reload refused'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain('reload refused, the policy in force stays: the new config is refused');
      expect(child.exitCode).toBeNull();
      expect(await ask()).toBe(0);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await upstream.stop();
    }
  });
});
