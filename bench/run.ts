// `npm run bench`: dnsward, dnsmasq, unbound, PowerDNS Recursor and Knot Resolver side by side, in one run, against the same loopback upstream,
// blocking the same names (lists/tiktok.list), measured with dnsperf on the same query files.
// Then dnsward with a 1,000,000-domain list: load time, resident memory, and the rates with it loaded.
// A script, not a test: it prints figures and asserts nothing. docs/BENCHMARKS.md explains the method.
import { cp, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions } from './lib/args.ts';
import { runDnsperf, type DnsperfStats } from './lib/dnsperf.ts';
import { describeMachine, type Machine } from './lib/machine.ts';
import { pauseDamonForRun } from './lib/damon.ts';
import { Prober } from './lib/probe.ts';
import { CLOCK_TICKS_PER_SECOND, cpuPerQuery, killAllNow, machineSharePct, machineTicks, pinCpus, serverCpuTicks, stopAll, stopProcess, treeMemoryKb } from './lib/procs.ts';
import { BENCH_ZONE, readListDomains, writeBigList, writeBlockedMix, writeCachedMix, writeMissMix } from './lib/querygen.ts';
import { parseGcTrace, readFrom, summarizeGc } from './lib/gc-trace.ts';
import { readSched, recordSched, type SchedSummary, summarizeSched } from './lib/sched-trace.ts';
import { readMetrics } from './lib/metrics.ts';
import { fixedRateCpuLines, gcTable, logOnlyPairLines, median, p99PairLines, resultsTable, schedTable, stolenLine, table, type MixResult } from './lib/report.ts';
import { LOG_SEGMENT_SOURCE, startDnsmasq, startDnsward, startUnbound, startUpstream, type Server } from './lib/servers.ts';
import { startKnotResolver, startPdnsRecursor } from './lib/peers.ts';
import { startEncryptedFront } from './lib/encrypted-front.ts';
import { type EncryptedRun, makeBenchCert, runEncrypted } from './lib/encrypted.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ALL_RESOLVERS = ['dnsward', 'dnsmasq', 'unbound', 'pdns', 'kresd'] as const;
const ALL_MIXES = ['blocked', 'cached', 'miss', 'logonly'] as const;
type Mix = (typeof ALL_MIXES)[number];
/** The mixes plus the big-list run's own: subdomains of names sampled from the 1M list. */
type RunMix = Mix | 'blocked1m';

const HELP = `npm run bench -- [options]

  --resolvers LIST       comma-separated: ${ALL_RESOLVERS.join(',')} (default: all)
  --mixes LIST           comma-separated: ${ALL_MIXES.join(',')} (default: all; logonly is dnsward only)
  --duration S           seconds per throughput run (default 10)
  --warmup S             seconds of warm-up before each measured run (default 2)
  --repeat N             throughput runs per resolver and mix, interleaved: each repeat runs every mix, the
                         mixes and the resolvers each first in turn; the median is reported, and log-only is
                         also compared with blocked repeat by repeat (default 1). Latency runs come after.
  --no-latency           skip the fixed-rate latency runs (p50/p99)
  --latency-seconds S    seconds per latency run (default 5)
  --latency-fraction F   latency runs offer F x dnsmasq's measured qps on that mix (default 0.5)
  --latency-qps N        ... or this fixed rate for every mix instead
  --latency-warmup S     seconds at the same fixed rate before each latency run, not measured (default 2): the
                         p99 of the steady rate, not of the backlog a full-rate run leaves (0: none)
  --latency-repeat N     latency runs per resolver and mix, interleaved; the run with the median p99 is reported,
                         with the p99 range (default 1: on a shared 2-core machine one run's p99 is mostly noise);
                         with 2 or more, each resolver's p99s are paired by run against dnsmasq's (and dnsward's
                         against each dnsward-* variant's): the median difference, and from 6 runs its 95%
                         sign-test interval
  --clients N            dnsperf -c (default 8)
  --outstanding N        dnsperf -q (default 100)
  --threads N            dnsperf -T (default 1)
  --upstream KIND        dnsmasq | unbound (default dnsmasq)
  --unbound-threads N    unbound num-threads (default 2)
  --dnsmasq-cache N      dnsmasq cache-size (default 2500; Pi-hole uses 10000, which forwards ~3x slower)
  --big N                domains in the big-list run (default 1000000; 0 skips it)
  --big-duration S       seconds per throughput run with the big list (default: --duration)
  --node-arg ARG         extra Node.js flag for dnsward (repeatable), e.g. --node-arg=--cpu-prof
  --encrypted-upstreams  also run dnsward three times against one unbound in front of the upstream:
                         over UDP, DNS over TLS and DNS over HTTPS (names dnsward-via-udp|dot|doh)
  --redis URL            also run dnsward with shared state in this Redis (redis://127.0.0.1:6379/0), as
                         "dnsward-redis", measured in turn with "dnsward" (keys under its own prefix, deleted after)
  --twin                 also run dnsward-twin, a second dnsward with the same config, measured in turn with the
                         others: its spread from dnsward is this run's noise, the yardstick for the variants
                         (dnsward-redis, dnsward-networks); the report ends with each variant's ratio to dnsward
  --twin-node-arg ARG    extra Node.js flag for dnsward-twin only (repeatable): an A/B of a flag in one run,
                         e.g. --twin --twin-node-arg=--heap-growing-percent=0 (V8's own heap growth)
  --twin-repo DIR        run dnsward-twin from another checkout (a worktree of an earlier commit, say): an A/B of
                         a code change in one run. DIR needs node_modules and native/build (copy or link them from
                         this checkout); its dist/ is rebuilt when older than its src/
  --twin-set KEY=VALUE   a config setting for dnsward-twin only (repeatable; dotted key, YAML value): an A/B of
                         a setting in one run, e.g. --twin --twin-set audit.worker_thread=true
  --set KEY=VALUE        a config setting for dnsward only (repeatable, as --twin-set): with --twin-repo, an A/B
                         of two builds under a setting that is not the default, e.g. --set audit.worker_thread=true
                         --twin-set audit.worker_thread=true; the million-name instance (--big) runs with it too
  --dns-workers N        dnsward's dns.workers: UDP threads, a number or auto (default: the config default, 1)
  --json                 print the results as JSON on stdout (progress goes to stderr)
  --json-file FILE       also write the JSON results to FILE
  --markdown             print the tables as Markdown
  --keep                 keep the temp dir (configs, query files, dnsward's audit dir, each latency run's dnsperf -v answers)
  --gc-trace             run every dnsward with --trace-gc-nvp and report, for its latency runs, the young-generation
                         GCs per second, their pauses, the bytes allocated per query and any full GC (the trace's
                         own printing costs a little: compare runs with it against runs with it)
  --sched-trace          record the kernel scheduler (perf sched, root) during the middle of every latency run,
                         and report for dnsward and dnsmasq how long the DNS thread (dnsward's main thread) was
                         runnable but not running, its own slices over 0.2 ms, and which threads held its CPU
                         meanwhile (V8's helpers, libuv's pool, dnsperf, other services); apt-get install linux-perf.
                         The recording costs CPU and raised every p99 4-8x on one machine (stop 34): every
                         resolver is recorded alike, and its p99s compare only with other runs that have it
  --pin                  run the resolvers under test on every CPU but the last, and dnsperf and the upstream on
                         the last (taskset), in every run. Unpinned, the kernel sometimes puts a resolver's thread
                         on dnsperf's CPU. Pinned, a resolver's threads or instances share its CPUs (on 2 cores:
                         one), the upstream shares dnsperf's, and dnsward sees fewer CPUs (dns.workers,
                         http.thread and audit.worker_thread on auto follow the CPUs it may use)
  --pause-damon          turn the kernel's DAMON monitors (kdamond) off for the run and on again after (root):
                         on VMs that run one, each pass stalls a CPU for ~4 ms twice a second, in every p99
  --pdns-threads N       PowerDNS Recursor threads (default 2, one SO_REUSEPORT socket each)
  --kresd-instances N    Knot Resolver processes sharing the port and cache (default 2)
  --kresd-policy KIND    suffix (policy.suffix) | rpz (policy.rpz) (default suffix)
  --response-ip          also run dnsward-networks: dnsward with lists/bytedance-networks.networks in force on
                         both segments (the response-ip stage checks every A/AAAA of every answer), beside
                         plain dnsward; compare their rows (cached mix: the stage's cost on answers that pass)
  --encrypted            also measure dnsward over DoT (dnsperf -m dot) and DoH (h2load, apt-get install nghttp2-client)
                         on the blocked and cached mixes, next to its UDP figures
`;

