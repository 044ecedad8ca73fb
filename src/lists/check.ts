// `dnsward lists check`: everything that can be wrong with the maintained lists, reported as
// "file:line: problem" so editors and CI can jump to it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseDomain } from 'tldts';
import { findListedSuffix, isSameOrSubdomain, normalizeDomain } from '../dns/domain-name.ts';
import { checkChangelog, type ParsedChangelog } from './changelog.ts';
import { stateOf } from './list-diff.ts';
import { isSubtreeNote, NEVER_BLOCK_FILE } from './guard.ts';
import { compileSnapshot, type ListEntry, listLastModified, type ParsedListFile, parseListFile, readChangelog, readListDir } from './list-file.ts';

/** never-block.txt's code for shared CDNs and edges: a host below one must carry a TikTok or ByteDance name. */
const SHARED_CDN_CODE = 'T4';

/** The never-block file beside the lists: names no list may block as a whole. */
export { NEVER_BLOCK_FILE } from './guard.ts';

export interface CheckOptions {
  /** Defaults to DIR/never-block.txt when it exists. */
  neverBlockFile?: string | undefined;
  /** Segment allowlists from a config: an entry they cover entirely would never be blocked there. */
  segments?: readonly { name: string; action: string; lists: readonly string[]; allowlist: readonly string[] }[];
  /** "Today", for dates added in the future (tests pin it). */
  now?: Date;
  /**
   * Each list's changelog by list file (lists/<name>.changes; undefined: the file is missing).
   * When given, every list must have one that replays to the list as it is.
   */
  changelogs?: ReadonlyMap<string, ParsedChangelog | undefined>;
}

export interface CheckSummary {
  file: string;
  name: string;
  entries: number;
  domains: number;
  hosts: number;
}

export interface CheckResult {
  problems: string[];
  lists: CheckSummary[];
}

export async function checkListDir(dir: string, options: CheckOptions = {}): Promise<CheckResult> {
  const parsed = await readListDir(dir);
  const neverBlockFile = options.neverBlockFile ?? join(dir, NEVER_BLOCK_FILE);
  let neverBlock: ParsedListFile | undefined;
  try {
    neverBlock = parseListFile(await readFile(neverBlockFile, 'utf8'), neverBlockFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || options.neverBlockFile !== undefined) throw error;
  }
  const changelogs = new Map<string, ParsedChangelog | undefined>();
  for (const list of parsed) changelogs.set(list.file, await readChangelog(list.file));
  return checkParsedLists(parsed, neverBlock, { changelogs, ...options });
}

