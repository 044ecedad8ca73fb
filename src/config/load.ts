// YAML text → validated, typed Config. Errors name the key, the bad value and the fix.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { parseCidr } from '../util/address.ts';
import { resolveConfigPaths } from './paths.ts';
import { keysAt } from './schema-walk.ts';
import { serviceFindings } from './service-checks.ts';
import { type Config, configSchema } from './schema.ts';

/** Where an unknown-key error sends the user: a file in the repository, and a command that works anywhere. */
export const REFERENCE_HINT = 'every key is in deploy/dnsward.reference.yaml, also printed by `dnsward config reference`';

export interface ParseOptions {
  /** Relative paths in the config resolve against this directory; absent: they stay relative (to the current directory). */
  baseDir?: string;
  /**
   * Also run the checks of a config about to be served (`serve`, `config check`): clients
   * that would be REFUSED, an open resolver, weak or missing tokens (./service-checks.ts).
   */
  service?: { env: NodeJS.ProcessEnv };
}

export interface CheckedConfig {
  config: Config;
  /** Problems that do not stop the service, each naming the source and the key. */
  warnings: string[];
}

/** Validates config text; `source` names it in errors. Paths resolve against options.baseDir. */
export function parseConfig(text: string, source = 'config', options: ParseOptions = {}): Config {
  return checkConfigText(text, source, options).config;
}

/** parseConfig, with the warnings. Throws one DnswardError listing every error. */
export function checkConfigText(text: string, source = 'config', options: ParseOptions = {}): CheckedConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => `${source}: YAML syntax: ${e.message.split('\n')[0]}`);
    throw new DnswardError(ErrorCodes.CONFIG, lines.join('\n'));
  }
  const raw: unknown = doc.toJS() ?? {};
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new DnswardError(ErrorCodes.CONFIG, formatIssues(result.error.issues, raw, source));
  }
  const config = result.data;
  const problems = semanticProblems(config);
  const findings = options.service ? serviceFindings(config, options.service.env) : { errors: [], warnings: [] };
  problems.push(...findings.errors);
  if (problems.length > 0) throw new DnswardError(ErrorCodes.CONFIG, problems.map((p) => `${source}: ${p}`).join('\n'));
  return {
    config: options.baseDir === undefined ? config : resolveConfigPaths(configSchema, config, options.baseDir),
    warnings: findings.warnings.map((w) => `${source}: warning: ${w}`),
  };
}

export async function loadConfigFile(path: string, options: Omit<ParseOptions, 'baseDir'> = {}): Promise<Config> {
  return (await checkConfigFile(path, options)).config;
}

/** Reads and checks a config file; relative paths in it resolve against its directory. */
export async function checkConfigFile(path: string, options: Omit<ParseOptions, 'baseDir'> = {}): Promise<CheckedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new DnswardError(
      ErrorCodes.CONFIG_READ,
      `cannot read config file ${path}: ${(error as Error).message}; pass an existing file with --config`,
      { cause: error },
    );
  }
  // Relative paths in the file mean "next to this file", whatever the current directory.
  return checkConfigText(text, path, { ...options, baseDir: dirname(resolve(path)) });
}

function semanticProblems(config: Config): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const networkOwner = new Map<string, string>();
  config.segments.forEach((segment, index) => {
    segment.networks.forEach((network, j) => {
      const parsed = parseCidr(network);
      const key = typeof parsed === 'string' ? network : `${parsed.family}/${parsed.network}/${parsed.prefix}`;
      const owner = networkOwner.get(key);
      if (owner !== undefined) problems.push(`segments[${index}].networks[${j}]: "${network}" is already in ${owner}; a network belongs to one segment`);
      else networkOwner.set(key, `segments[${index}] (${segment.name})`);
    });
    const first = seen.get(segment.name);
    if (first !== undefined) {
      problems.push(`segments[${index}].name: "${segment.name}" is already used by segments[${first}]; segment names must be unique`);
    } else {
      seen.set(segment.name, index);
    }
    if (segment.action !== 'allow' && segment.lists.length === 0) {
      problems.push(`segments[${index}].lists: a segment with action "${segment.action}" needs at least one list, e.g. lists: [tiktok]`);
    }
  });
  return problems;
}

function formatIssues(issues: readonly z.core.$ZodIssue[], raw: unknown, source: string): string {
  return issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        const known = keysAt(configSchema, issue.path);
        return issue.keys
          .map((k) => {
            const near = closestKey(k, known);
            const fix = near === undefined ? 'remove or correct it' : `did you mean "${near}"?`;
            return `${source}: ${formatPath([...issue.path, k])}: unknown key; ${fix} (${REFERENCE_HINT})`;
          })
          .join('\n');
      }
      const key = formatPath(issue.path);
      const value = valueAt(raw, issue.path);
      const shown = value === undefined ? 'missing' : showValue(value, issue.path);
      return `${source}: ${key || '(top level)'}: ${shown} is not valid: ${describe(issue)}`;
    })
    .join('\n');
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value') {
    return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}`;
  }
  return issue.message;
}

/** The known key a typo most likely meant: at most two edits away (or one for short keys). */
export function closestKey(typed: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = typed.length <= 4 ? 2 : 3;
  for (const key of known) {
    const d = editDistance(typed.toLowerCase(), key);
    if (d < bestDistance) [best, bestDistance] = [key, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] as number;
}

const SECRET_KEYS = new Set(['auth', 'tokens', 'token', 'secret', 'password', 'pseudonym_secret', 'signing_key']);

/** A value at this path may be a secret: a token (also one written under the wrong key), a password, an *_env name. */
function isSecretPath(path: readonly PropertyKey[]): boolean {
  const key = path.at(-1);
  if (typeof key === 'string') return SECRET_KEYS.has(key) || key.endsWith('_env');
  // An entry of a token list: `tokens: ["the-token"]` puts the secret right there.
  return path.at(-2) === 'tokens';
}

/**
 * A value as an error shows it: scalars and lists of scalars in JSON, mappings as their keys
 * only, secrets never (errors reach stderr and logs), passwords in URLs masked.
 */
function showValue(value: unknown, path: readonly PropertyKey[]): string {
  const mapping = value !== null && typeof value === 'object' && !Array.isArray(value);
  if (mapping) return `{ ${Object.keys(value).join(', ')} }`;
  if (isSecretPath(path)) return '(value hidden)';
  if (typeof value === 'string') return JSON.stringify(value.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@'));
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object')) return JSON.stringify(value);
  if (Array.isArray(value)) return `a list of ${value.length} entries`;
  return JSON.stringify(value);
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = raw;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}
