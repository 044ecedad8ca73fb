import Fastify, { type FastifyInstance } from 'fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPublicApp } from '../../../src/http/app.ts';
import { PUBLIC_KEY_NAME } from '../../../src/lists/feed.ts';
import { createPolicyEngine, type PolicyEngine } from '../../../src/plugin/engine.ts';
import { dnswardAudit, dnswardFeed } from '../../../src/plugin/fastify.ts';

const silent = pino({ level: 'silent' });
const TOKEN = 'auditor-token-0123456789abcdef';
let dir: string;
let engine: PolicyEngine;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dnsward-fastify-'));
  engine = await createPolicyEngine({
    config: {
      dns: { allow: ['10.0.0.0/8'] },
      lists: { dir: resolve('lists'), public_url: 'https://example.org/blocklists', signing_key_file: 'keys/lists.key' },
      segments: [{ name: 'service', networks: ['10.10.0.0/16'], action: 'block', lists: ['tiktok'] }],
      audit: { dir: 'audit', signing_key_file: 'keys/audit.key', worker_thread: false, fsync: false, flush_interval_ms: 10 },
      auth: { tokens: [{ name: 'auditors', role: 'auditor', token: TOKEN }] },
    },
    baseDir: dir,
    logger: silent,
  });
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await engine.close();
});

function app(): FastifyInstance {
  const created = Fastify();
  apps.push(created);
  return created;
}

describe('fastify feed plugin', () => {
  it('serves every format under the prefix with the bytes and headers of `dnsward serve`', async () => {
    const host = app();
    await host.register(dnswardFeed, { lists: engine, prefix: '/blocklists' });
    const serve = buildPublicApp({ config: engine.config, logger: silent, lists: engine.lists });
    apps.push(serve);
    for (const format of ['hosts', 'domains', 'wildcard', 'adblock', 'dnsmasq', 'unbound', 'rpz', 'json', 'sha256sums', 'sha256sums.sig']) {
      const ours = await host.inject({ url: `/blocklists/lists/tiktok/${format}`, headers: { 'accept-encoding': 'br' } });
      const theirs = await serve.inject({ url: `/lists/tiktok/${format}`, headers: { 'accept-encoding': 'br' } });
      expect(ours.statusCode, format).toBe(200);
      expect(ours.rawPayload, format).toEqual(theirs.rawPayload);
      for (const header of ['etag', 'content-type', 'content-encoding', 'cache-control', 'last-modified', 'vary']) expect(ours.headers[header], `${format} ${header}`).toBe(theirs.headers[header]);
    }
    const etag = (await host.inject('/blocklists/lists/tiktok/unbound')).headers.etag as string;
    expect((await host.inject({ url: '/blocklists/lists/tiktok/unbound', headers: { 'if-none-match': etag } })).statusCode).toBe(304);
    const index = JSON.parse((await host.inject('/blocklists/lists')).body) as { lists: { name: string; formats: Record<string, string> }[] };
    expect(index.lists.find((l) => l.name === 'tiktok')?.formats.rpz).toBe('https://example.org/blocklists/lists/tiktok/rpz');
    expect((await host.inject('/blocklists/')).body).toContain('https://example.org/blocklists/lists/tiktok/adblock');
    expect((await host.inject(`/blocklists/lists/${PUBLIC_KEY_NAME}`)).statusCode).toBe(200);
  });

  it('serves the network lists too, with the bytes of `dnsward serve`', async () => {
    const host = app();
    await host.register(dnswardFeed, { lists: engine, prefix: '/blocklists' });
    expect(engine.networks.get('bytedance-networks')?.networks.length).toBeGreaterThan(0);
    const serve = buildPublicApp({ config: engine.config, logger: silent, lists: engine.lists, networks: engine.networks });
    apps.push(serve);
    for (const format of ['cidr', 'rpz', 'adguard', 'json', 'sha256sums']) {
      const ours = await host.inject(`/blocklists/lists/bytedance-networks/${format}`);
      const theirs = await serve.inject(`/lists/bytedance-networks/${format}`);
      expect(ours.statusCode, format).toBe(200);
      expect(ours.rawPayload, format).toEqual(theirs.rawPayload);
      expect(ours.headers.etag, format).toBe(theirs.headers.etag);
    }
    const index = JSON.parse((await host.inject('/blocklists/lists')).body) as { lists: { name: string; kind?: string }[] };
    expect(index.lists.find((l) => l.name === 'bytedance-networks')?.kind).toBe('networks');
  });

  it('takes the lists: section itself, and wants public_url when it sits under a prefix', async () => {
    const plain = app();
    await plain.register(dnswardFeed, { lists: { dir: resolve('lists'), signing_key_file: join(dir, 'keys', 'other.key') } });
    const hosts = await plain.inject('/lists/bytedance/hosts');
    expect(hosts.statusCode).toBe(200);
    expect(hosts.body).toMatch(/^0\.0\.0\.0 capcut\.com$/m);
    const cidr = await plain.inject('/lists/bytedance-networks/cidr');
    expect(cidr.statusCode).toBe(200);
    expect(cidr.body).toMatch(/^71\.18\.1\.0\/24$/m);
    const prefixed = app();
    prefixed.register(dnswardFeed, { lists: { dir: resolve('lists'), signing_key_file: join(dir, 'keys', 'other.key') }, prefix: '/feed' });
    await expect(prefixed.ready()).rejects.toThrow(/registered under the prefix "\/feed" without lists.public_url; set it .* "https:\/\/example.org\/feed"/);
    const bad = app();
    bad.register(dnswardFeed, { lists: { dir: resolve('lists'), expires: 7 } });
    await expect(bad.ready()).rejects.toThrow(/dnswardFeed: lists\.expires/);
  });
});

describe('fastify audit plugin', () => {
  it('serves the block log to auditors only, under the prefix', async () => {
    engine.check('www.tiktok.com', '10.10.0.9');
    await engine.flush();
    const host = app();
    await host.register(dnswardAudit, { audit: engine, prefix: '/dnsward' });
    expect((await host.inject('/dnsward/api/audit/events')).statusCode).toBe(401);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const { events } = JSON.parse((await host.inject({ url: '/dnsward/api/audit/events', headers: auth })).body) as { events: unknown[] };
    expect(events).toEqual([expect.objectContaining({ qname: 'www.tiktok.com', segment: 'service' })]);
    expect((await host.inject({ url: '/dnsward/api/audit/summary', headers: auth })).statusCode).toBe(200);
    expect((await host.inject({ url: '/dnsward/api/audit/timeline', headers: auth })).statusCode).toBe(200);
  });

  it('takes the audit: and auth: sections themselves', async () => {
    const host = app();
    await host.register(dnswardAudit, { audit: { dir: join(dir, 'audit') }, auth: { tokens: [{ name: 'a', role: 'auditor', token: TOKEN }] } });
    const page = await host.inject({ url: '/api/audit/events?segment=service', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(page.statusCode).toBe(200);
    expect((JSON.parse(page.body) as { events: { qname: string }[] }).events.map((e) => e.qname)).toContain('www.tiktok.com');
  });
});