export function checkParsedLists(lists: readonly ParsedListFile[], neverBlock: ParsedListFile | undefined, options: CheckOptions = {}): CheckResult {
  const problems: string[] = [];
  const summaries: CheckSummary[] = [];
  const today = (options.now ?? new Date()).toISOString().slice(0, 10);
  const protectedNames = new Map<string, ListEntry>();
  if (neverBlock) {
    problems.push(...neverBlock.problems);
    checkSourceCodes(neverBlock, problems);
    for (const entry of neverBlock.entries) protectedNames.set(entry.domain, entry);
  }
  const protectedSubtrees = [...protectedNames.values()].filter((e) => isSubtreeNote(e.note));
  const seenAcrossLists = new Map<string, { file: string; line: number }>();

  for (const list of lists) {
    const at = (line: number): string => `${list.file}:${line}`;
    problems.push(...list.problems);
    for (const key of ['title', 'description', 'license'] as const) {
      if (!list.meta[key]) problems.push(`${list.file}:1: header "# ${key}:" is missing; every served format shows it`);
    }
    checkSourceCodes(list, problems);

    const first = new Map<string, ListEntry>();
    for (const entry of list.entries) {
      const earlier = first.get(entry.domain);
      if (earlier) problems.push(`${at(entry.line)}: "${entry.domain}" is a duplicate of line ${earlier.line}; keep one entry and merge the sources`);
      else first.set(entry.domain, entry);
    }
    const blocking = new Map([...first].filter(([, e]) => !e.host));

    for (const entry of first.values()) {
      const parent = nearestParent(entry.domain, blocking);
      if (entry.host && !parent) {
        problems.push(`${at(entry.line)}: "${entry.domain}" is marked "host:" but no listed entry covers it; drop "host:" to make it a blocking entry`);
      } else if (!entry.host && parent) {
        problems.push(
          `${at(entry.line)}: "${entry.domain}" is already covered by "${parent.domain}" (line ${parent.line}); remove it, or start its note with "host:" to keep it for the hosts format`,
        );
      }
      if (entry.added > today) problems.push(`${at(entry.line)}: date added ${entry.added} is in the future`);

      const suffix = publicSuffixProblem(entry.domain);
      if (suffix) problems.push(`${at(entry.line)}: "${entry.domain}" ${suffix}`);

      if (!entry.host) {
        for (const [name, protectedEntry] of protectedNames) {
          if (isSameOrSubdomain(name, entry.domain)) {
            problems.push(
              `${at(entry.line)}: "${entry.domain}" would block "${name}", which ${neverBlock?.file ?? NEVER_BLOCK_FILE}:${protectedEntry.line} says must never be blocked (${protectedEntry.note || 'shared infrastructure'}); list the specific host instead`,
            );
          }
        }
        const host = sharedInfrastructureHost(entry.domain, protectedNames);
        if (host && !BYTEDANCE_NAME.test(entry.domain.slice(0, -host.length - 1))) {
          problems.push(
            `${at(entry.line)}: "${entry.domain}" is a host on shared infrastructure (${host}) without a TikTok or ByteDance name in its own labels; list only the CDN names that carry one (e.g. p16-tiktokcdn-com.akamaized.net)`,
          );
        }
        for (const protectedEntry of protectedSubtrees) {
          if (entry.domain !== protectedEntry.domain && isSameOrSubdomain(entry.domain, protectedEntry.domain)) {
            problems.push(
              `${at(entry.line)}: "${entry.domain}" lies under "${protectedEntry.domain}", which ${neverBlock?.file ?? NEVER_BLOCK_FILE}:${protectedEntry.line} protects with everything below it (${protectedEntry.note})`,
            );
          }
        }
        const other = seenAcrossLists.get(entry.domain);
        if (other && other.file !== list.file) problems.push(`${at(entry.line)}: "${entry.domain}" is also listed in ${other.file}:${other.line}; keep each name in one list`);
        else seenAcrossLists.set(entry.domain, { file: list.file, line: entry.line });
      }
    }

    for (const segment of options.segments ?? []) {
      if (segment.action === 'allow' || !segment.lists.includes(list.name)) continue;
      for (const allowed of segment.allowlist) {
        // The config validated it; normalised the way segments.ts does when it builds the allowlist.
        const name = normalizeDomain(allowed);
        if (name === undefined) continue;
        for (const entry of blocking.values()) {
          if (isSameOrSubdomain(entry.domain, name)) {
            problems.push(`${at(entry.line)}: "${entry.domain}" is never blocked on segment "${segment.name}": its allowlist has "${allowed}"; remove one of them`);
          }
        }
      }
    }

    const newest = [...first.values()].map((e) => e.added).sort().at(-1);
    const declared = list.meta['last-modified'];
    if (declared === undefined) {
      problems.push(`${list.file}:1: header "# last-modified:" is missing; set it on every change (it drives Last-Modified and the RPZ serial)`);
    } else if (Number.isNaN(Date.parse(declared))) {
      problems.push(`${list.file}:1: "# last-modified: ${declared}" is not a date; write e.g. 2026-11-28T09:00:00Z`);
    } else if (newest && new Date(declared).toISOString().slice(0, 10) < newest) {
      problems.push(`${list.file}:1: "# last-modified: ${declared}" is older than the newest entry (${newest}); update it`);
    }

    const changelogs = options.changelogs;
    if (changelogs) {
      const log = changelogs.get(list.file);
      if (!log) {
        problems.push(`${list.file}:1: no changelog ${list.file.replace(/\.list$/, '.changes')}; every version needs a block there (dnsward lists diff --changes)`);
      } else if (list.problems.length === 0) {
        const snapshot = compileSnapshot(list, listLastModified(list));
        problems.push(...checkChangelog(log, { file: list.file, version: snapshot.version, lastModified: snapshot.lastModified, state: stateOf([...first.values()]), sources: list.sources }));
      }
    }

    summaries.push({
      file: list.file,
      name: list.name,
      entries: list.entries.length,
      domains: [...blocking.keys()].filter((d) => !nearestParent(d, blocking)).length,
      hosts: [...first.values()].filter((e) => e.host).length,
    });
  }
  return { problems: sortByLocation(problems), lists: summaries };
}

