// Parser for the maintained list files in lists/ (`<name>.list`).
//
// Format (plain text, one entry per line, diff-friendly; see docs/LISTS.md):
//   # title: TikTok                      <- header metadata, "# key: value" before the first entry
//   # description: ...                      (keys: title, description, license, homepage,
//   # last-modified: 2026-11-28T00:00:00Z    last-modified, expires, source)
//   # source: AG  AdGuard "TikTok" service <- one line per provenance code used below
//   tiktok.com  2026-11-28  AG,HZS  optional free-text note
//   ^domain     ^added      ^sources (comma-separated codes)
//   log.tiktokv.com  2026-11-28  HZ  host: app logs
//                                    ^ a note starting with "host:" marks a known host under a
//                                      listed parent, kept only for exact-name formats (hosts)
// Blank lines and other "#" lines are comments. Leading whitespace is ignored.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { findListedSuffix, normalizeDomain } from '../dns/domain-name.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { changelogFileOf, type ListChangelog, parseChangelog } from './changelog.ts';
import { streamListFile } from './list-stream.ts';
import type { ListSnapshot } from './types.ts';

export interface ListEntry {
  domain: string;
  added: string;
  sources: string[];
  note: string;
  line: number;
  /** A known host under a listed parent ("host:" note): exact-name formats only. */
  host: boolean;
}

export interface ParsedListFile {
  name: string;
  file: string;
  meta: Record<string, string>;
  /** Provenance codes declared with "# source: CODE description". */
  sources: Record<string, string>;
  entries: ListEntry[];
  problems: string[];
}

/** Header keys read from "# key: value" lines; other "# word:" lines are plain comments. */
export const META_KEYS: ReadonlySet<string> = new Set(['title', 'description', 'license', 'homepage', 'last-modified', 'expires']);

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const SOURCE_CODE = /^[A-Za-z][A-Za-z0-9_-]*$/;

export function parseListFile(text: string, file: string): ParsedListFile {
  const meta: Record<string, string> = {};
  const sources: Record<string, string> = {};
  const entries: ListEntry[] = [];
  const problems: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*([a-z][a-z_-]*):\s*(.*)$/i.exec(line);
      if (!m || entries.length > 0) continue;
      const key = (m[1] ?? '').toLowerCase();
      const value = (m[2] ?? '').trim();
      if (key === 'source') {
        const [code = '', ...rest] = value.split(/\s+/);
        if (!SOURCE_CODE.test(code)) problems.push(`${file}:${lineNo}: "# source:" needs a code and a description, e.g. "# source: AG  AdGuard TikTok service"`);
        else if (sources[code] !== undefined) problems.push(`${file}:${lineNo}: source code "${code}" is declared twice`);
        else sources[code] = rest.join(' ');
      } else if (META_KEYS.has(key)) {
        meta[key] = value;
      }
      continue;
    }
    const [rawDomain = '', added = '', sourceList = '', ...noteWords] = line.split(/\s+/);
    const domain = normalizeDomain(rawDomain);
    if (domain === undefined) {
      problems.push(`${file}:${lineNo}: "${rawDomain}" is not a valid domain name (lowercase LDH labels, at least two, no wildcard)`);
      continue;
    }
    if (!DATE.test(added) || Number.isNaN(Date.parse(`${added}T00:00:00Z`))) {
      problems.push(`${file}:${lineNo}: missing or malformed date added after "${rawDomain}" (write YYYY-MM-DD)`);
      continue;
    }
    if (sourceList === '' || sourceList.split(',').some((s) => !SOURCE_CODE.test(s))) {
      problems.push(`${file}:${lineNo}: "${rawDomain}" has no valid source; say where the entry comes from as comma-separated codes (e.g. AG,HZS)`);
      continue;
    }
    const note = noteWords.join(' ');
    entries.push({ domain, added, sources: sourceList.split(','), note, line: lineNo, host: /^host:/i.test(note) });
  }
  return { name: basename(file).replace(/\.list$/, ''), file, meta, sources, entries, problems };
}

/** The names a list blocks: de-duplicated, sorted, without names covered by a listed parent. */
export function blockingDomains(entries: readonly { domain: string }[]): string[] {
  const unique = new Set(entries.map((e) => e.domain));
  return [...unique].filter((d) => findListedSuffix(d, unique, 'parent') === undefined).sort();
}

