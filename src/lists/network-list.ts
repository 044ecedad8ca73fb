// Network lists (`lists/<name>.networks`): address space, not names, for the response-ip
// stage. Each prefix carries its provenance as the domain lists do: when it was seen, which
// autonomous system announces it, and where that is recorded.
//
//   # title: ByteDance networks
//   # source: RIPE  RIPE NCC RIPEstat, announced-prefixes of the AS
//   101.45.0.0/16   2026-12-02  AS138699  RIPE,BGPT  optional note
//   ^prefix         ^seen       ^origin   ^sources (comma-separated codes declared above)
//
// Prefixes must be the network itself (no host bits), IPv6 at most /64 (NetworkMatcher).
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { formatAddress } from '../config/networks.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { MAX_V6_PREFIX } from '../policy/network-matcher.ts';
import { parseCidr } from '../util/address.ts';

export const NETWORK_LIST_SUFFIX = '.networks';

export interface NetworkEntry {
  prefix: string;
  seen: string;
  asn: string;
  sources: string[];
  note: string;
  line: number;
}

/** A compiled network list: what the policy enforces and the feed publishes. */
export interface NetworkListSnapshot {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly license: string | undefined;
  /** Content hash of the prefixes (hex, 12 digits), like list versions. */
  readonly version: string;
  readonly lastModified: Date;
  /** Sorted, unique prefixes as written. */
  readonly networks: readonly string[];
  readonly entries: readonly NetworkEntry[];
  readonly sourceCodes: Readonly<Record<string, string>>;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const SOURCE_CODE = /^[A-Za-z][A-Za-z0-9_-]*$/;
const META = new Set(['title', 'description', 'license', 'last-modified']);

/** Parses one file; every problem comes back as file:line (nothing is thrown). */
export function parseNetworkList(text: string, file: string): { snapshot: NetworkListSnapshot; problems: string[] } {
  const meta: Record<string, string> = {};
  const sourceCodes: Record<string, string> = {};
  const entries: NetworkEntry[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s*([a-z][a-z_-]*):\s*(.*)$/i.exec(line);
      if (!m || entries.length > 0) return;
      const key = (m[1] ?? '').toLowerCase();
      const value = (m[2] ?? '').trim();
      if (key === 'source') {
        const [code = '', ...rest] = value.split(/\s+/);
        if (!SOURCE_CODE.test(code) || rest.length === 0) problems.push(`${file}:${lineNo}: "# source:" needs a code and a description`);
        else sourceCodes[code] = rest.join(' ');
      } else if (META.has(key)) meta[key] = value;
      return;
    }
    const [prefix = '', seen = '', asn = '', sourceList = '', ...note] = line.split(/\s+/);
    const cidr = parseCidr(prefix);
    if (typeof cidr === 'string' || !prefix.includes('/')) {
      problems.push(`${file}:${lineNo}: "${prefix}" is not a network; write it as "101.45.0.0/16" or "2402:e7c0::/32"`);
      return;
    }
    // One spelling per network (RFC 5952 for IPv6, no host bits), so diffs and lookups agree.
    const canonical = `${formatAddress(cidr.family, cidr.network)}/${cidr.prefix}`;
    if (canonical !== prefix) {
      problems.push(`${file}:${lineNo}: write "${prefix}" as "${canonical}"`);
      return;
    }
    if (cidr.family === 6 && cidr.prefix > MAX_V6_PREFIX) {
      problems.push(`${file}:${lineNo}: "${prefix}" is longer than /${MAX_V6_PREFIX}; list the announced prefix`);
      return;
    }
    if (!DATE.test(seen)) {
      problems.push(`${file}:${lineNo}: missing or malformed date seen after "${prefix}" (write YYYY-MM-DD)`);
      return;
    }
    if (!/^AS\d{1,10}$/.test(asn)) {
      problems.push(`${file}:${lineNo}: "${asn}" is not an origin AS; write e.g. AS138699`);
      return;
    }
    const sources = sourceList.split(',');
    const undeclared = sources.filter((s) => sourceCodes[s] === undefined);
    if (sourceList === '' || undeclared.length > 0) {
      problems.push(`${file}:${lineNo}: source ${undeclared.length ? `"${undeclared.join(',')}" is` : 'codes are'} not declared in a "# source:" line`);
      return;
    }
    entries.push({ prefix, seen, asn, sources, note: note.join(' '), line: lineNo });
  });
  const seenTwice = new Set<string>();
  const networks = [...new Set(entries.map((e) => e.prefix))].sort();
  for (const e of entries) {
    if (seenTwice.has(e.prefix)) problems.push(`${file}:${e.line}: "${e.prefix}" is listed twice`);
    seenTwice.add(e.prefix);
  }
  const name = basename(file, NETWORK_LIST_SUFFIX);
  const latest = entries.reduce((d, e) => (e.seen > d ? e.seen : d), '');
  const updated = meta['last-modified'] ?? (latest ? `${latest}T00:00:00Z` : undefined);
  return {
    problems,
    snapshot: {
      name,
      title: meta.title ?? name,
      description: meta.description ?? '',
      license: meta.license,
      version: createHash('sha256').update(networks.join('\n')).digest('hex').slice(0, 12),
      lastModified: updated ? new Date(updated) : new Date(0),
      networks,
      entries,
      sourceCodes,
    },
  };
}

/** Every `<name>.networks` file of `dir`; throws DnswardError listing every problem as file:line. */
export async function loadNetworkListDir(dir: string): Promise<NetworkListSnapshot[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(NETWORK_LIST_SUFFIX)).sort();
  } catch (error) {
    throw new DnswardError(ErrorCodes.LIST_SYNTAX, `lists.dir: cannot read ${dir}: ${(error as Error).message}`, { cause: error });
  }
  const snapshots: NetworkListSnapshot[] = [];
  const problems: string[] = [];
  for (const n of names) {
    const file = join(dir, n);
    const parsed = parseNetworkList(await readFile(file, 'utf8'), file);
    problems.push(...parsed.problems);
    snapshots.push(parsed.snapshot);
  }
  if (problems.length > 0) throw new DnswardError(ErrorCodes.LIST_SYNTAX, problems.join('\n'));
  return snapshots;
}
