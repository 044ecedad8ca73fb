import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../../src/config/load.ts';
import { configJsonSchema, configJsonSchemaText, JSON_SCHEMA_FILE, REFERENCE_FILE, referenceYaml, yamlValue } from '../../../src/config/reference.ts';

interface Node {
  description?: string;
  default?: unknown;
  examples?: unknown[];
  properties?: Record<string, Node>;
  required?: string[];
  items?: Node;
}

/** [path, node, required] for every key of the JSON Schema. */
function keys(node: Node, prefix = ''): [string, Node, boolean][] {
  const out: [string, Node, boolean][] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    out.push([path, child, node.required?.includes(key) ?? false]);
    if (child.properties) out.push(...keys(child, path));
    if (child.items?.properties) out.push(...keys(child.items, `${path}[]`));
  }
  return out;
}

const STALE = 'is out of date: run `npm run gen:config` and commit the result';

describe('generated config reference and JSON Schema', () => {
  it(`${REFERENCE_FILE} is what the schema generates`, () => {
    expect(readFileSync(REFERENCE_FILE, 'utf8'), `${REFERENCE_FILE} ${STALE}`).toBe(referenceYaml());
  });

  it(`${JSON_SCHEMA_FILE} is what the schema generates`, () => {
    expect(readFileSync(JSON_SCHEMA_FILE, 'utf8'), `${JSON_SCHEMA_FILE} ${STALE}`).toBe(configJsonSchemaText());
  });

  it('every key has a one-line meaning, and every optional key without a default an example value', () => {
    const all = keys(configJsonSchema() as Node);
    expect(all.length).toBeGreaterThan(60);
    for (const [path, node, required] of all) {
      expect(node.description, path).toMatch(/^\S.*[.)]$/);
      expect(node.description, path).not.toContain('\n');
      if (!('default' in node) && !node.properties && !node.items?.properties) expect(node.examples?.length, `${path}: give .meta({ examples })`).toBeGreaterThan(0);
      if (required) expect(node.examples?.length, `${path} is required: give an example`).toBeGreaterThan(0);
    }
  });

  it('names every key of the schema in the reference', () => {
    const text = referenceYaml();
    for (const [path] of keys(configJsonSchema() as Node)) {
      const key = path.split('.').at(-1) as string;
      expect(text, path).toMatch(new RegExp(`^[ #-]*${key}:`, 'm'));
    }
  });

  it('shows the defaults: the reference as a config equals a config that leaves every optional key out', () => {
    const reference = parseConfig(referenceYaml(), REFERENCE_FILE);
    const minimal = parseConfig('segments:\n  - { name: default, networks: ["0.0.0.0/0", "::/0"], action: allow }\n', 'minimal');
    expect(reference).toEqual(minimal);
    expect(reference.instance).toBe(hostname());
  });

  it('its commented-out examples are valid when uncommented', () => {
    const lines = referenceYaml().split('\n');
    const out: string[] = [];
    let inBlock = false;
    for (const line of lines) {
      if (/^# [a-z_0-9]+:/.test(line)) inBlock = true;
      else if (!line.startsWith('#   ')) inBlock = false;
      out.push(inBlock ? line.slice(2) : line);
    }
    const config = parseConfig(out.join('\n'), 'uncommented');
    expect(config.upstreams).toEqual(['192.0.2.53:53']);
    expect(config.redis?.url).toBe('redis://127.0.0.1:6379/0');
    expect(config.redis?.sentinels).toEqual([{ host: '192.0.2.10', port: 26379 }]);
    expect(config.instance).toBe('a');
  });

  it('is valid YAML whose comments do not change its data', () => {
    expect(parse(referenceYaml())).toMatchObject({ dns: { listen: ['127.0.0.1:1053'] }, segments: [{ name: 'default' }], log: { level: 'info' } });
  });
});

describe('yamlValue', () => {
  it('writes plain words unquoted and quotes what YAML would read differently', () => {
    expect(yamlValue('var/audit')).toBe('var/audit');
    expect(yamlValue('null')).toBe('"null"');
    expect(yamlValue('No')).toBe('"No"');
    expect(yamlValue('6h')).toBe('"6h"');
    expect(yamlValue('127.0.0.1:53')).toBe('"127.0.0.1:53"');
    expect(yamlValue('1 day')).toBe('"1 day"');
    expect(yamlValue(['tiktok', '::/0'])).toBe('[tiktok, "::/0"]');
    expect(yamlValue({})).toBe('{}');
    expect(yamlValue({ a: 1, b: 'x y' })).toBe('{ a: 1, b: "x y" }');
    expect(yamlValue(false)).toBe('false');
    for (const value of ['null', 'No', '6h', '1 day', 'var/audit', 'a:b']) expect(parse(`k: ${yamlValue(value)}`)).toEqual({ k: value });
  });
});
