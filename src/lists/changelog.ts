// The changelog of a maintained list, `lists/<name>.changes`: one block per published version,
// oldest first, saying which entries were added and removed and which changed evidence, each
// with its reason and its source codes. Replaying the blocks rebuilds every version's entries,
// so `lists check` can prove the last block is the list as it is, and `lists diff` can compare
// any two versions.
//
//   ## 3f2a9c1b7e0d 2026-12-02T00:00:00Z      <- version and last-modified of the list
//   summary: one line for subscribers
//   + hypstarcdn.com  CSPT,CRT  reason         <- added (a reason starting "host:" marks a known host)
//   - capcutapi.com   HZ,HZX    reason         <- removed (the sources it had; a reason is required)
//   ~ tiktok.com      AG,CSPT   reason         <- same name, other sources or host: flag
// "# source: CODE text" lines before the first block declare codes that only the history uses.
import { type EntryState, type ListState, sameSources } from './list-diff.ts';

export type ChangeOp = '+' | '-' | '~';

export interface ChangeLine {
  readonly op: ChangeOp;
  readonly name: string;
  readonly sources: readonly string[];
  readonly reason: string;
  readonly line: number;
}

export interface ChangeBlock {
  readonly version: string;
  /** The list's last-modified at this version (ISO). */
  readonly date: string;
  readonly summary: string;
  readonly changes: readonly ChangeLine[];
  readonly line: number;
}

export interface ListChangelog {
  /** Oldest first. */
  readonly blocks: readonly ChangeBlock[];
  /** Codes declared in the changelog itself (retired from the list). */
  readonly sources: Readonly<Record<string, string>>;
}

export interface ParsedChangelog extends ListChangelog {
  readonly file: string;
  readonly problems: string[];
}

/** The changelog file of a list file: lists/tiktok.list -> lists/tiktok.changes. */
export function changelogFileOf(listFile: string): string {
  return listFile.replace(/\.list$/, '.changes');
}

const VERSION = /^[0-9a-z]{4,64}$/;
const CODE = /^[A-Za-z][A-Za-z0-9_-]*$/;

export function parseChangelog(text: string, file: string): ParsedChangelog {
  const blocks: { version: string; date: string; summary: string; changes: ChangeLine[]; line: number }[] = [];
  const sources: Record<string, string> = {};
  const problems: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    const at = `${file}:${lineNo}`;
    if (line.startsWith('## ')) {
      const [version = '', date = '', ...rest] = line.slice(3).trim().split(/\s+/);
      if (!VERSION.test(version) || Number.isNaN(Date.parse(date)) || rest.length > 0) {
        problems.push(`${at}: a version block starts "## <version> <last-modified>", e.g. "## 3f2a9c1b7e0d 2026-12-02T00:00:00Z"`);
        continue;
      }
      blocks.push({ version, date: new Date(date).toISOString(), summary: '', changes: [], line: lineNo });
      continue;
    }
    if (line.startsWith('#')) {
      const m = /^#\s*source:\s*(\S+)\s+(.*)$/.exec(line);
      if (m && blocks.length === 0) {
        if (sources[m[1] as string] !== undefined) problems.push(`${at}: source code "${m[1]}" is declared twice`);
        sources[m[1] as string] = (m[2] ?? '').trim();
      }
      continue;
    }
    const block = blocks.at(-1);
    if (!block) {
      problems.push(`${at}: a change before the first "## <version> <last-modified>" line`);
      continue;
    }
    if (line.startsWith('summary:')) {
      block.summary = line.slice('summary:'.length).trim();
      continue;
    }
    const op = line[0];
    const [name = '', sourceList = '', ...reason] = line.slice(1).trim().split(/\s+/);
    if ((op !== '+' && op !== '-' && op !== '~') || name === '' || sourceList === '') {
      problems.push(`${at}: write "+ name SOURCES reason", "- name SOURCES reason" or "~ name SOURCES reason"`);
      continue;
    }
    const codes = sourceList === '-' ? [] : sourceList.split(',');
    if (codes.some((c) => !CODE.test(c))) {
      problems.push(`${at}: "${sourceList}" is not a comma-separated list of source codes`);
      continue;
    }
    block.changes.push({ op, name: name.toLowerCase(), sources: codes, reason: reason.join(' '), line: lineNo });
  }
  return { file, blocks, sources, problems };
}

/** The entries every block leaves, in order; problems for changes that do not apply. */
export function replay(log: ListChangelog, file: string, until?: string): { state: Map<string, EntryState>; problems: string[] } {
  const state = new Map<string, EntryState>();
  const problems: string[] = [];
  for (const block of log.blocks) {
    for (const c of block.changes) {
      const at = `${file}:${c.line}`;
      const current = state.get(c.name);
      const entry: EntryState = { sources: c.sources, host: /^host:/i.test(c.reason), reason: c.reason };
      if (c.op === '+') {
        if (current) problems.push(`${at}: "${c.name}" is added but is already in the list (line of an earlier block); use "~" for other evidence`);
        state.set(c.name, entry);
      } else if (c.op === '-') {
        if (!current) problems.push(`${at}: "${c.name}" is removed but is not in the list at that version`);
        else if (!sameSources(current.sources, c.sources)) problems.push(`${at}: "${c.name}" had the sources ${current.sources.join(',')}, not ${c.sources.join(',') || '-'}`);
        if (c.reason === '') problems.push(`${at}: say why "${c.name}" is removed (subscribers read it)`);
        state.delete(c.name);
      } else {
        if (!current) problems.push(`${at}: "${c.name}" changes evidence but is not in the list at that version; use "+"`);
        state.set(c.name, entry);
      }
    }
    if (until !== undefined && block.version === until) break;
  }
  return { state, problems };
}

