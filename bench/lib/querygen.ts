// dnsperf query files and list files for the bench. Deterministic (seeded) so runs are comparable.
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { once } from 'node:events';

/** The zone the bench upstream answers for every name (A 192.0.2.1, AAAA 2001:db8::1, TTL 3600). */
export const BENCH_ZONE = 'bench.test';

/** mulberry32: small, fast, seeded. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

function label(rand: () => number, min: number, max: number): string {
  const len = min + Math.floor(rand() * (max - min + 1));
  let s = ALNUM[Math.floor(rand() * 26)] ?? 'a';
  for (let i = 1; i < len; i++) s += ALNUM[Math.floor(rand() * ALNUM.length)] ?? 'a';
  return s;
}

function shuffle<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}

/** Domains of a `.list` file: the first column of every non-comment, non-blank line. */
export async function readListDomains(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const domain = line.split(/\s+/)[0];
    if (domain) out.push(domain.toLowerCase().replace(/\.$/, ''));
  }
  return out;
}

const SUB_PREFIXES = ['', 'www.', 'm.', 'api.', 'api16-normal-c-useast1a.', 'v16m.', 'p16-sign-va.', 'log.', 'mon.', 'im-api.', 'webcast.', 'sf16-website-login.'];

/** Blocked mix: the listed names and subdomains of them, A and AAAA, shuffled. */
export async function writeBlockedMix(file: string, domains: string[], lines: number, seed: number): Promise<void> {
  const rand = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const domain = domains[i % domains.length] as string;
    const prefix = i % 5 === 4 ? `${label(rand, 3, 12)}.` : (SUB_PREFIXES[Math.floor(rand() * SUB_PREFIXES.length)] ?? '');
    out.push(`${prefix}${domain} ${rand() < 0.5 ? 'A' : 'AAAA'}`);
  }
  await writeFile(file, `${shuffle(out, rand).join('\n')}\n`);
}

/** Cached mix: a small fixed set of names under the bench zone (A and AAAA), warmed before it is measured. */
export async function writeCachedMix(file: string, names: number): Promise<void> {
  const out: string[] = [];
  for (let i = 0; i < names; i++) out.push(`c${i}.${BENCH_ZONE} A`, `c${i}.${BENCH_ZONE} AAAA`);
  await writeFile(file, `${shuffle(out, rng(7)).join('\n')}\n`);
}

/** Miss mix: `lines` names never asked before (a unique tag per file), so every query is a cache miss. */
export async function writeMissMix(file: string, lines: number, tag: string): Promise<void> {
  const stream = createWriteStream(file);
  const rand = rng(lines ^ tag.length);
  let chunk = '';
  for (let i = 0; i < lines; i++) {
    chunk += `m${i.toString(36)}-${tag}.${label(rand, 4, 8)}.${BENCH_ZONE} ${i % 4 === 3 ? 'AAAA' : 'A'}\n`;
    if (chunk.length > 1 << 16) {
      if (!stream.write(chunk)) await once(stream, 'drain');
      chunk = '';
    }
  }
  stream.end(chunk);
  await once(stream, 'finish');
}

const TLDS = ['com', 'com', 'com', 'com', 'net', 'net', 'org', 'io', 'co', 'info', 'xyz', 'top', 'de', 'be', 'fr', 'nl', 'ru', 'cn', 'co.uk', 'com.br', 'app', 'online', 'site', 'live'];

/**
 * A synthetic `.list` file of `count` distinct domains in the maintained-list format
 * (`domain  YYYY-MM-DD  source  note`), like a big subscribed blocklist. Returns a sample of its domains.
 */
/** Writes `count` distinct synthetic domains: as a hosts file ("0.0.0.0 name", what subscribed lists usually are) or in lists/ format. */
export async function writeBigList(file: string, count: number, seed: number, sampleSize: number, format: 'hosts' | 'list' = 'list'): Promise<string[]> {
  const rand = rng(seed);
  const seen = new Set<string>();
  const sample: string[] = [];
  const stream = createWriteStream(file);
  stream.write(format === 'hosts' ? `# synthetic hosts file of ${count} domains for npm run bench\n` : `# title: Bench ${count}\n# description: synthetic list of ${count} domains for npm run bench\n# license: CC0-1.0\n#\n`);
  let chunk = '';
  while (seen.size < count) {
    const depth = rand();
    let domain = `${label(rand, 5, 14)}.${TLDS[Math.floor(rand() * TLDS.length)] ?? 'com'}`;
    if (depth > 0.8) domain = `${label(rand, 2, 10)}.${domain}`;
    if (depth > 0.95) domain = `${label(rand, 2, 8)}.${domain}`;
    if (seen.has(domain)) continue;
    seen.add(domain);
    if (seen.size % Math.max(1, Math.floor(count / sampleSize)) === 0 && sample.length < sampleSize) sample.push(domain);
    chunk += format === 'hosts' ? `0.0.0.0 ${domain}\n` : `${domain}  2026-11-28  bench  synthetic entry ${seen.size}\n`;
    if (chunk.length > 1 << 16) {
      if (!stream.write(chunk)) await once(stream, 'drain');
      chunk = '';
    }
  }
  stream.end(chunk);
  await once(stream, 'finish');
  return sample;
}
