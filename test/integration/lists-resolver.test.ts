// The real resolver with the maintained tiktok list on a blocking segment: every listed name
// (each blocking domain, a subdomain of it, and every known host) gets NXDOMAIN without reaching
// the upstream, and the names that must keep working (CDN apexes, cloud providers, app stores,
// look-alikes) resolve through the stub upstream on loopback.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseListFile } from '../../src/lists/list-file.ts';
import type { ListSnapshot } from '../../src/lists/types.ts';
import { queryUdp } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';

const SERVICE = '127.0.0.2';
let upstream: StubUpstream;
let server: TestServer;
let tiktok: ListSnapshot;
let neverBlock: string[];

/** Unrelated services and look-alikes: none of these may be blocked by the tiktok list. */
const UNRELATED = [
  'example.com',
  'www.akamai.com',
  'a1234.dscb.akamaiedge.net',
  'p16-other.akamaized.net',
  'global.fastly.net',
  'd111111abcdef8.cloudfront.net',
  's3.amazonaws.com',
  'www.googleapis.com',
  'play.google.com',
  'apps.apple.com',
  'itunes.apple.com',
  'login.microsoftonline.com',
  'www.cloudflare.com',
  'notiktok.com',
  'tiktok.com.evil.example',
  'mytiktokv.com',
  'bytedance.example.org',
];

beforeAll(async () => {
  upstream = await new StubUpstream().start();
  server = await startTestServer(testConfig(upstream.port));
  const snapshot = server.app.lists.get('tiktok');
  if (!snapshot) throw new Error('tiktok list not loaded');
  tiktok = snapshot;
  neverBlock = parseListFile(await readFile('lists/never-block.txt', 'utf8'), 'lists/never-block.txt').entries.map((e) => e.domain);
});

afterAll(async () => {
  await server?.stop();
  await upstream?.stop();
});

async function rcodes(names: readonly string[]): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  for (let i = 0; i < names.length; i += 32) {
    const batch = names.slice(i, i + 32);
    const replies = await Promise.all(batch.map((name) => queryUdp(server.port, { name, from: SERVICE })));
    batch.forEach((name, j) => result.set(name, replies[j]?.rcode ?? -1));
  }
  return result;
}

describe('the tiktok list on a blocking segment', () => {
  it('blocks every entry, a subdomain of every blocking entry, and every known host, without asking upstream', async () => {
    const names = [...new Set([...tiktok.domains, ...tiktok.domains.map((d) => `x1.${d}`), ...(tiktok.hosts ?? [])])];
    expect(names.length).toBeGreaterThan(700);
    const before = upstream.count();
    const result = await rcodes(names);
    const notBlocked = names.filter((n) => result.get(n) !== 3);
    expect(notBlocked).toEqual([]);
    expect(upstream.count()).toBe(before);
  });

  it('lets every never-block name and unrelated service resolve', async () => {
    const names = [...new Set([...neverBlock, ...UNRELATED])];
    const result = await rcodes(names);
    const blocked = names.filter((n) => result.get(n) !== 0);
    expect(blocked).toEqual([]);
    for (const name of ['play.google.com', 'akamaized.net', 'fastly.net']) expect(upstream.count(name)).toBeGreaterThan(0);
  });
});