/** Compiles entries into a snapshot: de-duplicated, sorted, and without names covered by a listed parent. */
export function compileSnapshot(parsed: ParsedListFile, lastModified: Date, changes?: ListChangelog): ListSnapshot {
  const domains = blockingDomains(parsed.entries.filter((e) => !e.host));
  const blocked = new Set(domains);
  // Known hosts: every listed name that exact-name consumers need written out, parents included.
  const hosts = [...new Set(parsed.entries.map((e) => e.domain))].filter((d) => findListedSuffix(d, blocked) !== undefined).sort();
  const title = parsed.meta.title ?? parsed.name;
  const description = parsed.meta.description ?? '';
  const hash = createHash('sha256');
  for (const part of [title, description, parsed.meta.license ?? '', domains.join('\n'), hosts.join('\n')]) hash.update(part).update('\0');
  return {
    name: parsed.name,
    title,
    description,
    version: hash.digest('hex').slice(0, 12),
    lastModified,
    domains,
    hosts,
    license: parsed.meta.license,
    origin: 'maintained',
    provenance: parsed.entries.map((e) => ({ domain: e.domain, added: e.added, sources: e.sources, ...(e.note ? { note: e.note } : {}), ...(e.host ? { host: true } : {}) })),
    sourceCodes: parsed.sources,
    ...(changes ? { changes } : {}),
  };
}

/** The list's changelog beside it (lists/<name>.changes), or undefined when there is none. */
export async function readChangelog(listFile: string): Promise<ReturnType<typeof parseChangelog> | undefined> {
  const file = changelogFileOf(listFile);
  try {
    return parseChangelog(await readFile(file, 'utf8'), file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** When the list last changed: "# last-modified:" if given, else the newest date added. */
export function listLastModified(parsed: ParsedListFile): Date {
  const declared = parsed.meta['last-modified'];
  if (declared) {
    const when = new Date(/^\d{4}-\d{2}-\d{2}$/.test(declared) ? `${declared}T00:00:00Z` : declared);
    if (!Number.isNaN(when.getTime())) return when;
  }
  const newest = parsed.entries.map((e) => e.added).sort().at(-1);
  return newest ? new Date(`${newest}T00:00:00Z`) : new Date(0);
}

/** The `*.list` files in dir, sorted; a missing or unreadable dir is a config error naming lists.dir. */
async function listFileNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => n.endsWith('.list')).sort();
  } catch (error) {
    throw new DnswardError(ErrorCodes.CONFIG, `lists.dir: cannot read "${dir}": ${(error as Error).message}; point lists.dir at the lists/ folder`, {
      cause: error,
    });
  }
}

/** Reads and parses every `*.list` file in dir (no validation beyond syntax). */
export async function readListDir(dir: string): Promise<ParsedListFile[]> {
  const names = await listFileNames(dir);
  const parsed: ParsedListFile[] = [];
  for (const name of names) {
    const file = join(dir, name);
    parsed.push(parseListFile(await readFile(file, 'utf8'), file));
  }
  return parsed;
}

/** Files above this size load through the streaming loader (compact set, no per-entry provenance). */
export const STREAM_THRESHOLD_BYTES = 4 * 1024 * 1024;

/** Loads every `*.list` file in dir. Throws DNSWARD_ERR_LIST_SYNTAX naming file:line for bad lines. */
export async function loadListDir(dir: string): Promise<ListSnapshot[]> {
  const names = await listFileNames(dir);
  const snapshots: ListSnapshot[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const size = (await stat(file)).size;
    if (size > STREAM_THRESHOLD_BYTES) {
      snapshots.push(await streamListFile(file, size));
      continue;
    }
    const parsed = parseListFile(await readFile(file, 'utf8'), file);
    if (parsed.problems.length > 0) throw new DnswardError(ErrorCodes.LIST_SYNTAX, parsed.problems.join('\n'));
    // A changelog with mistakes still loads (lists check reports them); the list never waits on it.
    const log = await readChangelog(file);
    snapshots.push(compileSnapshot(parsed, listLastModified(parsed), log ? { blocks: log.blocks, sources: log.sources } : undefined));
  }
  return snapshots;
}
