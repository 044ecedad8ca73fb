// The config's JSON Schema and its reference YAML (every key, its default, its meaning), both
// generated from the zod schema, the one source of keys, defaults and descriptions.
// `npm run gen:config` writes them to deploy/; a unit test fails when those copies are stale.
import { z } from 'zod';
import { configSchema } from './schema.ts';

/** The generated files' names, next to each other in deploy/. */
export const REFERENCE_FILE = 'deploy/dnsward.reference.yaml';
export const JSON_SCHEMA_FILE = 'deploy/dnsward.schema.json';

/** What the reference renders from: the subset of JSON Schema that z.toJSONSchema emits. */
interface SchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  examples?: unknown[];
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  anyOf?: SchemaNode[];
}

/** The JSON Schema (draft 2020-12) of what a config file may contain, for editors and CI. */
export function configJsonSchema(): Record<string, unknown> {
  // io: 'input' describes the file as written: keys with a default are optional.
  return z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' });
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

const HEADER = [
  '# yaml-language-server: $schema=dnsward.schema.json',
  '# dnsward reference config: every key, its default, and what it means.',
  '# Generated from the schema in src/config/ by `npm run gen:config` (also printed by',
  '# `dnsward config reference`); do not edit it by hand.',
  '#',
  '# A key you leave out takes the value shown here; a key shown commented out has no',
  '# default and stays off until you set it. Relative paths, defaults included, resolve',
  '# against the directory of the config file. The file as a whole passes validation.',
];

/** The reference config: a valid config file listing every key with its default and meaning. */
export function referenceYaml(): string {
  const root = configJsonSchema() as SchemaNode;
  const lines = [...HEADER];
  for (const [key, node] of Object.entries(root.properties ?? {})) {
    lines.push('');
    renderKey(lines, key, node, { pad: '', bullet: false, required: root.required?.includes(key) ?? false, inComment: false });
  }
  return `${lines.join('\n')}\n`;
}

interface Place {
  /** What every line of this key starts with: indentation, and "# " inside a commented-out block. */
  pad: string;
  /** The first key of a list item: written after "- ". */
  bullet: boolean;
  required: boolean;
  /** The value the example list item gives this key. */
  example?: unknown;
  inComment: boolean;
}

function renderKey(out: string[], key: string, node: SchemaNode, at: Place): void {
  const description = describe(node);
  if (description) out.push(`${at.pad}# ${description}`);
  const hasDefault = 'default' in node;
  // An optional key without a default is shown commented out, with an example value.
  const off = !at.inComment && !hasDefault && !at.required && at.example === undefined;
  const inComment = at.inComment || off;
  const lead = `${at.pad}${off ? '# ' : ''}${at.bullet ? '- ' : ''}`;
  const inner = `${at.pad}${off ? '# ' : ''}${at.bullet ? '  ' : ''}  `;
  const example = at.example !== undefined ? at.example : node.examples?.[0];

  if (node.properties) {
    out.push(`${lead}${key}:`);
    for (const [childKey, child] of Object.entries(node.properties)) {
      const fromExample = field(at.example, childKey);
      renderKey(out, childKey, child, { pad: inner, bullet: false, required: (node.required?.includes(childKey) ?? false) || fromExample !== undefined, example: fromExample, inComment });
    }
    return;
  }
  const item = node.items;
  if (item?.properties) {
    // A list of mappings: one item with every key, from the example or commented out.
    const value = hasDefault ? node.default : example;
    const shown: unknown = Array.isArray(value) ? value[0] : undefined;
    out.push(shown === undefined && hasDefault ? `${lead}${key}: ${yamlValue(node.default)}` : `${lead}${key}:`);
    const itemOff = !inComment && shown === undefined;
    const itemPad = itemOff ? `${at.pad}${at.bullet ? '  ' : ''}#   ` : inner;
    Object.entries(item.properties).forEach(([childKey, child], index) => {
      const fromExample = field(shown, childKey);
      const required = (item.required?.includes(childKey) ?? false) || fromExample !== undefined;
      renderKey(out, childKey, child, { pad: index === 0 ? itemPad : `${itemPad}  `, bullet: index === 0, required, example: fromExample, inComment: inComment || itemOff });
    });
    return;
  }
  const value = at.example !== undefined ? at.example : hasDefault ? node.default : example;
  out.push(value === undefined ? `${lead}${key}:` : `${lead}${key}: ${yamlValue(value)}`);
}

function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}

/** The description, with the allowed values appended when it does not name them all. */
function describe(node: SchemaNode): string | undefined {
  const choices = node.enum ?? node.anyOf?.flatMap((n) => n.enum ?? []);
  const text = node.description;
  if (!choices || choices.length === 0 || !text) return text;
  if (choices.every((c) => text.toLowerCase().includes(String(c)))) return text;
  return `${text.replace(/\.$/, '')}; one of ${choices.map((c) => yamlValue(c)).join(' | ')}.`;
}

const YAML_WORDS = /^(true|false|yes|no|on|off|y|n|null|~)$/i;

/** A value as YAML: plain words unquoted, other strings in double quotes, lists in flow style. */
export function yamlValue(value: unknown): string {
  if (typeof value === 'string') return /^[A-Za-z][A-Za-z0-9_./-]*$/.test(value) && !YAML_WORDS.test(value) ? value : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => yamlValue(v)).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => `${k}: ${yamlValue(v)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return JSON.stringify(value);
}
