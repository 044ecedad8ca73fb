// Microbenchmarks for the query path's pieces: wire parser, list matcher (with a million
// names), cache lookup + render, synthesised block answers, the block log's encoding. A script, not a test:
//   node bench/micro.ts            (prints ns/op and ops/s per case; DNSWARD_SHA256=js for the block log's fallback hash)
import { readFileSync } from 'node:fs';
import { DecisionRingReader, DecisionRingWriter, createDecisionRing } from '../src/audit/decision-ring.ts';
import { ChainEncoder } from '../src/audit/encoder.ts';
import { GENESIS } from '../src/audit/event.ts';
import { Outbox } from '../src/audit/outbox.ts';
import { FileRotation } from '../src/audit/rotation.ts';
import { MAX_SEALED_EVENTS } from '../src/audit/seal.ts';
import { sha256Path } from '../src/audit/sha256-into.ts';
import type { Decision } from '../src/audit/types.ts';
import { renderAnswer } from '../src/dns/answer-render.ts';
import { scanAnswer } from '../src/dns/answer-scan.ts';
import { RCODE } from '../src/dns/constants.ts';
import { parseQuery, type ParsedQuery } from '../src/dns/query-parser.ts';
import { synthesize } from '../src/dns/synthesize.ts';
import { DomainSet } from '../src/lists/domain-set.ts';
import { DomainMatcher } from '../src/policy/domain-matcher.ts';
import { AnswerCache } from '../src/resolver/answer-cache.ts';
import { buildQuery } from '../test/helpers/dns-client.ts';
import { encodeReply, rr } from '../test/helpers/stub-upstream.ts';

function bench(name: string, ops: number, fn: (i: number) => unknown): void {
  let sink = 0;
  for (let i = 0; i < Math.min(ops, 50_000); i++) if (fn(i)) sink++; // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) if (fn(i)) sink++;
  const ns = Number(process.hrtime.bigint() - start) / ops;
  console.log(`${name.padEnd(48)} ${ns.toFixed(1).padStart(8)} ns/op ${(1e9 / ns / 1e6).toFixed(2).padStart(7)} M ops/s  (${sink} truthy)`);
}

