// The collateral guard against a hostile subscribed list: the real dnsward subscribes to a hosts
// file on 127.0.0.1 that carries what large public TikTok lists wrongly carry (Alibaba Cloud,
// Taobao, Akamai's apex, an AWS name server, Google's parent domain, Firebase) next to TikTok
// names. The shared infrastructure keeps resolving, TikTok is blocked, and the drop is logged
// once per list version, counted in dnsward_list_guarded_entries and shown in /lists.
import { createServer, type Server } from 'node:http';
import { appendFile, copyFile, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryUdp } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';

const SERVICE = '127.0.0.2';
const HOSTILE = [
  '# Title: A large public TikTok list',
  '0.0.0.0 tiktok.com',
  '0.0.0.0 tiktokv.com',
  '0.0.0.0 extra-tracker.example',
  '0.0.0.0 aliyuncs.com',
  '0.0.0.0 taobao.com',
  '0.0.0.0 akamaized.net',
  '0.0.0.0 p16-tiktokcdn-com.akamaized.net',
  '0.0.0.0 app-measurement.com',
  '0.0.0.0 ns-440.awsdns-55.com',
  '||google.com^',
  '||co.uk^',
  '',
].join('\n');
const DROPPED = ['akamaized.net', 'aliyuncs.com', 'app-measurement.com', 'co.uk', 'google.com', 'ns-440.awsdns-55.com', 'taobao.com'];

let feed: Server;
let feedUrl: string;
let upstream: StubUpstream;
let server: TestServer;

beforeAll(async () => {
  feed = createServer((req, res) => {
    if (req.url === '/tiktok-hosts.txt') res.writeHead(200, { 'content-type': 'text/plain', etag: '"v1"' }).end(HOSTILE);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => feed.listen(0, '127.0.0.1', resolve));
  const address = feed.address();
  feedUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/tiktok-hosts.txt`;
  upstream = await new StubUpstream().start();
  const cacheDir = await mkdtemp(join(tmpdir(), 'dnsward-guard-'));
  server = await startTestServer(
    testConfig(upstream.port, {
      lists: { dir: 'lists', cache_dir: cacheDir, sources: [{ name: 'hostile', url: feedUrl, refresh: '1h' }] },
      segments: [
        { name: 'service', networks: ['127.0.0.2/32'], action: 'block', lists: ['tiktok', 'hostile'] },
        { name: 'default', networks: ['0.0.0.0/0', '::/0'], action: 'allow' },
      ],
    }),
  );
});

afterAll(async () => {
  await server?.stop();
  await upstream?.stop();
  await new Promise<void>((resolve) => feed?.close(() => resolve()));
});

async function rcode(name: string): Promise<number> {
  return (await queryUdp(server.port, { name, from: SERVICE })).rcode;
}

describe('a hostile subscribed list', () => {
  it('keeps shared infrastructure resolving and still blocks what is TikTok\'s', async () => {
    for (const name of ['www.aliyuncs.com', 'oss-cn-beijing.aliyuncs.com', 'taobao.com', 'p16-other.akamaized.net', 'akamaized.net', 'app-measurement.com', 'ns-440.awsdns-55.com', 'play.google.com', 'google.com', 'www.bbc.co.uk']) {
      expect(await rcode(name), name).toBe(0);
    }
    for (const name of ['tiktok.com', 'api.tiktokv.com', 'extra-tracker.example', 'x.extra-tracker.example', 'p16-tiktokcdn-com.akamaized.net']) {
      expect(await rcode(name), name).toBe(3);
    }
  });

  it('enforces the source as a version of its own that says what was dropped and which never-block name each would block', () => {
    const hostile = server.app.lists.get('hostile');
    expect(hostile?.guarded?.map((g) => g.domain)).toEqual(DROPPED);
    expect(hostile?.guarded).toContainEqual({ domain: 'google.com', protects: 'google.com' });
    expect(hostile?.guarded).toContainEqual({ domain: 'co.uk', protects: 'awsdns-04.co.uk' });
    expect(hostile?.guarded).toContainEqual({ domain: 'ns-440.awsdns-55.com', protects: 'awsdns-55.com' });
    expect(hostile?.set?.size).toBe(4);
    expect(server.app.lists.get('tiktok')?.guarded ?? []).toEqual([]);
  });

  it('logs the drop once per list version, however often the source is refreshed', async () => {
    const warnings = (): Record<string, unknown>[] => server.logs.filter((l) => l.list === 'hostile' && typeof l.msg === 'string' && l.msg.includes('not enforced'));
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ level: 40, origin: 'subscribed', dropped: DROPPED.length });
    const reloaded = await server.app.reload('test', server.app.config);
    expect(reloaded.ok).toBe(true);
    expect(warnings()).toHaveLength(1);
  });

  it('shows the drop in the metrics and in /lists', async () => {
    const api = server.app.api;
    const http = server.app.http;
    if (!api || !http) throw new Error('listeners not bound');
    const metrics = await (await request(`http://${api.host}:${api.port}/metrics`)).body.text();
    expect(metrics).toContain(`dnsward_list_guarded_entries{list="hostile"} ${DROPPED.length}`);
    expect(metrics).toContain('dnsward_list_guarded_entries{list="tiktok"} 0');
    const index = (await (await request(`http://${http.host}:${http.port}/lists`)).body.json()) as {
      lists: { name: string; guarded: unknown[] }[];
      subscribed: { name: string; version: string; guarded: { domain: string; protects: string }[] }[];
    };
    // The maintained domain lists, none guarded; the network list (kind "networks") has no names to guard.
    expect(index.lists.map((l) => [l.name, l.guarded])).toEqual([
      ['bytedance', []],
      ['doh-bypass', []],
      ['tiktok', []],
      ['bytedance-networks', []],
    ]);
    expect(index.subscribed).toEqual([{ name: 'hostile', version: server.app.lists.get('hostile')?.version, guarded: server.app.lists.get('hostile')?.guarded }]);
  });
});