const opt = parseOptions('bench/run.ts', {
  resolvers: { type: 'string', default: ALL_RESOLVERS.join(',') },
  mixes: { type: 'string', default: ALL_MIXES.join(',') },
  duration: { type: 'string', default: '10' },
  warmup: { type: 'string', default: '2' },
  repeat: { type: 'string', default: '1' },
  'no-latency': { type: 'boolean', default: false },
  'gc-trace': { type: 'boolean', default: false },
  'sched-trace': { type: 'boolean', default: false },
  'latency-seconds': { type: 'string', default: '5' },
  'latency-fraction': { type: 'string', default: '0.5' },
  'latency-qps': { type: 'string' },
  'latency-repeat': { type: 'string', default: '1' },
  'latency-warmup': { type: 'string', default: '2' },
  clients: { type: 'string', default: '8' },
  outstanding: { type: 'string', default: '100' },
  threads: { type: 'string', default: '1' },
  upstream: { type: 'string', default: 'dnsmasq' },
  'unbound-threads': { type: 'string', default: '2' },
  'dnsmasq-cache': { type: 'string', default: '2500' },
  big: { type: 'string', default: '1000000' },
  'big-duration': { type: 'string' },
  'node-arg': { type: 'string', multiple: true, default: [] },
  redis: { type: 'string' },
  'dns-workers': { type: 'string' },
  'encrypted-upstreams': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  'json-file': { type: 'string' },
  markdown: { type: 'boolean', default: false },
  keep: { type: 'boolean', default: false },
  'pause-damon': { type: 'boolean', default: false },
  pin: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  'pdns-threads': { type: 'string', default: '2' },
  'kresd-instances': { type: 'string', default: '2' },
  'kresd-policy': { type: 'string', default: 'suffix' },
  'response-ip': { type: 'boolean', default: false },
  twin: { type: 'boolean', default: false },
  'twin-node-arg': { type: 'string', multiple: true, default: [] },
  'twin-repo': { type: 'string' },
  'twin-set': { type: 'string', multiple: true, default: [] },
  set: { type: 'string', multiple: true, default: [] },
  encrypted: { type: 'boolean', default: false },
});

if (opt.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function positive(name: string, value: string | undefined, allowZero = false): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    process.stderr.write(`bench: --${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got "${value}"\n`);
    process.exit(2);
  }
  return n;
}

function listOption<T extends string>(name: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!allowed.includes(item as T)) {
      process.stderr.write(`bench: --${name} "${item}" is not one of ${allowed.join(', ')}\n`);
      process.exit(2);
    }
  }
  return items as T[];
}

const resolvers = listOption('resolvers', opt.resolvers, ALL_RESOLVERS);
const mixes = listOption('mixes', opt.mixes, ALL_MIXES);
const duration = positive('duration', opt.duration);
const warmup = positive('warmup', opt.warmup, true);
const repeat = Math.round(positive('repeat', opt.repeat));
const latencyOn = !opt['no-latency'];
const twinRepo = opt['twin-repo'] === undefined ? REPO : resolve(opt['twin-repo']);
if (opt['twin-repo'] !== undefined && (!opt.twin || !existsSync(join(twinRepo, 'bin', 'dnsward')) || !existsSync(join(twinRepo, 'node_modules')))) {
  process.stderr.write(`bench: --twin-repo needs --twin, and a checkout with bin/dnsward and node_modules (got "${twinRepo}")\n`);
  process.exit(2);
}
const latencySeconds = positive('latency-seconds', opt['latency-seconds']);
const latencyFraction = positive('latency-fraction', opt['latency-fraction']);
const latencyQps = opt['latency-qps'] === undefined ? undefined : positive('latency-qps', opt['latency-qps']);
const latencyRepeat = positive('latency-repeat', opt['latency-repeat']);
const latencyWarmup = positive('latency-warmup', opt['latency-warmup'], true);
const clients = Math.round(positive('clients', opt.clients));
const outstanding = Math.round(positive('outstanding', opt.outstanding));
const threads = Math.round(positive('threads', opt.threads));
const unboundThreads = Math.round(positive('unbound-threads', opt['unbound-threads']));
const dnsmasqCache = Math.round(positive('dnsmasq-cache', opt['dnsmasq-cache'], true));
const bigCount = Math.round(positive('big', opt.big, true));
const bigDuration = opt['big-duration'] === undefined ? duration : positive('big-duration', opt['big-duration']);
if (opt.upstream !== 'dnsmasq' && opt.upstream !== 'unbound') {
  process.stderr.write(`bench: --upstream must be dnsmasq or unbound, got "${opt.upstream}"\n`);
  process.exit(2);
}
const upstreamKind = opt.upstream;
if (opt.redis !== undefined && !/^rediss?:\/\//.test(opt.redis)) {
  process.stderr.write(`bench: --redis must be a redis:// or rediss:// URL, got "${opt.redis}"\n`);
  process.exit(2);
}
const dnsWorkers = opt['dns-workers'] === undefined ? undefined : opt['dns-workers'] === 'auto' ? ('auto' as const) : Math.round(positive('dns-workers', opt['dns-workers']));
if (opt['sched-trace'] && dnsWorkers !== undefined && dnsWorkers !== 1) {
  // With worker threads the main thread answers only TCP: its waits would say nothing about UDP.
  process.stderr.write('bench: --sched-trace follows the main thread, which answers UDP only with --dns-workers 1; leave out one of the two\n');
  process.exit(2);
}
/** dnsward run a second time with something changed (or, for the twin, nothing). */
const VARIANTS = ['dnsward-twin', 'dnsward-redis', 'dnsward-networks'];

