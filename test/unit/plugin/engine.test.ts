import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FileAuditReader } from '../../../src/audit/reader.ts';
import { RCODE } from '../../../src/dns/constants.ts';
import { createPolicyEngine, type PolicyEngine } from '../../../src/plugin/engine.ts';
import { buildQuery } from '../../helpers/dns-client.ts';

const silent = pino({ level: 'silent' });
const engines: PolicyEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

function sections(dir: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    dns: { allow: ['10.0.0.0/8'] },
    lists: { dir: resolve('lists') },
    segments: [
      { name: 'service', networks: ['10.10.0.0/16'], action: 'block', lists: ['tiktok'], allowlist: ['ads.tiktok.com'] },
      { name: 'personal', networks: ['10.20.0.0/16'], action: 'log', lists: ['tiktok'], pseudonymize: true },
    ],
    audit: { dir: 'audit', signing_key_file: 'keys/audit.key', pseudonym_secret_file: 'keys/pseudonym.key', fsync: false, worker_thread: false },
    instance: 'embedded',
    ...overrides,
  };
}

async function engineIn(dir: string, overrides: Record<string, unknown> = {}): Promise<PolicyEngine> {
  const engine = await createPolicyEngine({ config: sections(dir, overrides), baseDir: dir, logger: silent });
  engines.push(engine);
  return engine;
}

