// PolicyControl with a real resolver and real list files: list changes rebuild the policy,
// reloads validate everything before changing anything.
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type Config, configSchema } from '../../../src/config/schema.ts';
import { loadListDir } from '../../../src/lists/list-file.ts';
import { NetworkListRegistry } from '../../../src/lists/network-registry.ts';
import { ListRegistry } from '../../../src/lists/registry.ts';
import { QueryCounters } from '../../../src/pipeline/counters.ts';
import { buildPolicySnapshot, policyInputFromConfig } from '../../../src/policy/snapshot.ts';
import { PolicyControl } from '../../../src/replica/policy-control.ts';
import { Resolver } from '../../../src/resolver/resolver.ts';
import { parseUpstream, type UpstreamTarget } from '../../../src/config/upstreams.ts';

const OPTIONS = { queryTimeoutMs: 500, upstreamTimeoutMs: 200, upstreamSockets: 1, maxInflight: 10, use0x20: false, serveStale: false, staleAfterMs: 1800, cacheSize: 10, maxStaleSeconds: 0 };
const silent = pino({ level: 'silent' });
const sink = { record: () => undefined, flush: async () => undefined, close: async () => undefined };

function config(dir: string, action: 'block' | 'log', extra: Record<string, unknown> = {}): Config {
  return configSchema.parse({ upstreams: ['127.0.0.1:9'], lists: { dir }, segments: [{ name: 'service', networks: ['10.0.0.0/8'], action, lists: ['tiktok'] }], ...extra });
}

let stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops) await stop();
  stops = [];
});

async function setup(loadConfig?: () => Promise<Config>) {
  const dir = await mkdtemp(join(tmpdir(), 'dnsward-control-'));
  await cp(resolve('lists'), dir, { recursive: true });
  const initial = config(dir, 'block');
  const lists = new ListRegistry();
  for (const l of await loadListDir(dir)) lists.set(l);
  const counters = new QueryCounters();
  const resolver = new Resolver({ upstreams: [parseUpstream('127.0.0.1:9') as UpstreamTarget], decisions: sink, logger: silent, counters }, OPTIONS, buildPolicySnapshot(policyInputFromConfig(initial, lists.all()), { countsFor: counters.forSegment }));
  const networks = new NetworkListRegistry();
  const control = new PolicyControl(initial, undefined, { resolver, lists, counters, logger: silent, loadConfig, networks, startSources: async () => undefined });
  stops.push(() => control.stop(), () => resolver.stop());
  return { dir, initial, lists, resolver, control, networks };
}

describe('PolicyControl', () => {
  it('installs a new policy when a list changes, with the config in force', async () => {
    const { lists, resolver } = await setup();
    const before = resolver.currentPolicy;
    const tiktok = lists.get('tiktok');
    lists.set({ ...(tiktok as NonNullable<typeof tiktok>), version: 'changed', domains: ['example.org'] });
    expect(resolver.currentPolicy).not.toBe(before);
    expect(resolver.currentPolicy.lists.find((l) => l.name === 'tiktok')?.version).toBe('changed');
    expect(resolver.currentPolicy.matcher.match('www.example.org', resolver.currentPolicy.segments[0]?.mask ?? 0)?.rule).toBe('example.org');
  });

  it('reloads a valid config, naming what changed and what needs a restart', async () => {
    const { dir, resolver, control } = await setup();
    const result = await control.reload('test', config(dir, 'log', { dns: { cache_size: 5, workers: 2 } }));
    expect(result).toMatchObject({ ok: true, restartNeeded: ['dns.workers', 'dns.cache_size'], policyGeneration: resolver.currentPolicy.generation });
    expect(result.message).toBe('in force: segments changed');
    expect(control.config.segments[0]?.action).toBe('log');
    expect(resolver.currentPolicy.segments[0]?.action).toBe('log');
  });

  it('re-reads the network lists on reload, enforces them and hands them to the feed', async () => {
    const { dir, resolver, control, networks } = await setup();
    await writeFile(join(dir, 'extra.networks'), '# title: Extra\n# source: T  test\n192.0.2.0/24  2026-12-02  AS64500  T\n');
    const result = await control.reload('test', configSchema.parse({ upstreams: ['127.0.0.1:9'], lists: { dir }, segments: [{ name: 'service', networks: ['10.0.0.0/8'], action: 'block', lists: ['tiktok', 'extra'] }] }));
    expect(result.ok).toBe(true);
    expect(networks.all().map((l) => l.name)).toEqual(['bytedance-networks', 'extra']);
    expect(resolver.currentPolicy.lists.map((l) => l.name)).toContain('extra');
    expect(resolver.currentPolicy.networks.matchV4(Buffer.from([192, 0, 2, 9]), 0, resolver.currentPolicy.segments[0]?.netMask ?? 0)?.prefix).toBe('192.0.2.0/24');
  });

  it('refuses a policy naming an unknown list and keeps everything as it was', async () => {
    const { dir, resolver, control } = await setup();
    const before = resolver.currentPolicy;
    const bad = configSchema.parse({ upstreams: ['127.0.0.1:9'], lists: { dir }, segments: [{ name: 'service', networks: ['10.0.0.0/8'], action: 'block', lists: ['nope'] }] });
    const result = await control.reload('test', bad);
    expect(result.ok).toBe(false);
    expect(result.message).toContain('segments[0].lists[0]: "nope" is not a known list');
    expect(resolver.currentPolicy).toBe(before);
    expect(control.config.segments[0]?.lists).toEqual(['tiktok']);
  });

  it('refuses when the config file cannot be read again, and when started without one', async () => {
    const { control } = await setup(async () => {
      throw new Error('cannot read /etc/dnsward/x.yaml: ENOENT');
    });
    expect(await control.reload('test')).toMatchObject({ ok: false, message: 'the new config is refused: cannot read /etc/dnsward/x.yaml: ENOENT' });
    const without = await setup();
    expect((await without.control.reload('test')).message).toBe('this replica was started without a config file; nothing to re-read');
  });

  it('drops a list whose file is gone, and picks up a new one', async () => {
    const { dir, lists, control } = await setup();
    await writeFile(join(dir, 'extra.list'), '# title: extra\n# source: X = test\nextra.example  2026-12-01  X\n');
    const result = await control.reload('test', config(dir, 'block'));
    expect(result.ok).toBe(true);
    expect(lists.get('extra')?.domains).toEqual(['extra.example']);
  });
});
