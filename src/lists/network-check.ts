// `dnsward lists check` for network lists (lists/<name>.networks): what can be wrong with one,
// as "file:line: problem". The provenance rules of the domain lists hold: every header a served
// file shows, every source code declared and used, no date in the future, a last-modified no older
// than the newest entry. Their scope rule in address form: no prefix from a shared cloud or CDN.
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { cidrRange, overlaps } from '../config/networks.ts';
import { NETWORK_LIST_SUFFIX, parseNetworkList } from './network-list.ts';

/**
 * Autonomous systems of shared clouds and CDNs: a prefix they announce serves many companies,
 * so no network list may carry it (the address-space twin of never-block.txt's T4 names).
 * BytePlus is ByteDance's, but a public cloud: its tenants are other companies.
 */
export const SHARED_ASNS: Readonly<Record<string, string>> = {
  AS20940: 'Akamai',
  AS16625: 'Akamai',
  AS21342: 'Akamai',
  AS35994: 'Akamai',
  AS54113: 'Fastly',
  AS13335: 'Cloudflare',
  AS16509: 'Amazon (AWS, CloudFront)',
  AS14618: 'Amazon (AWS)',
  AS15169: 'Google',
  AS396982: 'Google Cloud',
  AS8075: 'Microsoft (Azure)',
  AS31898: 'Oracle Cloud',
  AS14061: 'DigitalOcean',
  AS37963: 'Alibaba Cloud',
  AS45102: 'Alibaba Cloud',
  AS45090: 'Tencent Cloud',
  AS132203: 'Tencent Cloud',
  AS150436: 'BytePlus (a public cloud)',
};

export interface NetworkCheckSummary {
  file: string;
  name: string;
  entries: number;
  v4: number;
  v6: number;
}

export interface NetworkCheckOptions {
  /** "Today", for dates seen in the future (tests pin it). */
  now?: Date;
  /** Names of the domain lists beside them: a network list may not share a name with one (one namespace in segments[].lists and URLs). */
  domainLists?: readonly string[];
}

export async function checkNetworkListDir(dir: string, options: NetworkCheckOptions = {}): Promise<{ problems: string[]; lists: NetworkCheckSummary[] }> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(NETWORK_LIST_SUFFIX)).sort();
  const problems: string[] = [];
  const lists: NetworkCheckSummary[] = [];
  for (const n of names) {
    const file = join(dir, n);
    const result = checkNetworkList(await readFile(file, 'utf8'), file, options);
    problems.push(...result.problems);
    lists.push(result.summary);
  }
  return { problems, lists };
}

export function checkNetworkList(text: string, file: string, options: NetworkCheckOptions = {}): { problems: string[]; summary: NetworkCheckSummary } {
  const { snapshot, problems } = parseNetworkList(text, file);
  const today = (options.now ?? new Date()).toISOString().slice(0, 10);
  const header = headerValues(text);
  for (const key of ['title', 'description', 'license'] as const) {
    if (!header[key]) problems.push(`${file}:1: header "# ${key}:" is missing; every served format shows it`);
  }
  const name = basename(file, NETWORK_LIST_SUFFIX);
  if (options.domainLists?.includes(name)) problems.push(`${file}:1: "${name}" is also a domain list (${name}.list); give the network list its own name`);
  const used = new Set(snapshot.entries.flatMap((e) => e.sources));
  for (const code of Object.keys(snapshot.sourceCodes)) {
    if (!used.has(code)) problems.push(`${file}:1: source "${code}" is declared but no entry uses it; remove its "# source:" line`);
  }
  const ranges = snapshot.entries.map((e) => ({ entry: e, range: cidrRange(e.prefix) }));
  for (const { entry, range } of ranges) {
    const at = `${file}:${entry.line}`;
    if (entry.seen > today) problems.push(`${at}: date seen ${entry.seen} is in the future`);
    const shared = SHARED_ASNS[entry.asn];
    if (shared) problems.push(`${at}: "${entry.prefix}" is announced by ${entry.asn} (${shared}), shared infrastructure: list only the prefixes of ByteDance's own networks`);
    // A prefix inside another listed prefix adds nothing and hides which source attests what.
    const outer = ranges.find((o) => o.entry !== entry && o.range && range && overlaps(o.range, range) && o.range.first <= range.first && o.range.last >= range.last && o.entry.prefix !== entry.prefix);
    if (outer) problems.push(`${at}: "${entry.prefix}" lies inside "${outer.entry.prefix}" (line ${outer.entry.line}); keep one of them`);
  }
  const newest = snapshot.entries.map((e) => e.seen).sort().at(-1);
  const declared = header['last-modified'];
  if (declared === undefined) problems.push(`${file}:1: header "# last-modified:" is missing; set it on every change (it drives Last-Modified and the RPZ serial)`);
  else if (Number.isNaN(Date.parse(declared))) problems.push(`${file}:1: "# last-modified: ${declared}" is not a date; write e.g. 2026-12-02T00:00:00Z`);
  else if (newest && new Date(declared).toISOString().slice(0, 10) < newest) problems.push(`${file}:1: "# last-modified: ${declared}" is older than the newest entry (${newest}); update it`);
  const v6 = snapshot.networks.filter((n) => n.includes(':')).length;
  const line = (p: string): number => Number(/:(\d+): /.exec(p)?.[1] ?? 0);
  return { problems: problems.map((p, i) => ({ p, i })).sort((a, b) => line(a.p) - line(b.p) || a.i - b.i).map((x) => x.p), summary: { file, name, entries: snapshot.entries.length, v4: snapshot.networks.length - v6, v6 } };
}

/** The "# key: value" lines before the first entry, as network-list.ts reads them. */
function headerValues(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (!line.startsWith('#')) break;
    const m = /^#\s*([a-z][a-z_-]*):\s*(.*)$/i.exec(line);
    if (m) values[(m[1] ?? '').toLowerCase()] = (m[2] ?? '').trim();
  }
  return values;
}
