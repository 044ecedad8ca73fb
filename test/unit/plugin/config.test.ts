import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromSections, loadEmbeddedConfig } from '../../../src/plugin/config.ts';

const SEGMENTS = [{ name: 'service', networks: ['10.10.0.0/16'], action: 'block', lists: ['tiktok'] }];

describe('embedded config', () => {
  it('reads the sections an embedder gives as an object, with the file defaults, paths against baseDir', () => {
    const { config } = configFromSections({ dns: { allow: ['10.0.0.0/8'] }, segments: SEGMENTS, audit: { dir: 'var/audit' } }, 'config', '/srv/app');
    expect(config.segments[0]).toMatchObject({ name: 'service', block_response: 'nxdomain', bypass_prevention: true });
    expect(config.audit.dir).toBe('/srv/app/var/audit');
    expect(config.lists.dir).toBe('/srv/app/lists');
  });

  it('refuses what `dnsward config check` refuses, with the same message naming the key', () => {
    expect(() => configFromSections({ segments: [{ ...SEGMENTS[0], action: 'blokc' }] }, 'config', '/srv')).toThrow(/segments\[0\]\.action: "blokc" is not valid/);
    expect(() => configFromSections({ segments: SEGMENTS, segmnts: [] }, 'config', '/srv')).toThrow(/segmnts: unknown key; did you mean "segments"\?/);
    // The checks of a config about to be served: a segment outside dns.allow would only ever be refused.
    expect(() => configFromSections({ segments: SEGMENTS }, 'config', '/srv')).toThrow(/segments\[0\]\.networks\[0\]: "10.10.0.0\/16" \(segment service\) is outside dns.allow/);
    expect(() => configFromSections([] as never, 'config', '/srv')).toThrow(/expected an object/);
    const cyclic: Record<string, unknown> = { segments: SEGMENTS };
    cyclic.self = cyclic;
    expect(() => configFromSections(cyclic, 'config', '/srv')).toThrow(/cannot be read as plain data/);
  });

  it('reads a YAML file with paths against its directory, and wants exactly one of file or object', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-plugin-config-'));
    const file = join(dir, 'dnsward.yaml');
    writeFileSync(file, 'dns: { allow: ["10.0.0.0/8"] }\nsegments:\n  - { name: service, networks: ["10.10.0.0/16"], action: block, lists: [tiktok] }\n');
    const loaded = await loadEmbeddedConfig({ configFile: file });
    expect(loaded.source).toBe(file);
    expect(loaded.config.lists.dir).toBe(join(dir, 'lists'));
    await expect(loadEmbeddedConfig({})).rejects.toThrow(/either as configFile .* or as config/);
    await expect(loadEmbeddedConfig({ configFile: file, config: {} })).rejects.toThrow(/not both/);
    await expect(loadEmbeddedConfig({ configFile: join(dir, 'missing.yaml') })).rejects.toMatchObject({ code: 'DNSWARD_ERR_CONFIG_READ' });
  });
});