/** Keys of this run's dnsward-redis, deleted at the end. */
const REDIS_PREFIX = `dnsward:bench-${process.pid}-${Date.now().toString(36)}:`;
const pdnsThreads = Math.round(positive('pdns-threads', opt['pdns-threads']));
const kresdInstances = Math.round(positive('kresd-instances', opt['kresd-instances']));
const kresdPolicy = listOption('kresd-policy', opt['kresd-policy'], ['suffix', 'rpz'] as const)[0] ?? 'suffix';

/** Miss-mix files hold this many names per second of run: more than any resolver here forwards. */
const MISS_NAMES_PER_SECOND = 150_000;
const DNSPERF_TIMEOUT_S = 2;
const BLOCKED_LINES = 20_000;
const CACHED_NAMES = 1_000;

const log = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};
const out = (msg: string): void => {
  if (!opt.json) process.stdout.write(`${msg}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- cleanup: every child is stopped on the way out, whatever the way out is ----
let tmp = '';
let cleaning: Promise<void> | undefined;
let interrupted = false;
async function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAll();
    if (opt.redis !== undefined) await dropRedisKeys(opt.redis, REDIS_PREFIX).catch((error: unknown) => log(`bench: could not delete the ${REDIS_PREFIX}* keys: ${(error as Error).message}`));
    if (tmp && !opt.keep) await rm(tmp, { recursive: true, force: true });
    else if (tmp) log(`kept ${tmp}`);
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    interrupted = true;
    log(`\nbench: ${signal}, stopping every process it started`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.on('exit', killAllNow);


function expectedRcode(mix: RunMix): string {
  return mix === 'blocked' || mix === 'blocked1m' ? 'NXDOMAIN' : 'NOERROR';
}

function share(stats: DnsperfStats, rcode: string): number {
  const total = Object.values(stats.rcodes).reduce((a, b) => a + b, 0);
  return total === 0 ? 0 : (stats.rcodes[rcode] ?? 0) / total;
}

interface Files {
  blocked: string;
  cached: string;
  big?: string;
}

let missSerial = 0;
async function missFile(dir: string, seconds: number, qpsCap = MISS_NAMES_PER_SECOND): Promise<string> {
  const tag = `${process.pid.toString(36)}${(missSerial++).toString(36)}${Date.now().toString(36).slice(-4)}`;
  const file = join(dir, `miss-${tag}.txt`);
  await writeMissMix(file, Math.ceil(qpsCap * seconds), tag);
  return file;
}

const dnsperfBase = { clients, outstanding, threads, timeout: DNSPERF_TIMEOUT_S };

/** Warm-up (not measured): fills caches and lets a JIT settle. */
async function warm(server: Server, mix: RunMix, files: Files, dir: string): Promise<void> {
  const source = mix === 'logonly' ? LOG_SEGMENT_SOURCE : undefined;
  if (mix === 'cached' || mix === 'logonly') {
    // One full pass first, so every name of the file is in the cache before anything is measured.
    await runDnsperf({ ...dnsperfBase, port: server.port, file: mixQueryFile(mix, files), seconds: 0, passes: 1, outstanding: 20, source });
  }
  if (warmup > 0) {
    const warmFile = mix === 'miss' ? await missFile(dir, warmup) : mixQueryFile(mix, files);
    await runDnsperf({ ...dnsperfBase, port: server.port, file: warmFile, seconds: warmup, passes: mix === 'miss' ? 1 : undefined, source });
    if (mix === 'miss') await rm(warmFile, { force: true });
  }
}

function mixQueryFile(mix: RunMix, files: Files): string {
  if (mix === 'blocked' || mix === 'logonly') return files.blocked;
  if (mix === 'cached') return files.cached;
  if (mix === 'blocked1m') return files.big ?? files.blocked;
  throw new Error('miss files are generated per run');
}

async function measure(server: Server, mix: RunMix, files: Files, dir: string, seconds: number): Promise<DnsperfStats> {
  const source = mix === 'logonly' ? LOG_SEGMENT_SOURCE : undefined;
  const file = mix === 'miss' ? await missFile(dir, seconds) : mixQueryFile(mix, files);
  try {
    const cpu0 = serverCpuTicks(server.proc.pid);
    const m0 = machineTicks();
    const t0 = performance.now();
    const { stats } = await runDnsperf({ ...dnsperfBase, port: server.port, file, seconds, passes: mix === 'miss' ? 1 : undefined, source });
    const wall = (performance.now() - t0) / 1000;
    const m1 = machineTicks();
    const cpu1 = serverCpuTicks(server.proc.pid);
    const pct = (ticks: number): number => Math.round((ticks / CLOCK_TICKS_PER_SECOND / wall) * 1000) / 10;
    stats.cpu = {
      serverPct: pct(cpu1.all - cpu0.all),
      dnsperfPct: pct(stats.dnsperfTicks ?? 0),
      machineBusyPct: machineSharePct(m0, m1, 'busy'),
      machineStolenPct: machineSharePct(m0, m1, 'stolen'),
    };
    Object.assign(stats, cpuPerQuery(cpu0, cpu1, stats.completed));
    if (mix === 'miss' && stats.runTime < seconds * 0.9) log(`  note: ${server.name} exhausted the miss file (${stats.sent} names) after ${stats.runTime.toFixed(1)} s`);
    return stats;
  } finally {
    if (mix === 'miss') await rm(file, { force: true });
  }
}

let latencyRunNumber = 0;

async function measureLatency(server: Server, mix: RunMix, files: Files, dir: string, rate: number): Promise<NonNullable<MixResult['latency']>> {
  const source = mix === 'logonly' ? LOG_SEGMENT_SOURCE : undefined;
  if (latencyWarmup > 0) {
    const warmFile = mix === 'miss' ? await missFile(dir, latencyWarmup * 1.2, rate) : mixQueryFile(mix, files);
    await runDnsperf({ ...dnsperfBase, port: server.port, file: warmFile, seconds: latencyWarmup, maxQps: rate, passes: mix === 'miss' ? 1 : undefined, source });
    if (mix === 'miss') await rm(warmFile, { force: true });
  }
  const file = mix === 'miss' ? await missFile(dir, latencySeconds * 1.2, rate) : mixQueryFile(mix, files);
  // The scheduler from 1 s into the run, for all but its last second. Every resolver is recorded, so that every p99
  // bears the recording's cost (stop 34: unrecorded, Knot Resolver's p99 was 0.33 ms beside 1.85-2.67 for the
  // others); only the single-threaded ones are read (their DNS thread is the main one).
  const schedFile = join(dir, `sched-${server.name}-${mix}.data`);
  const summarized = server.name.startsWith('dnsward') || server.name === 'dnsmasq';
  const recording = opt['sched-trace'] ? new Promise((r) => setTimeout(r, 1000)).then(() => recordSched(schedFile, Math.max(1, Math.min(4, latencySeconds - 2)))) : undefined;
  recording?.catch(() => undefined); // awaited below; a failed dnsperf run must not leave it unhandled
  try {
    const gcFrom = server.gcTraceFile === undefined ? 0 : (await stat(server.gcTraceFile)).size;
    const m0 = machineTicks();
    const cpu0 = serverCpuTicks(server.proc.pid);
    const { stats, latency } = await runDnsperf({
      ...dnsperfBase,
      port: server.port,
      file,
      seconds: latencySeconds,
      maxQps: rate,
      passes: mix === 'miss' ? 1 : undefined,
      source,
      // Each run its own file: with --keep, every repeat's answers stay for a closer look.
      verboseFile: join(dir, `latency-${server.name}-${mix}-${++latencyRunNumber}.txt`),
      keepVerbose: opt.keep,
    });
    // The measured run (and the reading of its answers' file, a tenth of a second), not the warm-up before it.
    const stolen = machineSharePct(m0, machineTicks(), 'stolen');
    Object.assign(stats, cpuPerQuery(cpu0, serverCpuTicks(server.proc.pid), stats.completed));
    // A failed recording costs this run its scheduler figures, not the bench.
    const sched: SchedSummary | undefined = await recording
      ?.then(async () => (summarized ? summarizeSched(await readSched(schedFile), server.proc.pid) : undefined))
      .catch((error: unknown) => {
        log(`  scheduler: no figures for this run: ${(error as Error).message}`);
        return undefined;
      });
    if (!latency) throw new Error('no latency samples');
    if (sched) log(`  scheduler: DNS thread waiting ${sched.waitingMsPerS.toFixed(1)} ms/s, longest ${sched.longestWaitMs.toFixed(2)} ms; held by ${sched.heldBy.slice(0, 3).map((h) => `${h.name} ${h.msPerS.toFixed(1)}`).join(', ')}`);
    if (server.gcTraceFile === undefined) return { ...latency, offeredQps: rate, stats, stolenPct: stolen, ...(sched ? { sched } : {}) };
    const gc = summarizeGc(parseGcTrace(await readFrom(server.gcTraceFile, gcFrom)), stats.runTime, stats.completed);
    log(`  GC: ${gc.scavengesPerSecond.toFixed(1)} scavenges/s (pause median ${gc.scavengePauseMedianMs} ms), ${Math.round(gc.bytesPerQuery)} bytes/query, ${gc.fullGcs} full`);
    return { ...latency, offeredQps: rate, stats, stolenPct: stolen, gc, ...(sched ? { sched } : {}) };
  } finally {
    if (mix === 'miss') await rm(file, { force: true });
    // dnsperf failed: let the recording end before its file goes.
    await recording?.catch(() => undefined);
    await rm(schedFile, { force: true });
  }
}

/**
 * The order for repeat `rep`: each server goes first in turn, so that none always runs right after the same
 * other (its backlog, its cache misses in the upstream) or at the same point of a repeat.
 */
function rotated<T>(items: readonly T[], rep: number): T[] {
  const k = rep % Math.max(1, items.length);
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * `reference`: dnsmasq's rates from an earlier run, for the latency rate when dnsmasq is not among `servers`.
 *
 * Every mix's throughput runs come first, interleaved: each repeat runs the mixes in a rotated order, so that
 * no mix always follows the same one (log-only used to follow blocked's latency runs every time). The
 * fixed-rate latency runs follow.
 */
async function runMixes(servers: Server[], mixList: RunMix[], files: Files, dir: string, seconds: number, reference: MixResult[] = []): Promise<MixResult[]> {
  const applicableTo = (mix: RunMix): Server[] => servers.filter((s) => mix !== 'logonly' || s.name.startsWith('dnsward'));
  const runMixList = mixList.filter((mix) => applicableTo(mix).length > 0);
  const runs = new Map<string, DnsperfStats[]>();
  const key = (mix: RunMix, server: Server): string => `${mix}\0${server.name}`;
  for (let rep = 0; rep < repeat; rep++) {
    for (const mix of rotated(runMixList, rep)) {
      for (const server of rotated(applicableTo(mix), rep)) {
        log(`[${mix}] ${server.name}${repeat > 1 ? ` run ${rep + 1}/${repeat}` : ''}: warm-up ${warmup} s, then ${seconds} s`);
        await warm(server, mix, files, dir);
        const stats = await measure(server, mix, files, dir, seconds);
        log(`  ${Math.round(stats.qps).toLocaleString('en-US')} qps, lost ${stats.lost}, avg ${stats.avgMs.toFixed(2)} ms, CPU: server ${stats.cpu?.serverPct}%, dnsperf ${stats.cpu?.dnsperfPct}%, machine ${stats.cpu?.machineBusyPct}% busy, ${stats.cpu?.machineStolenPct}% stolen by the host`);
        runs.set(key(mix, server), [...(runs.get(key(mix, server)) ?? []), stats]);
      }
    }
  }
  const results: MixResult[] = [];
  for (const mix of runMixList) {
    const applicable = applicableTo(mix);
    const mixResults: MixResult[] = [];
    for (const server of applicable) {
      const all = runs.get(key(mix, server)) ?? [];
      const mid = median(all.map((s) => s.qps));
      const stats = all.find((s) => s.qps === mid) ?? (all[0] as DnsperfStats);
      const want = expectedRcode(mix);
      mixResults.push({ resolver: server.name, mix, runs: all, stats, expectedRcode: want, expectedShare: share(stats, want) });
    }
    if (latencyOn) {
      const baseMix = mix === 'blocked1m' ? 'blocked' : mix;
      const dnsmasqQps = [...mixResults, ...reference].find((r) => r.resolver === 'dnsmasq' && r.mix === baseMix)?.stats.qps;
      const rate = latencyQps ?? Math.max(1000, Math.round(((dnsmasqQps ?? Math.min(...mixResults.map((r) => r.stats.qps))) * latencyFraction) / 1000) * 1000);
      const latencyRuns = new Map<MixResult, NonNullable<MixResult['latency']>[]>();
      for (let rep = 0; rep < latencyRepeat; rep++) {
        for (const r of rotated(mixResults, rep)) {
          const server = applicable.find((s) => s.name === r.resolver) as Server;
          log(`[${mix}] ${server.name}: latency at ${rate.toLocaleString('en-US')} qps for ${latencySeconds} s${latencyRepeat > 1 ? `, run ${rep + 1}/${latencyRepeat}` : ''}`);
          const latency = await measureLatency(server, mix, files, dir, rate);
          log(`  p50 ${latency.p50Ms.toFixed(3)} ms, p99 ${latency.p99Ms.toFixed(3)} ms, lost ${latency.stats.lost}, ${latency.stats.cpuUs} us of CPU a query, ${latency.stolenPct}% stolen by the host`);
          latencyRuns.set(r, [...(latencyRuns.get(r) ?? []), latency]);
        }
      }
      for (const [r, all] of latencyRuns) {
        const p99Runs = all.map((l) => l.p99Ms);
        const mid = median(p99Runs);
        r.latency = { ...(all.find((l) => l.p99Ms === mid) ?? (all[0] as NonNullable<MixResult['latency']>)), p99Runs, stolenRuns: all.map((l) => l.stolenPct ?? 0), cpuRuns: all.map((l) => ({ cpuUs: l.stats.cpuUs, systemUs: l.stats.systemUs, threadUs: l.stats.threadUs })) };
      }
    }
    results.push(...mixResults);
  }
  return results;
}

interface BigRun {
  domains: number;
  listFileMB: number;
  listenMs?: number;
  enforcedMs?: number;
  probeMaxMsAfterListen?: number;
  probes: number;
  rssMBLoaded?: number;
  rssMBAfter?: number;
  hwmMBAfter?: number;
  results: MixResult[];
  error?: string;
}

async function bigListRun(dir: string, upstreamPort: number, files: Files, reference: MixResult[]): Promise<BigRun> {
  const listsDir = join(dir, 'lists-big');
  await mkdir(listsDir, { recursive: true });
  await cp(join(REPO, 'lists', 'tiktok.list'), join(listsDir, 'tiktok.list'));
  // The million names arrive the way big lists do in practice: a subscribed source (a hosts
  // file), loaded by lists.sources, not one of the maintained lists the feed republishes.
  const bigFile = join(dir, 'big-hosts.txt');
  log(`[1M] writing ${bigCount.toLocaleString('en-US')} domains to ${bigFile}`);
  const sample = await writeBigList(bigFile, bigCount, 20261128, 4000, 'hosts');
  const { size } = await stat(bigFile);
  const bigQueries = join(dir, 'blocked-big.txt');
  await writeFile(bigQueries, `${sample.flatMap((d, i) => [`${i % 3 === 0 ? 'www.' : ''}${d} A`, `${d} AAAA`]).join('\n')}\n`);
  files.big = bigQueries;
  const probeName = sample[sample.length - 1] as string;
  const run: BigRun = { domains: bigCount, listFileMB: Math.round((size / 2 ** 20) * 10) / 10, probes: 0, results: [] };

  const server = await startDnsward({
    repo: REPO,
    dir,
    upstreamPort,
    listsDir,
    lists: ['tiktok', 'big'],
    sources: [{ name: 'big', file: bigFile, format: 'hosts' }],
    nodeArgs: opt['node-arg'],
    settings: opt.set,
    name: 'dnsward-1m',
    readyTimeoutMs: 60_000,
    ...(dnsWorkers !== undefined ? { workers: dnsWorkers } : {}),
    noWait: true,
  });
  const start = Date.now();
  const prober = new Prober();
  try {
    // Probe a name from the big list every 5 ms: when the listener first answers, and when the big list is enforced.
    let maxAfterListen = 0;
    while (Date.now() - start < 60_000) {
      if (server.proc.exitCode() !== undefined) throw new Error(`dnsward exited while loading:\n${server.proc.tail()}`);
      // Short timeouts until the listener answers (an unbound port just drops the probe), then 1 s so a
      // stalled event loop shows up as a slow probe.
      const r = await prober.query(server.port, probeName, 'A', run.listenMs === undefined ? 20 : 1000);
      run.probes++;
      if (r) {
        run.listenMs ??= Math.round(Date.now() - start - r.ms);
        maxAfterListen = Math.max(maxAfterListen, r.ms);
        if (r.rcode === 'NXDOMAIN') {
          run.enforcedMs = Date.now() - start;
          break;
        }
      } else if (run.listenMs !== undefined) {
        maxAfterListen = Math.max(maxAfterListen, 1000);
      }
      await sleep(5);
    }
    run.probeMaxMsAfterListen = Math.round(maxAfterListen * 10) / 10;
    if (run.enforcedMs === undefined) throw new Error(`${probeName} not blocked within 60 s`);
    log(`[1M] listening after ${run.listenMs ?? '?'} ms, big list enforced after ${run.enforcedMs} ms`);
    await sleep(1000);
    run.rssMBLoaded = Math.round(treeMemoryKb(server.proc.pid).rssKb / 102.4) / 10;
    log(`[1M] RSS ${run.rssMBLoaded} MB with the list loaded`);
    const bigMixes: RunMix[] = ['blocked', 'cached', 'blocked1m'];
    run.results = await runMixes([server], bigMixes, files, dir, bigDuration, reference);
    const mem = treeMemoryKb(server.proc.pid);
    run.rssMBAfter = Math.round(mem.rssKb / 102.4) / 10;
    run.hwmMBAfter = Math.round(mem.hwmKb / 102.4) / 10;
  } finally {
    prober.close();
    await stopProcess(server.proc);
  }
  return run;
}

function machineLines(m: Machine): string[] {
  return [
    `machine: ${m.cores} x ${m.cpuModel}, ${m.memGiB} GiB RAM, Linux ${m.kernel}, load average ${m.loadavg.join(' ')} at start`,
    `tools:   node ${m.node}; ${m.dnsmasq}; unbound ${m.unbound.replace(/^Version\s*/, '')}; dnsperf ${m.dnsperf.replace(/^Version\s*/, '')}; ${m.pdnsRecursor}; ${m.kresd}`,
    m.damon,
    m.cpus,
  ];
}

async function main(): Promise<void> {
  for (const bin of ['/usr/bin/dnsperf', '/usr/sbin/dnsmasq']) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: apt-get install dnsperf dnsmasq unbound`);
  }
  const machine = describeMachine();
  // Before DAMON is paused: a missing perf ends the run here.
  if (opt['sched-trace']) {
    const probe = join(tmpdir(), `dnsward-bench-sched-${process.pid}.data`);
    await recordSched(probe, 0).catch((error: unknown) => {
      process.stderr.write(`bench: --sched-trace needs perf sched (apt-get install linux-perf; root, or kernel.perf_event_paranoid = -1 with access to tracefs): ${(error as Error).message}\n`);
      process.exit(2);
    });
    await rm(probe, { force: true });
  }
  // Before DAMON is paused too: a --pin that cannot be done is one line and exit 2.
  if (opt.pin) {
    try {
      if (!existsSync('/usr/bin/taskset')) throw new Error('/usr/bin/taskset is missing (apt-get install util-linux)');
      const plan = pinCpus();
      machine.cpus = `CPUs: pinned (--pin, taskset, every run): the resolvers under test and their threads on ${plan.server}, dnsperf and the upstream on ${plan.load}`;
    } catch (error) {
      process.stderr.write(`bench: ${(error as Error).message}\n`);
      process.exit(2);
    }
  }
  if (opt['pause-damon']) machine.damon = pauseDamonForRun(machine.damon);
  for (const l of machineLines(machine)) log(l);
  tmp = await mkdtemp(join(tmpdir(), 'dnsward-bench-'));
  const blocked = await readListDomains(join(REPO, 'lists', 'tiktok.list'));
  const files: Files = { blocked: join(tmp, 'blocked.txt'), cached: join(tmp, 'cached.txt') };
  await writeBlockedMix(files.blocked, blocked, BLOCKED_LINES, 1);
  await writeCachedMix(files.cached, CACHED_NAMES);

  const upstream = await startUpstream(upstreamKind, tmp, blocked);
  log(`upstream: ${upstream.name} on 127.0.0.1:${upstream.port}`);
  const servers: Server[] = [];
  const skipped: Record<string, string> = {};
  for (const name of resolvers) {
    try {
      if (name === 'dnsmasq') servers.push(await startDnsmasq(upstream.port, blocked, dnsmasqCache));
      if (name === 'unbound') {
        if (!existsSync('/usr/sbin/unbound')) throw new Error('/usr/sbin/unbound is missing');
        servers.push(await startUnbound(tmp, upstream.port, blocked, unboundThreads));
      }
      if (name === 'pdns') servers.push(await startPdnsRecursor(tmp, upstream.port, blocked, pdnsThreads));
      if (name === 'kresd') servers.push(await startKnotResolver(tmp, upstream.port, blocked, kresdInstances, kresdPolicy));
      if (name === 'dnsward') {
        const encrypted = opt.encrypted ? makeBenchCert(tmp) : undefined;
        servers.push(await startDnsward({ repo: REPO, dir: tmp, upstreamPort: upstream.port, listsDir: join(REPO, 'lists'), lists: ['tiktok'], nodeArgs: opt['node-arg'], settings: opt.set, name: 'dnsward', readyTimeoutMs: 30_000, gcTrace: opt['gc-trace'], encrypted, ...(dnsWorkers !== undefined ? { workers: dnsWorkers } : {}) }));
        if (opt['response-ip']) {
          // The same instance plus the network list: the difference is the response-ip stage.
          servers.push(await startDnsward({ repo: REPO, dir: tmp, upstreamPort: upstream.port, listsDir: join(REPO, 'lists'), lists: ['tiktok', 'bytedance-networks'], nodeArgs: opt['node-arg'], name: 'dnsward-networks', readyTimeoutMs: 30_000, gcTrace: opt['gc-trace'] }));
        }
        if (opt['encrypted-upstreams']) {
          const front = await startEncryptedFront(tmp, upstream.port, unboundThreads);
          log(`encrypted front: ${front.describe}`);
          for (const kind of ['udp', 'dot', 'doh'] as const) {
            const name = `dnsward-via-${kind}`;
            servers.push(await startDnsward({ repo: REPO, dir: tmp, upstreamPort: upstream.port, listsDir: join(REPO, 'lists'), lists: ['tiktok'], nodeArgs: opt['node-arg'], name, readyTimeoutMs: 30_000, gcTrace: opt['gc-trace'], upstreams: [front.upstreams[kind]], upstreamCaFile: front.caFile }));
          }
        }
        if (opt.twin) {
          servers.push(await startDnsward({ repo: twinRepo, dir: tmp, upstreamPort: upstream.port, listsDir: join(REPO, 'lists'), lists: ['tiktok'], nodeArgs: [...opt['node-arg'], ...opt['twin-node-arg']], settings: opt['twin-set'], name: 'dnsward-twin', readyTimeoutMs: 30_000, gcTrace: opt['gc-trace'], ...(dnsWorkers !== undefined ? { workers: dnsWorkers } : {}) }));
        }
        if (opt.redis !== undefined) {
          const redis = { url: opt.redis, keyPrefix: REDIS_PREFIX };
          servers.push(await startDnsward({ repo: REPO, dir: tmp, upstreamPort: upstream.port, listsDir: join(REPO, 'lists'), lists: ['tiktok'], nodeArgs: opt['node-arg'], name: 'dnsward-redis', readyTimeoutMs: 30_000, gcTrace: opt['gc-trace'], redis, ...(dnsWorkers !== undefined ? { workers: dnsWorkers } : {}) }));
        }
      }
    } catch (error) {
      skipped[name] = (error as Error).message;
      log(`SKIPPING ${name}: it did not start and answer a query.\n${(error as Error).message}\n`);
    }
  }
  for (const s of servers) log(`${s.name} on 127.0.0.1:${s.port}: ${s.describe}`);
  // Sanity: each resolver blocks a listed name and resolves a bench name before anything is measured.
  const prober = new Prober();
  for (const s of servers) {
    const b = await prober.query(s.port, `www.${blocked[0] ?? 'tiktok.com'}`, 'A', 2000);
    const ok = await prober.query(s.port, `sanity.${BENCH_ZONE}`, 'A', 2000);
    if (b?.rcode !== 'NXDOMAIN' || ok?.rcode !== 'NOERROR') throw new Error(`${s.name} sanity check failed: blocked name -> ${b?.rcode ?? 'timeout'}, bench name -> ${ok?.rcode ?? 'timeout'}`);
  }
  prober.close();

  const results = await runMixes(servers, mixes, files, tmp, duration);
  let encryptedRuns: EncryptedRun[] | undefined;
  const dnswardServer = servers.find((s) => s.name === 'dnsward');
  if (opt.encrypted && dnswardServer) {
    const encMixes = mixes.filter((m) => m === 'blocked' || m === 'cached').map((mix) => ({ mix, file: mixQueryFile(mix, files) }));
    encryptedRuns = await runEncrypted({ server: dnswardServer, mixes: encMixes, seconds: duration, warmup, dir: tmp, dnsperf: dnsperfBase, log });
  }
  const memory: Record<string, number> = {};
  for (const s of servers) memory[s.name] = Math.round(treeMemoryKb(s.proc.pid).rssKb / 102.4) / 10;
  // What each dnsward's block log did over the whole run: a build that drops decisions once its writer is
  // behind does less work per query at full rate, so its rate is not comparable with one that logs them all.
  const blockLogs: Record<string, { written?: number; dropped?: number }> = {};
  for (const s of servers.filter((x) => x.name.startsWith('dnsward') && x.apiPort !== undefined)) {
    const m = await readMetrics(s.apiPort);
    blockLogs[s.name] = { written: m.get('dnsward_audit_events_written_total'), dropped: m.get('dnsward_audit_dropped_total') };
  }

  let big: BigRun | undefined;
  const dnsward = servers.find((s) => s.name === 'dnsward');
  if (bigCount > 0 && dnsward) {
    // The big-list run has the machine to itself: the other resolvers are idle, dnsward's first instances are stopped.
    await stopProcess(dnsward.proc);
    for (const other of servers.filter((s) => VARIANTS.includes(s.name))) await stopProcess(other.proc);
    try {
      big = await bigListRun(tmp, upstream.port, files, results);
    } catch (error) {
      big = { domains: bigCount, listFileMB: 0, probes: 0, results: [], error: (error as Error).message };
      log(`[1M] FAILED: ${(error as Error).message}`);
    }
  } else if (bigCount > 0) {
    log(`[1M] skipped: dnsward is not running${skipped.dnsward ? ' (see above)' : ''}`);
  }

  const report = {
    machine,
    params: { twinRepo: opt['twin-repo'] === undefined ? undefined : twinRepo, duration, warmup, repeat, clients, outstanding, threads, dnsperfTimeout: DNSPERF_TIMEOUT_S, latencySeconds: latencyOn ? latencySeconds : undefined, latencyFraction: latencyOn && latencyQps === undefined ? latencyFraction : undefined, latencyQps, latencyRepeat: latencyOn ? latencyRepeat : undefined, latencyWarmup: latencyOn ? latencyWarmup : undefined, upstream: upstreamKind, unboundThreads, dnsmasqCache, blockedNames: blocked.length },
    peers: { pdnsThreads, kresdInstances, kresdPolicy },
    upstream: upstream.describe,
    servers: Object.fromEntries(servers.map((s) => [s.name, s.describe])),
    skipped,
    results,
    rssMB: memory,
    blockLogs,
    big,
    encrypted: encryptedRuns,
  };

  out('');
  for (const l of machineLines(machine)) out(l);
  out(`dnsperf -c ${clients} -q ${outstanding} -T ${threads} -t ${DNSPERF_TIMEOUT_S}, ${duration} s per run after ${warmup} s warm-up, median of ${repeat}; upstream ${upstream.name}; ${blocked.length} blocked names from lists/tiktok.list`);
  if (latencyOn) out(`p50/p99: ${latencyRepeat > 1 ? `${latencyRepeat} interleaved ${latencySeconds} s runs per resolver, the one with the median p99 shown` : `a separate ${latencySeconds} s run per resolver`} at a fixed offered rate (@qps)${latencyWarmup > 0 ? ` after ${latencyWarmup} s at that rate` : ''} ${latencyQps ? '' : `= ${latencyFraction} x dnsmasq's qps on that mix`}, latencies from dnsperf -v${opt['sched-trace'] ? ', every run under a perf sched recording (--sched-trace: compare these p99s only with runs that have it)' : ''}`);
  for (const [name, why] of Object.entries(skipped)) out(`SKIPPED ${name}: ${why.split('\n')[0]}`);
  // What the twin differs by (and any setting dnsward itself ran with), so that the table says what it compares.
  const variants = [['dnsward', opt.set], ['dnsward-twin', opt.twin ? opt['twin-set'] : []]] as const;
  for (const [name, settings] of variants) if (settings.length > 0) out(`${name} settings: ${settings.join(', ')}`);
  if (opt.twin && opt['twin-repo'] !== undefined) out(`dnsward-twin built from ${opt['twin-repo']}`);
  out('');
  out(resultsTable(results, opt.markdown));
  const gcReport = gcTable(results, opt.markdown);
  if (gcReport !== undefined) out(`\nV8's collector in dnsward during the reported latency runs (--gc-trace):\n${gcReport}`);
  const schedReport = schedTable(results, opt.markdown);
  if (schedReport !== undefined) out(`\nThe DNS thread and who held its CPU while it waited, during the reported latency runs (--sched-trace, perf sched, ms per second of trace):\n${schedReport}`);
  out('');
  out(`resident memory after the runs (MB): ${Object.entries(memory).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const stolen = stolenLine([...results, ...(big?.results ?? [])]);
  if (stolen !== undefined) out(stolen);
  const logLine = Object.entries(blockLogs)
    .filter(([, v]) => v.written !== undefined)
    .map(([k, v]) => `${k} ${(v.written ?? 0).toLocaleString('en-US')} written, ${(v.dropped ?? 0).toLocaleString('en-US')} dropped`);
  if (logLine.length > 0) out(`block log over the whole run (decisions; dropped = refused with audit.max_buffered events waiting): ${logLine.join('; ')}`);
  const responseIp = responseIpLine(results);
  if (responseIp) out(responseIp);
  for (const line of logOnlyPairLines(results)) out(line);
  for (const line of p99PairLines(results)) out(line);
  for (const line of variantLines(results)) out(line);
  for (const line of threadLines(results)) out(line);
  for (const line of fixedRateCpuLines(results)) out(line);
  if (encryptedRuns) {
    out('');
    out('dnsward by transport (qps; DoT: dnsperf -m dot, DoH: h2load over HTTP/2 GET; server CPU in % of one core):');
    const byMix = [...new Set(encryptedRuns.map((r) => r.mix))];
    const cell = (r: { qps: number; cpu?: number } | undefined): string => (r === undefined ? '-' : `${Math.round(r.qps).toLocaleString('en-US')}${r.cpu === undefined ? '' : ` (${r.cpu}%)`}`);
    const rows = byMix.map((mix) => {
      const udp = results.find((r) => r.resolver === 'dnsward' && r.mix === mix);
      const enc = (t: string) => encryptedRuns?.find((r) => r.mix === mix && r.transport === t);
      const dot = enc('dot');
      const doh = enc('doh');
      return [mix, cell(udp && { qps: udp.stats.qps, cpu: udp.stats.cpu?.serverPct }), cell(dot && { qps: dot.qps, cpu: dot.serverCpuPct }), cell(doh && { qps: doh.qps, cpu: doh.serverCpuPct }), String((dot?.failed ?? 0) + (doh?.failed ?? 0))];
    });
    out(table(['mix', 'udp', 'dot', 'doh', 'dot+doh failed'], rows, opt.markdown));
  }
  if (big) {
    out('');
    if (big.error) out(`1M-domain run FAILED: ${big.error.split('\n')[0]}`);
    else {
      out(`dnsward with a ${big.domains.toLocaleString('en-US')}-domain list (${big.listFileMB} MB file) plus tiktok:`);
      out(
        table(
          ['measure', 'value'],
          [
            ['listening (ms from spawn)', String(big.listenMs ?? '-')],
            ['big list enforced (ms from spawn)', String(big.enforcedMs ?? '-')],
            ['slowest probe after listening (ms)', String(big.probeMaxMsAfterListen ?? '-')],
            ['RSS loaded (MB)', String(big.rssMBLoaded ?? '-')],
            ['RSS after runs (MB)', String(big.rssMBAfter ?? '-')],
            ['peak RSS, VmHWM (MB)', String(big.hwmMBAfter ?? '-')],
          ],
          opt.markdown,
        ),
      );
      out('');
      out(resultsTable(big.results, opt.markdown, results));
    }
  }
  const json = JSON.stringify(report, null, 2);
  if (opt.json) process.stdout.write(`${json}\n`);
  if (opt['json-file']) await writeFile(opt['json-file'], `${json}\n`);
}

try {
  await main();
} catch (error) {
  if (!interrupted) {
    log(`bench failed: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  }
} finally {
  await cleanup();
}

