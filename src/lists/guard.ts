// The collateral guard: never-block.txt applied at run time to every list in force (the shipped
// lists, subscribed sources, the organisation's own entries), not only by `lists check`. An
// entry that equals or is a parent of a never-block name (aliyuncs.com, akamaized.net, com), or
// lies at or below a name marked "subtree:" (a cloud DNS name server), is dropped: the list
// version is enforced without it, the drop is logged once per list version, and the snapshot
// says what was dropped (for /lists and the dnsward_list_guarded_entries metric).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findListedSuffix, isSameOrSubdomain } from '../dns/domain-name.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import type { DomainSet } from './domain-set.ts';
import { type ParsedListFile, parseListFile } from './list-file.ts';
import type { GuardedEntry, ListSnapshot } from './types.ts';

/** The never-block file beside the lists. */
export const NEVER_BLOCK_FILE = 'never-block.txt';

export interface NeverBlock {
  /** Names no entry may equal or be a parent of. */
  readonly names: readonly string[];
  /** Of those, the ones nothing may be listed at or below ("subtree:" notes). */
  readonly subtrees: readonly string[];
}

export const EMPTY_NEVER_BLOCK: NeverBlock = { names: [], subtrees: [] };

/** A never-block note starting "subtree:" protects the name and everything below it. */
export function isSubtreeNote(note: string): boolean {
  return /^subtree:/i.test(note);
}

export function neverBlockFrom(parsed: Pick<ParsedListFile, 'entries'>): NeverBlock {
  const names = [...new Set(parsed.entries.map((e) => e.domain))];
  const subtrees = [...new Set(parsed.entries.filter((e) => isSubtreeNote(e.note)).map((e) => e.domain))];
  return { names, subtrees };
}

/** Reads DIR/never-block.txt; no file, no guard. A malformed file is an error naming file:line, like a list's. */
export async function loadNeverBlock(dir: string): Promise<NeverBlock> {
  const file = join(dir, NEVER_BLOCK_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_NEVER_BLOCK;
    throw new DnswardError(ErrorCodes.CONFIG, `lists.dir: cannot read "${file}": ${(error as Error).message}`, { cause: error });
  }
  const parsed = parseListFile(text, file);
  if (parsed.problems.length > 0) throw new DnswardError(ErrorCodes.LIST_SYNTAX, parsed.problems.join('\n'));
  return neverBlockFrom(parsed);
}

/** Subtree scans already made, per set (sources.ts records the one its parser made while loading). */
const scans = new WeakMap<DomainSet, { key: string; names: readonly string[] }>();

/** Remembers which names of `set` lie at or below `roots`, so the guard does not scan the set again. */
export function recordSubtreeScan(set: DomainSet, roots: readonly string[], names: readonly string[]): void {
  scans.set(set, { key: roots.join('\n'), names });
}

function namesUnder(set: DomainSet, roots: readonly string[]): readonly string[] {
  const key = roots.join('\n');
  const cached = scans.get(set);
  if (cached?.key === key) return cached.names;
  const names = set.namesUnder(roots);
  scans.set(set, { key, names });
  return names;
}

/** The entries of a list that the guard drops, each with the never-block name it would block. */
export function guardedEntries(snapshot: ListSnapshot, guard: NeverBlock): GuardedEntry[] {
  const dropped = new Map<string, string>();
  const set = snapshot.set;
  const listed = set ?? new Set(snapshot.domains);
  // Parents: walk each protected name's suffixes (a handful of lookups per name, whatever the list's size).
  for (const name of guard.names) {
    if (listed.has(name) && !dropped.has(name)) dropped.set(name, name);
    for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
      const parent = name.slice(dot + 1);
      if (listed.has(parent) && !dropped.has(parent)) dropped.set(parent, name);
    }
  }
  // Subtrees: every listed name at or below one (one pass over the list).
  if (guard.subtrees.length > 0) {
    const under = set ? namesUnder(set, guard.subtrees) : snapshot.domains.filter((d) => guard.subtrees.some((root) => isSameOrSubdomain(d, root)));
    for (const domain of under) if (!dropped.has(domain)) dropped.set(domain, guard.subtrees.find((root) => isSameOrSubdomain(domain, root)) ?? domain);
  }
  return [...dropped].map(([domain, protects]) => ({ domain, protects })).sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
}