function mulberry(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = mulberry(7);
const words = ['cdn', 'api', 'img', 'video', 'static', 'edge', 'app', 'data', 'ads', 'track', 'media', 'live', 'web', 'mobile'];
const tlds = ['com', 'net', 'org', 'io', 'de', 'fr', 'be', 'nl'];
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
const randomDomain = (): string => `${pick(words)}${Math.floor(random() * 1e5)}.${pick(words)}${Math.floor(random() * 1e3)}.${pick(tlds)}`;

// Corpora: the real TikTok list, a million synthetic names, and a query mix of
// subdomains of listed names (hits) and unrelated names (misses).
const tiktok = readFileSync('lists/tiktok.list', 'utf8')
  .split('\n')
  .filter((l) => l.trim() && !l.startsWith('#'))
  .map((l) => l.trim().split(/\s+/)[0] as string);
const million: string[] = [];
const seen = new Set<string>();
while (million.length < 1_000_000) {
  const d = randomDomain();
  if (!seen.has(d)) {
    seen.add(d);
    million.push(d);
  }
}
seen.clear();
const queries = Array.from({ length: 4096 }, (_, i) =>
  i % 2 === 0 ? `${pick(['www', 'v16', 'api16-normal', 'p16-sign'])}.${i % 4 === 0 ? pick(tiktok) : pick(million)}` : `www.${randomDomain()}`,
);

console.log(`node ${process.version}; corpora: tiktok=${tiktok.length} names, synthetic=${million.length} names, ${queries.length} query names (half listed)`);

const t0 = Date.now();
const set = DomainSet.from(million);
console.log(`DomainSet of 1M names: built in ${Date.now() - t0} ms, ${(set.byteSize / 1e6).toFixed(1)} MB of arrays (${(set.byteSize / set.size).toFixed(1)} B/name)`);
const mapStart = process.memoryUsage().heapUsed;
const asMap = new Map(million.map((d) => [d, 1]));
console.log(`(for comparison: Map<string, number> of the same names adds ~${((process.memoryUsage().heapUsed - mapStart) / 1e6).toFixed(0)} MB of heap beside the strings)`);

const matcher = DomainMatcher.build([
  { name: 'tiktok', version: 'v', domains: tiktok },
  { name: 'big', version: 'v', domains: [], set },
]);
const mask = matcher.maskFor(['tiktok', 'big']);
bench('matcher.match (1M + tiktok, half hits)', 2_000_000, (i) => matcher.match(queries[i & 4095] as string, mask));
bench('Map suffix walk, same names (reference)', 2_000_000, (i) => {
  const name = queries[i & 4095] as string;
  for (let dot = -1; ; ) {
    if (asMap.has(dot < 0 ? name : name.slice(dot + 1))) return true;
    dot = name.indexOf('.', dot + 1);
    if (dot < 0) return false;
  }
});

const wire = queries.map((name, i) => buildQuery({ name, type: i % 3 === 0 ? 28 : 1, edns: i % 2 === 0 ? 1232 : undefined, id: i }));
bench('parseQuery (A/AAAA, half with EDNS)', 2_000_000, (i) => parseQuery(wire[i & 4095] as Buffer));

const parsed = wire.map((w) => parseQuery(w) as ParsedQuery);
const ede = { code: 15, text: Buffer.from('blocked by dnsward: segment service, list tiktok') };
bench('synthesize NXDOMAIN + SOA + EDE', 2_000_000, (i) => synthesize(wire[i & 4095] as Buffer, parsed[i & 4095] as ParsedQuery, { rcode: RCODE.NXDOMAIN, soaOwnerOffset: 12, ede }));

const cache = new AnswerCache(100_000);
const now = Date.now();
wire.forEach((w, i) => {
  const q = parsed[i] as ParsedQuery;
  const answer = encodeReply(w, { answers: [rr.a(q.qname, '192.0.2.1'), rr.a(q.qname, '192.0.2.2')] }, true);
  const scan = scanAnswer(answer, q.questionEnd);
  if (scan) cache.set(AnswerCache.key(q.qname, q.qtype, q.qclass, false), answer, scan, now);
});
bench('cache get + renderAnswer (aged TTLs)', 2_000_000, (i) => {
  const q = parsed[i & 4095] as ParsedQuery;
  const entry = cache.get(AnswerCache.key(q.qname, q.qtype, q.qclass, false), now + 5000);
  return entry && renderAnswer(entry.buf, entry.scan, wire[i & 4095] as Buffer, q.id, q.questionEnd, q.edns !== undefined, 5);
});
// The lookup alone, as the query path makes it (the key a fresh string from parseQuery), in random order over
// 2,000 cached names (the bench's cached mix) and 20,000 (its log-only mix answers the blocked file's 20,000
// lines from cache): the bigger cache no longer fits the CPU's caches, and each lookup waits on memory.
for (const entries of [2_000, 20_000]) {
  const lookupWire = Array.from({ length: entries }, (_, i) => buildQuery({ name: `n${i}-${Math.floor(random() * 1e9)}.log16-normal-useast1a.tiktokv.com`, type: 1, id: i }));
  const lookupCache = new AnswerCache(entries);
  for (const w of lookupWire) {
    const q = parseQuery(w) as ParsedQuery;
    const answer = encodeReply(w, { answers: [rr.a(q.qname, '192.0.2.1')] }, true);
    const scan = scanAnswer(answer, q.questionEnd);
    if (scan) lookupCache.set(q.cacheKey, answer, scan, now);
  }
  const order = Array.from({ length: 1 << 16 }, () => Math.floor(random() * entries));
  bench(`parseQuery + cache get, ${entries.toLocaleString('en')} entries, random`, 2_000_000, (i) => lookupCache.get((parseQuery(lookupWire[order[i & 0xffff] as number] as Buffer) as ParsedQuery).cacheKey, now + 5000));
}
// The miss path: every insert into a full cache evicts the oldest entry (dns.cache_size 50,000).
const fullCache = new AnswerCache(50_000);
const missAnswer = encodeReply(wire[0] as Buffer, { answers: [rr.a('m.bench.test', '192.0.2.1')] }, true);
const missScan = scanAnswer(missAnswer, (parsed[0] as ParsedQuery).questionEnd);
let missSerial = 0;
bench('cache set, full 50,000 entries (evicts the oldest)', 1_000_000, () => {
  if (missScan) fullCache.set(`m${missSerial++}.bench.test\0\0\x01\0\x01\0`, missAnswer, { ...missScan }, now);
  return fullCache.size;
});
const upstreamAnswer = encodeReply(wire[0] as Buffer, { answers: [rr.cname('www.example', 'edge.example'), rr.a('edge.example', '192.0.2.1')] }, true);
bench('scanAnswer (CNAME + A + OPT)', 2_000_000, () => scanAnswer(upstreamAnswer, (parsed[0] as ParsedQuery).questionEnd));

// The block log's cost per event on the query thread: a decision becomes a chained, hashed line
// in the outbox (src/audit/encoder.ts). Run with DNSWARD_SHA256=js for the node:crypto fallback.
const encoder = new ChainEncoder('bench', (address) => address, { seq: 0, hash: GENESIS });
const rotation = new FileRotation('bench', 2 ** 40);
const outbox = new Outbox(MAX_SEALED_EVENTS);
const decisions: Decision[] = queries.map((qname, i) => ({
  ts: now + (i >> 4),
  segment: 'service',
  client: `10.20.${(i >> 8) & 255}.${i & 255}`,
  pseudonymize: false,
  qname,
  qtype: 1,
  action: 'blocked',
  list: 'tiktok',
  rule: qname.slice(qname.indexOf('.') + 1),
  listVersion: '2026.12.04.1-3f2a9c1b',
  response: 'nxdomain',
  transport: 'udp',
}));
bench(`block log: encode one event (sha256 ${sha256Path.path})`, 1_000_000, (i) => {
  encoder.encode(decisions[i & 4095] as Decision, rotation, outbox);
  if (outbox.events >= MAX_SEALED_EVENTS) outbox.completeFirst();
  return true;
});

// The same decisions handed to the block-log worker instead (audit.worker_thread): their fields
// written into the shared ring (src/audit/decision-ring.ts) on the DNS thread, and taken back out
// as the worker takes them, 64 at a time; each side timed apart.
{
  const memory = createDecisionRing(1 << 20);
  const writer = new DecisionRingWriter(memory);
  const reader = new DecisionRingReader(memory);
  const rounds = 40_000;
  let writeNs = 0n;
  let drainNs = 0n;
  let taken = 0;
  for (let r = 0; r < rounds + 1000; r++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < 64; k++) writer.write(decisions[(r * 64 + k) & 4095] as Decision);
    const t1 = process.hrtime.bigint();
    const n = reader.drain(() => undefined, () => 0);
    const t2 = process.hrtime.bigint();
    if (r < 1000) continue; // warm-up
    writeNs += t1 - t0;
    drainNs += t2 - t1;
    taken += n;
  }
  const per = (ns: bigint): number => Number(ns) / (rounds * 64);
  console.log(`${'block log worker: write a decision into the ring'.padEnd(48)} ${per(writeNs).toFixed(1).padStart(8)} ns/op (DNS thread)`);
  console.log(`${'block log worker: take it out of the ring'.padEnd(48)} ${per(drainNs).toFixed(1).padStart(8)} ns/op (worker; ${taken} taken)`);
}