/** Each variant's qps as a ratio of dnsward's, per mix (the twin's ratio is the noise). */
function variantLines(results: MixResult[]): string[] {
  const qps = (name: string, mix: string): number | undefined => results.find((r) => r.mix === mix && r.resolver === name)?.stats.qps;
  const mixesRun = [...new Set(results.filter((r) => r.resolver === 'dnsward').map((r) => r.mix))];
  return VARIANTS.filter((v) => results.some((r) => r.resolver === v)).map((v) => {
    const cells = mixesRun.map((mix) => {
      const base = qps('dnsward', mix);
      const other = qps(v, mix);
      return `${mix} ${base && other ? `${(other / base).toFixed(2)}x` : '-'}`;
    });
    return `${v} / dnsward: ${cells.join(', ')}`;
  });
}

/** Where each dnsward's CPU went, per answered query and thread, in the median run of each mix. */
function threadLines(results: MixResult[]): string[] {
  const rows = results.filter((r) => r.resolver.startsWith('dnsward') && r.stats.threadUs !== undefined);
  if (rows.length === 0) return [];
  return [
    'CPU per answered query by thread (us; from /proc/PID/task, 10 ms ticks, the median run):',
    ...rows.map((r) => {
      const threads = Object.entries(r.stats.threadUs ?? {}).filter(([, us]) => us >= 0.05).sort((a, b) => b[1] - a[1]);
      const total = threads.reduce((sum, [, us]) => sum + us, 0);
      return `  ${r.resolver} ${r.mix}: ${threads.map(([name, us]) => `${name} ${us.toFixed(2)}`).join(', ')} (all ${total.toFixed(2)})`;
    }),
  ];
}

/** `--response-ip`: dnsward with and without the network list on the cached mix, side by side. */
function responseIpLine(results: MixResult[]): string | undefined {
  const qps = (name: string): number | undefined => results.find((r) => r.mix === 'cached' && r.resolver === name)?.stats.qps;
  const without = qps('dnsward');
  const withNetworks = qps('dnsward-networks');
  if (without === undefined || withNetworks === undefined) return undefined;
  const change = Math.round(((withNetworks - without) / without) * 1000) / 10;
  return `response-ip stage on the cached mix: dnsward ${Math.round(without).toLocaleString('en-US')} qps, with bytedance-networks in force ${Math.round(withNetworks).toLocaleString('en-US')} qps (${change >= 0 ? '+' : ''}${change}%; one run each is noise-sized, use --repeat)`;
}

/** Deletes the keys this run's dnsward-redis made. */
async function dropRedisKeys(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
