import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configPath, listConfigPaths, resolveConfigPaths } from '../../../src/config/paths.ts';
import { configJsonSchema } from '../../../src/config/reference.ts';
import { configSchema } from '../../../src/config/schema.ts';
import { parseConfig } from '../../../src/config/load.ts';

const MINIMAL = 'segments:\n  - { name: default, networks: ["0.0.0.0/0"], action: allow }\n';

/** Every key of the JSON Schema, as "a.b" and "a.list[].c". */
function allKeys(node: { properties?: Record<string, unknown>; items?: unknown }, prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    out.push(path);
    const c = child as { properties?: Record<string, unknown>; items?: { properties?: Record<string, unknown> } };
    if (c.properties) out.push(...allKeys(c, path));
    if (c.items?.properties) out.push(...allKeys(c.items, `${path}[]`));
  }
  return out;
}

describe('configPath', () => {
  it('marks exactly the config keys that name files and directories', () => {
    expect(listConfigPaths(configSchema).sort()).toEqual([
      'api.tls.cert_file',
      'api.tls.key_file',
      'audit.dir',
      'audit.pseudonym_secret_file',
      'audit.signing_key_file',
      'dns.tls.cert_file',
      'dns.tls.key_file',
      'http.tls.cert_file',
      'http.tls.key_file',
      'lists.cache_dir',
      'lists.dir',
      'lists.signing_key_file',
      'lists.sources[].file',
      'upstream_tls.ca_file',
    ]);
  });

  it('every key named like a path (dir, file, *_dir, *_file) is a configPath, so a new one cannot be forgotten', () => {
    const named = allKeys(configJsonSchema() as { properties: Record<string, unknown> }).filter((k) => /(^|[._])(dir|file)$/.test(k));
    expect(named.length).toBeGreaterThan(5);
    expect(listConfigPaths(configSchema).sort()).toEqual(named.sort());
  });

  it('keeps its mark through describe, meta, default and optional', () => {
    const schema = z.strictObject({
      a: configPath().describe('a'),
      b: configPath().default('x').meta({ description: 'b' }),
      c: configPath().optional(),
      d: z.string(),
      list: z.array(z.strictObject({ e: configPath() })).default([]),
    });
    expect(listConfigPaths(schema)).toEqual(['a', 'b', 'c', 'list[].e']);
  });
});

describe('resolveConfigPaths', () => {
  const schema = z.strictObject({
    dir: configPath(),
    abs: configPath(),
    name: z.string(),
    list: z.array(z.strictObject({ file: configPath().optional(), url: z.string().optional() })),
  });

  it('makes relative paths absolute against the base directory and leaves everything else alone', () => {
    const input = { dir: 'var/x', abs: '/srv/y', name: 'var/z', list: [{ file: '../k.pem' }, { url: 'https://e/' }] };
    const copy = structuredClone(input);
    const out = resolveConfigPaths(schema, input, '/etc/dnsward');
    expect(out).toEqual({ dir: '/etc/dnsward/var/x', abs: '/srv/y', name: 'var/z', list: [{ file: '/etc/k.pem' }, { url: 'https://e/' }] });
    expect(input).toEqual(copy);
  });

  it('resolves the defaults of a parsed config too, without changing the shared default objects', () => {
    const config = parseConfig(MINIMAL, 'c', { baseDir: '/opt/conf' });
    expect(config.audit.dir).toBe('/opt/conf/var/audit');
    expect(config.lists.dir).toBe('/opt/conf/lists');
    expect(parseConfig(MINIMAL).audit.dir).toBe('var/audit');
  });
});