/** Why the changelog does not describe the list as it is, as "file:line: ..." problems. */
export function checkChangelog(
  log: ParsedChangelog,
  list: { file: string; version: string; lastModified: Date; state: ListState; sources: Readonly<Record<string, string>> },
): string[] {
  const problems = [...log.problems];
  const { state, problems: replayed } = replay(log, log.file);
  problems.push(...replayed);
  const seen = new Set<string>();
  let previous = '';
  for (const block of log.blocks) {
    const at = `${log.file}:${block.line}`;
    if (seen.has(block.version)) problems.push(`${at}: version ${block.version} has two blocks`);
    seen.add(block.version);
    if (block.date < previous) problems.push(`${at}: ${block.date} is older than the block before it; blocks go oldest first`);
    previous = block.date;
    if (block.summary === '') problems.push(`${at}: version ${block.version} has no "summary:" line`);
    for (const c of block.changes) {
      for (const code of c.sources) {
        if (list.sources[code] === undefined && log.sources[code] === undefined) {
          problems.push(`${log.file}:${c.line}: source "${code}" is declared neither in ${list.file} nor in this file ("# source: ${code} ..." before the first block)`);
        }
      }
    }
  }
  for (const code of Object.keys(log.sources)) {
    if (list.sources[code] !== undefined) problems.push(`${log.file}:1: source "${code}" is declared here and in ${list.file}; keep the list's declaration`);
    else if (!log.blocks.some((b) => b.changes.some((c) => c.sources.includes(code)))) problems.push(`${log.file}:1: source "${code}" is declared but no change uses it`);
  }
  const last = log.blocks.at(-1);
  if (!last) return [...problems, `${log.file}:1: no version block; describe the list's current version ${list.version}`];
  const lastAt = `${log.file}:${last.line}`;
  if (last.version !== list.version) {
    problems.push(`${lastAt}: the newest block is version ${last.version}, the list is version ${list.version}; add a block for it (dnsward lists diff --changes)`);
  }
  if (last.date !== list.lastModified.toISOString()) problems.push(`${lastAt}: the newest block is dated ${last.date}, the list's last-modified is ${list.lastModified.toISOString()}`);
  for (const [name, entry] of list.state) {
    const logged = state.get(name);
    if (!logged) problems.push(`${lastAt}: "${name}" is in ${list.file} but no block adds it`);
    else if (!sameSources(logged.sources, entry.sources)) problems.push(`${lastAt}: "${name}" has the sources ${entry.sources.join(',')} in ${list.file}, ${logged.sources.join(',')} in the changelog`);
    else if (logged.host !== entry.host) problems.push(`${lastAt}: "${name}" is ${entry.host ? '' : 'not '}a "host:" entry in ${list.file}, the changelog says otherwise`);
  }
  for (const name of state.keys()) if (!list.state.has(name)) problems.push(`${lastAt}: "${name}" is not in ${list.file} but no block removes it`);
  return problems;
}

/** Counts of one block, for titles: "+12 -3 ~40". */
export function blockCounts(block: ChangeBlock): { added: number; removed: number; changed: number } {
  let added = 0;
  let removed = 0;
  let changed = 0;
  for (const c of block.changes) {
    if (c.op === '+') added++;
    else if (c.op === '-') removed++;
    else changed++;
  }
  return { added, removed, changed };
}

/** A block in the changelog's own syntax, ready to append (removals carry no reason yet: `lists check` asks for one). */
export function formatChangeBlock(version: string, date: Date, summary: string, diff: { added: readonly ChangedLike[]; removed: readonly ChangedLike[]; changed: readonly ChangedLike[] }): string {
  const width = Math.min(44, Math.max(0, ...[...diff.added, ...diff.removed, ...diff.changed].map((c) => c.name.length)));
  const line = (op: ChangeOp, c: ChangedLike): string => `${op} ${c.name.padEnd(width)}  ${c.sources.join(',') || '-'}${c.reason ? `  ${c.reason}` : ''}`;
  return [
    `## ${version} ${date.toISOString().replace(/\.000Z$/, 'Z')}`,
    `summary: ${summary}`,
    ...diff.added.map((c) => line('+', c)),
    ...diff.removed.map((c) => line('-', c)),
    ...diff.changed.map((c) => line('~', c)),
    '',
  ].join('\n');
}

interface ChangedLike {
  readonly name: string;
  readonly sources: readonly string[];
  readonly reason: string;
}
