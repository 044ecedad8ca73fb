// Parser for the maintained list files in lists/ (`<name>.list`).
//
// Format (plain text, one entry per line, diff-friendly):
//   # title: TikTok                      <- header metadata, "# key: value" before the first entry
//   # description: ...
//   tiktok.com  2026-11-28  adguard,hagezi  optional free-text note
//   ^domain     ^added      ^sources (comma-separated)
// Blank lines and other "#" lines are comments.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { normalizeDomain } from './domain.ts';
import type { ListSnapshot } from './types.ts';

export interface ListEntry {
  domain: string;
  added: string;
  sources: string[];
  note: string;
  line: number;
}

export interface ParsedListFile {
  name: string;
  meta: Record<string, string>;
  entries: ListEntry[];
  problems: string[];
}

export function parseListFile(text: string, file: string): ParsedListFile {
  const meta: Record<string, string> = {};
  const entries: ListEntry[] = [];
  const problems: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*([a-z][a-z_-]*):\s*(.*)$/i.exec(line);
      if (m && entries.length === 0 && m[1] !== undefined) meta[m[1].toLowerCase()] = (m[2] ?? '').trim();
      continue;
    }
    const [rawDomain = '', added = '', sources = '', ...note] = line.split(/\s+/);
    const domain = normalizeDomain(rawDomain);
    if (domain === undefined) {
      problems.push(`${file}:${lineNo}: "${rawDomain}" is not a valid domain name`);
      continue;
    }
    if (!/^\d{4}-\d{2}-\d{2}$/.test(added)) {
      problems.push(`${file}:${lineNo}: missing or malformed date added after "${rawDomain}" (write YYYY-MM-DD)`);
      continue;
    }
    if (sources === '') {
      problems.push(`${file}:${lineNo}: "${rawDomain}" has no source; say where the entry comes from (e.g. adguard,hagezi)`);
      continue;
    }
    entries.push({ domain, added, sources: sources.split(','), note: note.join(' '), line: lineNo });
  }
  return { name: basename(file).replace(/\.list$/, ''), meta, entries, problems };
}

/** Compiles entries into a snapshot: de-duplicated, sorted, and without names covered by a listed parent. */
export function compileSnapshot(parsed: ParsedListFile, lastModified: Date): ListSnapshot {
  const unique = new Set(parsed.entries.map((e) => e.domain));
  const domains = [...unique].filter((d) => !hasListedParent(d, unique)).sort();
  const digest = createHash('sha256').update(domains.join('\n')).digest('hex').slice(0, 12);
  return {
    name: parsed.name,
    title: parsed.meta.title ?? parsed.name,
    description: parsed.meta.description ?? '',
    version: digest,
    lastModified,
    domains,
  };
}

function hasListedParent(domain: string, set: ReadonlySet<string>): boolean {
  for (let dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.', dot + 1)) {
    if (set.has(domain.slice(dot + 1))) return true;
  }
  return false;
}

/** Loads every `*.list` file in dir. Throws DNSWARD_ERR_LIST_SYNTAX naming file:line for bad lines. */
export async function loadListDir(dir: string): Promise<ListSnapshot[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.list')).sort();
  } catch (error) {
    throw new DnswardError(ErrorCodes.CONFIG, `lists.dir: cannot read "${dir}": ${(error as Error).message}; point lists.dir at the lists/ folder`, {
      cause: error,
    });
  }
  const snapshots: ListSnapshot[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const parsed = parseListFile(await readFile(file, 'utf8'), file);
    if (parsed.problems.length > 0) throw new DnswardError(ErrorCodes.LIST_SYNTAX, parsed.problems.join('\n'));
    const updated = parsed.meta['last-modified'] ?? parsed.entries.map((e) => e.added).sort().at(-1);
    snapshots.push(compileSnapshot(parsed, updated ? new Date(`${updated}T00:00:00Z`) : new Date(0)));
  }
  return snapshots;
}