describe('policy engine', () => {
  it('decides names per segment from the config sections and records to the block log files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-engine-'));
    const engine = await engineIn(dir);
    expect(engine.check('www.tiktok.com', '10.10.1.1')).toMatchObject({ action: 'block', segment: 'service' });
    expect(engine.check('ads.tiktok.com', '10.10.1.1')).toMatchObject({ action: 'allow' });
    expect(engine.check('tiktok.com', '10.20.1.1', { qtype: 'AAAA', transport: 'doh' })).toMatchObject({ action: 'log', segment: 'personal' });
    expect(engine.check('tiktok.com', '10.99.0.1')).toMatchObject({ action: 'allow', segment: 'default', inspect: false });
    const wire = engine.decide(buildQuery({ id: 9, name: 'tiktokv.com' }), '10.10.2.2', 'udp');
    expect(wire.action === 'block' && wire.answer.readUInt16BE(2) & 0xf).toBe(RCODE.NXDOMAIN);
    expect(engine.stats()).toEqual(
      expect.arrayContaining([
        { segment: 'service', outcome: 'blocked', transport: 'tcp', count: 1 },
        { segment: 'service', outcome: 'blocked', transport: 'udp', count: 1 },
        // The pipeline counts DoH as its own transport.
        { segment: 'personal', outcome: 'logged', transport: 'doh', count: 1 },
      ]),
    );
    await engine.close();
    const page = await new FileAuditReader(join(dir, 'audit')).events({ limit: 10 });
    expect(page.events.map((e) => [e.instance, e.segment, e.qname, e.qtype, e.action])).toEqual([
      ['embedded', 'service', 'www.tiktok.com', 'A', 'blocked'],
      ['embedded', 'personal', 'tiktok.com', 'AAAA', 'logged'],
      ['embedded', 'service', 'tiktokv.com', 'A', 'blocked'],
    ]);
    // Personal segment: the client address is pseudonymised, as in the resolver's block log.
    expect(page.events[1]?.client).toMatch(/^anon:/);
  });

  it('refuses names that are not names and query types that are not types', async () => {
    const engine = await engineIn(mkdtempSync(join(tmpdir(), 'dnsward-engine-')));
    expect(() => engine.check('not a name', '10.10.0.1')).toThrow(/"not a name" is not a domain name/);
    expect(() => engine.check('tiktok.com', '10.10.0.1', { qtype: 'BOGUS' })).toThrow(/qtype "BOGUS" is not a query type/);
    expect(engine.check('tiktok.com', '10.10.0.1', { qtype: 'TYPE65' }).action).toBe('block');
    expect(engine.check('tiktok.com', '10.10.0.1', { qtype: 65 }).action).toBe('block');
  });

  it('swaps its snapshot on reload, on a list change, and on install; a refused reload keeps the policy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-engine-'));
    const engine = await engineIn(dir);
    const first = engine.currentPolicy;
    const refused = await engine.reload({ ...sections(dir), segments: [{ name: 'x', networks: ['10.10.0.0/16'], action: 'blokc' }] });
    expect(refused).toMatchObject({ ok: false, message: expect.stringMatching(/segments\[0\]\.action/) });
    expect(engine.currentPolicy).toBe(first);
    const reloaded = await engine.reload(sections(dir, { segments: [{ name: 'service', networks: ['10.10.0.0/16'], action: 'log', lists: ['tiktok'] }] }));
    expect(reloaded.ok).toBe(true);
    expect(engine.check('tiktok.com', '10.10.0.1')).toMatchObject({ action: 'log' });
    // A list changed under the engine (a source refreshed, another replica's entry): enforced at once.
    const tiktok = engine.lists.get('tiktok');
    if (!tiktok) throw new Error('tiktok list not loaded');
    engine.lists.set({ ...tiktok, version: 'changed', domains: [...tiktok.domains, 'newly-listed.example'] });
    expect(engine.check('www.newly-listed.example', '10.10.0.1')).toMatchObject({ action: 'log', decision: { listVersion: 'changed' } });
    // The same swap a replica does: build beside, install with one pointer write.
    const blocking = engine.buildPolicy({ ...engine.config, segments: [{ ...engine.config.segments[0]!, action: 'block' }] });
    expect(engine.check('tiktok.com', '10.10.0.1').action).toBe('log');
    engine.install(blocking);
    expect(engine.check('tiktok.com', '10.10.0.1').action).toBe('block');
  });

  it('keeps the network lists of lists.dir in a registry a reload refreshes (what the feed plugin serves)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-engine-'));
    const lists = join(dir, 'lists');
    cpSync(resolve('lists'), lists, { recursive: true });
    const engine = await engineIn(dir, { lists: { dir: lists } });
    const before = engine.networks.get('bytedance-networks');
    expect(before?.networks).toContain('71.18.1.0/24');
    writeFileSync(join(lists, 'bytedance-networks.networks'), '# title: ByteDance networks\n# source: X  a test\n192.0.2.0/24  2026-12-03  AS64496  X\n');
    const reloaded = await engine.reload(sections(dir, { lists: { dir: lists } }));
    expect(reloaded, JSON.stringify(reloaded)).toMatchObject({ ok: true });
    expect(engine.networks.get('bytedance-networks')?.networks).toEqual(['192.0.2.0/24']);
  });

  it('re-reads its config file on reload, and refuses to start on a list no one provides', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-engine-'));
    cpSync(resolve('lists'), join(dir, 'lists'), { recursive: true });
    const file = join(dir, 'dnsward.yaml');
    const yaml = (action: string): string =>
      `dns: { allow: ["10.0.0.0/8"] }\naudit: { enabled: false }\nsegments:\n  - { name: service, networks: ["10.10.0.0/16"], action: ${action}, lists: [tiktok] }\n`;
    writeFileSync(file, yaml('block'));
    const engine = await createPolicyEngine({ configFile: file, logger: silent });
    engines.push(engine);
    expect(engine.check('tiktok.com', '10.10.0.1').action).toBe('block');
    writeFileSync(file, yaml('log'));
    expect(await engine.reload()).toMatchObject({ ok: true });
    expect(engine.check('tiktok.com', '10.10.0.1').action).toBe('log');
    writeFileSync(file, yaml('block').replace('[tiktok]', '[nosuchlist]'));
    await expect(createPolicyEngine({ configFile: file, logger: silent })).rejects.toThrow(/segments\[0\]\.lists\[0\]: "nosuchlist" is not a known list/);
  });
});