/** Orders "file:line: ..." problems by file, then line (stable for equal locations). */
function sortByLocation(problems: string[]): string[] {
  const key = (p: string): [string, number] => {
    const m = /^(.*?):(\d+): /.exec(p);
    return m ? [m[1] ?? '', Number(m[2])] : [p, 0];
  };
  return problems
    .map((p, i) => ({ p, i, k: key(p) }))
    .sort((a, b) => (a.k[0] < b.k[0] ? -1 : a.k[0] > b.k[0] ? 1 : a.k[1] - b.k[1] || a.i - b.i))
    .map((x) => x.p);
}

/**
 * Product names a host on a shared CDN must carry in its own labels to be listed there: the
 * TikTok and ByteDance names of the edge hostnames the lists carry (p16-tiktokcdn-com.akamaized.net,
 * frontier.capcutw.us.edgesuite.net, bytedance.map.fastly.net, p16hypstarcdn-a.akamaihd.net).
 */
const BYTEDANCE_NAME = /tiktok|byte|capcut|hypstar|musical|muscdn|douyin|toutiao|snssdk|pstatp|lark|pangle/;

/** The shared CDN or edge zone (never-block source T4) an entry lies strictly below, if any. */
function sharedInfrastructureHost(domain: string, protectedNames: ReadonlyMap<string, ListEntry>): string | undefined {
  const parent = findListedSuffix(domain, protectedNames, 'parent');
  return parent !== undefined && protectedNames.get(parent)?.sources.includes(SHARED_CDN_CODE) ? parent : undefined;
}

function checkSourceCodes(list: ParsedListFile, problems: string[]): void {
  const used = new Set(list.entries.flatMap((e) => e.sources));
  for (const code of Object.keys(list.sources)) {
    if (!used.has(code)) problems.push(`${list.file}:1: source "${code}" is declared but no entry uses it; remove its "# source:" line`);
  }
  for (const entry of list.entries) {
    for (const code of entry.sources) {
      if (list.sources[code] === undefined) {
        problems.push(`${list.file}:${entry.line}: source "${code}" is not declared; add "# source: ${code}  <publisher and file>" to the header`);
      }
    }
  }
}

function nearestParent(domain: string, entries: ReadonlyMap<string, ListEntry>): ListEntry | undefined {
  const parent = findListedSuffix(domain, entries, 'parent');
  return parent === undefined ? undefined : entries.get(parent);
}

/** Why a name must not be listed as a whole because of the public suffix list, or undefined. */
export function publicSuffixProblem(domain: string): string | undefined {
  const info = parseDomain(domain, { allowPrivateDomains: true });
  if (info.isIp) return 'is an IP address, not a domain name';
  if (info.isIcann === false && info.isPrivate === false) return `has an unknown top-level domain ".${domain.split('.').at(-1)}" (a local suffix such as .lan or .localdomain?)`;
  if (info.publicSuffix === domain) return `is a public suffix${info.isPrivate ? ' (private section of the PSL)' : ''}: blocking it blocks every site registered under it`;
  return undefined;
}