describe('never-block.txt on reload', () => {
  it('guards every list with the file as re-read, and refuses a malformed one, keeping the guard in force', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dnsward-guard-lists-'));
    for (const file of await readdir('lists')) await copyFile(join('lists', file), join(dir, file));
    const cacheDir = await mkdtemp(join(tmpdir(), 'dnsward-guard-cache-'));
    const other = await startTestServer(
      testConfig(upstream.port, {
        lists: { dir, cache_dir: cacheDir, sources: [{ name: 'hostile', url: feedUrl, refresh: '1h' }] },
        segments: [
          { name: 'service', networks: ['127.0.0.2/32'], action: 'block', lists: ['hostile'] },
          { name: 'default', networks: ['0.0.0.0/0', '::/0'], action: 'allow' },
        ],
      }),
    );
    try {
      const ask = async (name: string): Promise<number> => (await queryUdp(other.port, { name, from: SERVICE })).rcode;
      expect(await ask('tiktokv.com')).toBe(3);
      await appendFile(join(dir, 'never-block.txt'), 'tiktokv.com                      2026-12-02  OPS      test: protected after start\n');
      expect((await other.app.reload('test', other.app.config)).ok).toBe(true);
      expect(other.app.lists.get('hostile')?.guarded?.map((g) => g.domain)).toContain('tiktokv.com');
      expect(await ask('tiktokv.com')).toBe(0);
      await writeFile(join(dir, 'never-block.txt'), 'not a domain!\n');
      const refused = await other.app.reload('test', other.app.config);
      expect(refused.ok).toBe(false);
      expect(refused.message).toMatch(/the lists are refused: .*never-block\.txt:1: "not" is not a valid domain name/);
      expect(await ask('tiktokv.com')).toBe(0);
      expect(await ask('www.aliyuncs.com')).toBe(0);
    } finally {
      await other.stop();
    }
  });

  it('stops the start on a malformed never-block.txt, naming file and line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dnsward-guard-bad-'));
    await copyFile('lists/tiktok.list', join(dir, 'tiktok.list'));
    await writeFile(join(dir, 'never-block.txt'), '# source: T x\nakamaized.net 2026-12-02 T Akamai\nbad..name 2026-12-02 T x\n');
    await expect(startTestServer(testConfig(upstream.port, { lists: { dir } }))).rejects.toThrow(/never-block\.txt:3: "bad\.\.name" is not a valid domain name/);
  });
});
