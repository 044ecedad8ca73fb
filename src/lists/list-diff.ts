// What changed between two versions of a maintained list: entries added, removed, and kept
// with other evidence (source codes). Used by the changelog (changelog.ts), `lists check`
// (the changelog must replay to the list) and `dnsward lists diff`.

/** One entry as the changelog tracks it: its evidence and whether it is a known host ("host:"). */
export interface EntryState {
  readonly sources: readonly string[];
  readonly host: boolean;
  /** The entry's note (added entries) or the reason given for the change. */
  readonly reason: string;
}

/** A list's entries by name. */
export type ListState = ReadonlyMap<string, EntryState>;

export interface ChangedEntry {
  readonly name: string;
  readonly sources: readonly string[];
  readonly reason: string;
  /** For evidence changes: the sources before. */
  readonly before?: readonly string[];
  readonly host?: boolean;
}

export interface ListDiff {
  readonly added: readonly ChangedEntry[];
  readonly removed: readonly ChangedEntry[];
  /** Same name, other sources or a different host: flag. */
  readonly changed: readonly ChangedEntry[];
}

/** The state of a parsed list: every entry (hosts included) with its sources and note. */
export function stateOf(entries: readonly { domain: string; sources: readonly string[]; host: boolean; note: string }[]): Map<string, EntryState> {
  const state = new Map<string, EntryState>();
  for (const e of entries) if (!state.has(e.domain)) state.set(e.domain, { sources: [...e.sources], host: e.host, reason: e.note });
  return state;
}

export function sameSources(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((s) => set.has(s));
}

/** Entries of `after` not in `before`, of `before` not in `after`, and in both with other evidence; each sorted by name. */
export function diffStates(before: ListState, after: ListState): ListDiff {
  const added: ChangedEntry[] = [];
  const removed: ChangedEntry[] = [];
  const changed: ChangedEntry[] = [];
  for (const [name, now] of after) {
    const then = before.get(name);
    if (!then) added.push({ name, sources: now.sources, reason: now.reason, host: now.host });
    else if (!sameSources(then.sources, now.sources) || then.host !== now.host) {
      changed.push({ name, sources: now.sources, before: then.sources, reason: evidenceChange(then, now), host: now.host });
    }
  }
  for (const [name, then] of before) if (!after.has(name)) removed.push({ name, sources: then.sources, reason: '', host: then.host });
  const byName = (a: ChangedEntry, b: ChangedEntry): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return { added: added.sort(byName), removed: removed.sort(byName), changed: changed.sort(byName) };
}

/** "evidence +CSPT +APP -ND" (and the host: flag when it changed), as a default reason. */
export function evidenceChange(then: EntryState, now: EntryState): string {
  const was = new Set(then.sources);
  const is = new Set(now.sources);
  const parts = [...now.sources.filter((s) => !was.has(s)).map((s) => `+${s}`), ...then.sources.filter((s) => !is.has(s)).map((s) => `-${s}`)];
  const text = parts.length > 0 ? `evidence ${parts.join(' ')}` : 'unchanged evidence';
  if (then.host === now.host) return now.host ? `host: ${text}` : text;
  return now.host ? `host: ${text}; now a known host under a listed parent` : `${text}; now a blocking entry of its own`;
}

export function diffSize(diff: ListDiff): number {
  return diff.added.length + diff.removed.length + diff.changed.length;
}

/** A one-line count, e.g. "3 added, 1 removed, 14 with other evidence". */
export function diffSummary(diff: ListDiff): string {
  return `${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} with other evidence`;
}
