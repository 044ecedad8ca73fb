// The changelog for subscribers through a real HTTP server on 127.0.0.1 (fastify listen, undici
// requests): /lists/<name>/changes as JSON and Atom, conditional requests, the links to it from
// the index, every file's header and the page, and `lists build`.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readyHealth } from '../helpers/health.ts';
import { buildStaticLists } from '../../src/cli/lists.ts';
import { configSchema } from '../../src/config/schema.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { loadListDir } from '../../src/lists/list-file.ts';
import { ListRegistry } from '../../src/lists/registry.ts';

let app: FastifyInstance;
let base: string;
let dir: string;
const registry = new ListRegistry();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dnsward-changes-'));
  const { privateKey } = generateKeyPairSync('ed25519');
  await writeFile(join(dir, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  for (const snapshot of await loadListDir('lists')) registry.set(snapshot);
  const config = configSchema.parse({
    upstreams: ['127.0.0.1:9'],
    segments: [{ name: 'default', networks: ['0.0.0.0/0'], action: 'allow' }],
    lists: { dir: 'lists', signing_key_file: join(dir, 'key.pem'), cache_max_age_s: 600 },
    audit: { dir: join(dir, 'audit') },
  });
  app = buildHttpApp({ config, logger: pino({ level: 'silent' }), metrics: new Registry(), lists: registry, health: readyHealth() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await app?.close();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await request(`${base}${path}`, { headers });
  const body = Buffer.from(await response.body.arrayBuffer());
  return { status: response.statusCode, headers: response.headers, body, text: body.toString() };
}

interface Change {
  name: string;
  sources: string[];
  reason: string;
}
interface Changes {
  list: string;
  served_version: string;
  links: { json: string; atom: string };
  versions: { version: string; last_modified: string; summary: string; added: Change[]; removed: Change[]; changed_evidence: Change[] }[];
  sources: Record<string, string | null>;
}

/** Why a text is not well-formed XML with one root: unbalanced tags, a bare "&" or "<". */
function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  let roots = 0;
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos|#\d+);)/g)) {
    const [token, close, name, , empty] = m;
    if (name === undefined) {
      problems.push(`bare ${token} at ${m.index}`);
    } else if (close) {
      if (stack.pop() !== name) problems.push(`</${name}> closes nothing open at ${m.index}`);
    } else if (!empty) {
      if (stack.length === 0) roots++;
      stack.push(name);
    }
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(' ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

describe('GET /lists/<name>/changes', () => {
  it('serves every version newest first, each entry with its reason and evidence, the newest being the list served', async () => {
    const r = await get('/lists/tiktok/changes');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    const changes = JSON.parse(r.text) as Changes;
    const tiktok = registry.get('tiktok');
    expect(changes.served_version).toBe(tiktok?.version);
    expect(changes.versions[0]?.version).toBe(tiktok?.version);
    expect(changes.versions[0]?.last_modified).toBe(tiktok?.lastModified.toISOString());
    expect(changes.versions.at(-1)?.version).toBe('be97a52af590');
    expect(changes.versions.map((v) => v.last_modified)).toEqual([...changes.versions.map((v) => v.last_modified)].sort().reverse());
    const newest = changes.versions[0];
    const hypstar = newest?.added.find((c) => c.name === 'hypstarcdn.com');
    expect(hypstar?.sources).toEqual(expect.arrayContaining(['CSPT', 'CSPD', 'CRT', 'APP']));
    expect(hypstar?.reason).toMatch(/certificate/);
    for (const removed of newest?.removed ?? []) expect(removed.reason, removed.name).not.toBe('');
    expect(newest?.removed.map((c) => c.name)).toContain('bytecdn.com');
    expect(changes.sources.CSPT).toMatch(/oscarotero\/Embed/);
    expect(changes.sources.CRT).toMatch(/hypstarcdn/);
  });

  it('serves Atom to a feed reader, one entry per version, and JSON to everyone else', async () => {
    const atom = await get('/lists/tiktok/changes', { accept: 'application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.8' });
    expect(atom.status).toBe(200);
    expect(atom.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
    expect(atom.headers.vary).toBe('Accept, Accept-Encoding');
    expect(atom.text).toMatch(/^<\?xml version="1.0" encoding="utf-8"\?>\n<feed xmlns="http:\/\/www.w3.org\/2005\/Atom">/);
    const versions = (JSON.parse((await get('/lists/tiktok/changes')).text) as Changes).versions;
    expect(atom.text.match(/<entry>/g)).toHaveLength(versions.length);
    expect(atom.text).toContain(`<id>urn:dnsward:list-changes:tiktok:${versions[0]?.version}</id>`);
    expect(atom.text).toContain('+ hypstarcdn.com [CSPT, CSPD, CRT, APP, BLP, MIS, DH]');
    expect(xmlProblems(atom.text)).toEqual([]);
    expect(xmlProblems('<feed><a></feed>')).not.toEqual([]);
    expect(xmlProblems('<feed>a & b</feed>')).not.toEqual([]);
    for (const accept of [undefined, '*/*', 'application/json', 'text/html', 'application/atom+xml;q=0, */*']) {
      const r = await get('/lists/tiktok/changes', accept ? { accept } : {});
      expect(r.headers['content-type'], accept).toBe('application/json; charset=utf-8');
    }
    expect((await get('/lists/tiktok/changes.atom')).body.equals(atom.body)).toBe(true);
    expect((await get('/lists/tiktok/changes.json', { accept: 'application/atom+xml' })).headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('answers conditional requests like the lists: ETag and Last-Modified give 304, per representation', async () => {
    for (const [path, accept] of [
      ['/lists/tiktok/changes', 'application/json'],
      ['/lists/tiktok/changes', 'application/atom+xml'],
      ['/lists/bytedance/changes.atom', '*/*'],
      ['/lists/doh-bypass/changes.json', '*/*'],
    ] as const) {
      const first = await get(path, { accept });
      expect(first.status, path).toBe(200);
      expect(first.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
      expect(first.headers['cache-control']).toBe('public, max-age=600');
      const again = await get(path, { accept, 'if-none-match': first.headers.etag as string });
      expect(again.status, path).toBe(304);
      expect(again.body.length).toBe(0);
      expect((await get(path, { accept, 'if-modified-since': first.headers['last-modified'] as string })).status).toBe(304);
      const older = new Date(Date.parse(first.headers['last-modified'] as string) - 1000).toUTCString();
      expect((await get(path, { accept, 'if-modified-since': older })).status).toBe(200);
    }
    // The JSON's tag does not validate the Atom representation.
    const json = await get('/lists/tiktok/changes');
    expect((await get('/lists/tiktok/changes', { accept: 'application/atom+xml', 'if-none-match': json.headers.etag as string })).status).toBe(200);
    const gz = await get('/lists/tiktok/changes', { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect((await get('/lists/tiktok/changes', { 'accept-encoding': 'gzip', 'if-none-match': gz.headers.etag as string })).status).toBe(304);
  });

  it('is linked from the index, from every file\'s header and from the subscriber page', async () => {
    const index = JSON.parse((await get('/lists')).text) as { lists: { name: string; changes: { json: string; atom: string } }[] };
    for (const list of index.lists) expect(list.changes, list.name).toEqual({ json: `/lists/${list.name}/changes`, atom: `/lists/${list.name}/changes.atom` });
    for (const format of ['hosts', 'domains', 'wildcard', 'adblock', 'dnsmasq', 'dnsmasq-legacy', 'unbound', 'rpz']) {
      expect((await get(`/lists/bytedance/${format}`)).text, format).toMatch(/^[#!;] Changes: \/lists\/bytedance\/changes \(on the server this file came from\)$/m);
    }
    expect((JSON.parse((await get('/lists/tiktok/json')).text) as { changes: string }).changes).toBe('/lists/tiktok/changes (on the server this file came from)');
    const page = (await get('/')).text;
    for (const name of ['tiktok', 'bytedance', 'doh-bypass']) {
      expect(page).toContain(`href="/lists/${name}/changes"`);
      expect(page).toContain(`href="/lists/${name}/changes.atom"`);
    }
  });

  it('404s a list without a changelog, and names the changelog among the formats', async () => {
    const before = registry.get('doh-bypass');
    if (!before) throw new Error('doh-bypass missing');
    const { changes: _changes, ...rest } = before;
    registry.set({ ...rest, version: 'nochangelog1' });
    try {
      const r = await get('/lists/doh-bypass/changes');
      expect(r.status).toBe(404);
      expect(r.text).toMatch(/has no changelog/);
      expect((await get('/lists/doh-bypass/hosts')).text).not.toMatch(/Changes:/);
    } finally {
      registry.set(before);
    }
    expect((await get('/lists/tiktok/pac')).text).toMatch(/changes, changes\.json, changes\.atom/);
  });

  it('lists build writes the same changelog bytes, /changes being the JSON', async () => {
    const out = join(dir, 'public');
    await buildStaticLists(configSchema.parse({ segments: [{ name: 'd', networks: ['0.0.0.0/0'], action: 'allow' }], lists: { signing_key_file: join(dir, 'key.pem') } }).lists, out);
    const json = await get('/lists/tiktok/changes');
    expect((await readFile(join(out, 'lists/tiktok/changes'))).equals(json.body)).toBe(true);
    expect((await readFile(join(out, 'lists/tiktok/changes.json'))).equals(json.body)).toBe(true);
    expect((await readFile(join(out, 'lists/tiktok/changes.atom'))).equals((await get('/lists/tiktok/changes.atom')).body)).toBe(true);
  });
});

describe('dnsward lists diff', () => {
  const BIN = resolve('bin/dnsward');
  async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...process.env, DNSWARD_FROM_SOURCE: '1' } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('compares a logged version with the current list, with the changelog\'s reasons', async () => {
    const r = await cli(['lists', 'diff', 'tiktok@be97']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`tiktok be97a52af590 (tiktok@be97) -> tiktok ${registry.get('tiktok')?.version} (tiktok)`);
    expect(lines).toContainEqual(expect.stringMatching(/^\+ hypstarcdn\.com +CSPT,CSPD,CRT,APP,BLP,MIS,DH +Hypstar CDN/));
    expect(lines).toContainEqual(expect.stringMatching(/^- bytecdn\.com +AAO,V2b +moved to the bytedance list/));
    expect(lines).toContainEqual(expect.stringMatching(/^~ tiktok\.com +evidence \+CSPT \+APP \+BM7t$/));
    expect(lines.at(-1)).toMatch(/^\d+ added, \d+ removed, \d+ with other evidence$/);
  });

  it('compares two files as JSON, and prints the changelog block for the newer one', async () => {
    const old = join(dir, 'old-bytedance.list');
    const text = await readFile('lists/bytedance.list', 'utf8');
    await writeFile(old, text.replace(/^geogif\.me .*$/m, '').replace(/^oceanengine\.com .*\n/m, '') + 'geogif.me 2026-11-28 AAO old entry\n');
    const json = await cli(['lists', 'diff', old, 'bytedance', '--json']);
    expect(json.code).toBe(0);
    const diff = JSON.parse(json.stdout) as { from: { name: string }; added: { name: string }[]; removed: { name: string; sources: string[] }[]; changed: unknown[] };
    expect(diff.from.name).toBe('old-bytedance');
    expect(diff.added.map((c) => c.name)).toEqual(['oceanengine.com']);
    expect(diff.removed).toEqual([{ name: 'geogif.me', sources: ['AAO'], reason: '', host: false }]);
    expect(diff.changed).toEqual([]);
    const block = await cli(['lists', 'diff', old, 'bytedance', '--changes', '--summary', 'test']);
    expect(block.stdout).toMatch(/^## [0-9a-f]{12} 2026-12-02T00:00:00Z\nsummary: test\n\+ oceanengine\.com {2}BM7b,CSPD {2}Ocean Engine/);
    expect(block.stdout).toContain('\n- geogif.me        AAO\n');
  });

  it('says what is wrong with its operands', async () => {
    const none = await cli(['lists', 'diff']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/DNSWARD_ERR_USAGE: lists diff compares two versions/);
    const unknown = await cli(['lists', 'diff', 'tiktok@ffffff']);
    expect(unknown.stderr).toMatch(/lists\/tiktok\.changes has no version "ffffff"; its versions, oldest first: be97a52af590, /);
  });
});