/** A version for the list as enforced: the base version when nothing is dropped, else one hashing the drops in. */
export function guardedVersion(baseVersion: string, dropped: readonly GuardedEntry[]): string {
  if (dropped.length === 0) return baseVersion;
  const hash = createHash('sha256').update(baseVersion).update('\0guard\0');
  for (const g of dropped) hash.update(g.domain).update('\n');
  return hash.digest('hex').slice(0, 12);
}

/** The snapshot without its guarded entries (the same object when none). The set in force is never changed: a copy is. */
export function applyNeverBlock(snapshot: ListSnapshot, guard: NeverBlock): ListSnapshot {
  const dropped = guardedEntries(snapshot, guard);
  if (dropped.length === 0) return snapshot;
  const gone = new Set(dropped.map((g) => g.domain));
  const version = guardedVersion(snapshot.version, dropped);
  // Copies every member as defined (a lazy `domains` getter stays lazy), then replaces the names.
  const descriptors = Object.getOwnPropertyDescriptors(snapshot) as PropertyDescriptorMap;
  for (const key of ['domains', 'hosts', 'set', 'version', 'guarded', 'provenance']) delete descriptors[key];
  const next = Object.defineProperties({}, descriptors) as Record<string, unknown>;
  next.version = version;
  next.guarded = dropped;
  if (snapshot.set !== undefined) {
    const set = snapshot.set.clone();
    for (const domain of gone) set.delete(domain);
    let materialised: string[] | undefined;
    next.set = set;
    Object.defineProperty(next, 'domains', {
      enumerable: true,
      get: (): readonly string[] => {
        materialised ??= set.toSortedArray();
        return materialised;
      },
    });
    if (snapshot.provenance) next.provenance = snapshot.provenance.filter((p) => !gone.has(p.domain));
    return next as unknown as ListSnapshot;
  }
  const domains = snapshot.domains.filter((d) => !gone.has(d));
  const kept = new Set(domains);
  // Known hosts only under a domain still blocked: a hosts file must not list what DNS formats no longer block.
  const hosts = snapshot.hosts?.filter((h) => !gone.has(h) && findListedSuffix(h, kept) !== undefined);
  next.domains = domains;
  if (hosts) next.hosts = hosts;
  if (snapshot.provenance) {
    const names = new Set([...domains, ...(hosts ?? [])]);
    next.provenance = snapshot.provenance.filter((p) => names.has(p.domain));
  }
  return next as unknown as ListSnapshot;
}

export interface GuardLogger {
  warn(fields: object, message: string): void;
}

/**
 * Applies never-block to each list version installed, and logs what it dropped once per list
 * version (a source refreshed every hour with the same body does not log again).
 */
export class CollateralGuard {
  readonly neverBlock: NeverBlock;
  private readonly log: GuardLogger | undefined;
  /** List name -> the last version whose drops were logged (shared with the guard's successors). */
  private readonly logged: Map<string, string>;
  /** The result per input snapshot: a list re-installed unchanged (an overlay change elsewhere) costs nothing. */
  private readonly results = new WeakMap<ListSnapshot, ListSnapshot>();

  constructor(neverBlock: NeverBlock, log?: GuardLogger, logged = new Map<string, string>()) {
    this.neverBlock = neverBlock;
    this.log = log;
    this.logged = logged;
  }

  /** The same guard with another never-block file (a reload): same logger, and versions logged stay logged. */
  withNeverBlock(neverBlock: NeverBlock): CollateralGuard {
    return new CollateralGuard(neverBlock, this.log, this.logged);
  }

  apply(snapshot: ListSnapshot): ListSnapshot {
    const cached = this.results.get(snapshot);
    if (cached) return cached;
    const result = applyNeverBlock(snapshot, this.neverBlock);
    this.results.set(snapshot, result);
    const dropped = result.guarded ?? [];
    if (dropped.length > 0 && this.logged.get(snapshot.name) !== result.version) {
      this.logged.set(snapshot.name, result.version);
      this.log?.warn(
        { list: snapshot.name, origin: snapshot.origin ?? 'maintained', version: result.version, base_version: snapshot.version, dropped: dropped.length, entries: dropped.slice(0, 20) },
        `list "${snapshot.name}": ${dropped.length} entr${dropped.length === 1 ? 'y' : 'ies'} not enforced: they would block names in never-block.txt (shared infrastructure)`,
      );
    }
    return result;
  }
}
