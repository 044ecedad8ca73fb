// Resident memory under steady load (issue 13), a script, not a test: dnsward serves three
// dnsperf clients at a fixed rate each for several minutes (blocked names from the blocking
// segment, the same names from the log-only segment, and cached names mixed with names never
// asked before), and its resident memory is sampled all along. At the end the block log is
// verified and its event count compared with the blocked and logged answers. Loopback only.
//
//   node bench/soak.ts [--minutes 8] [--qps 1500] [--sample 10] [--markdown]
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions } from './lib/args.ts';
import { runDnsperf } from './lib/dnsperf.ts';
import { describeMachine } from './lib/machine.ts';
import { readMetrics } from './lib/metrics.ts';
import { runToEnd, stopAll, stopProcess, treeMemoryKb } from './lib/procs.ts';
import { BENCH_ZONE, readListDomains, writeBlockedMix } from './lib/querygen.ts';
import { table } from './lib/report.ts';
import { LOG_SEGMENT_SOURCE, startDnsward, startUpstream } from './lib/servers.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const opt = parseOptions('bench/soak.ts', {
  minutes: { type: 'string', default: '8' },
  qps: { type: 'string', default: '1500' },
  sample: { type: 'string', default: '10' },
  markdown: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
});
if (opt.help) {
  console.log('node bench/soak.ts [--minutes 8] [--qps 1500 per client, 3 clients] [--sample 10 seconds] [--markdown]');
  process.exit(0);
}
const SECONDS = Math.round(Number(opt.minutes) * 60);
const QPS = Number(opt.qps);
const SAMPLE_S = Number(opt.sample);
const CACHED_NAMES = 500;

/** Cached names and never-asked names, alternating: enough lines for the whole run without a repeat of a new name. */
async function writeMixedFile(file: string, lines: number): Promise<void> {
  const stream = createWriteStream(file);
  const tag = Date.now().toString(36);
  let chunk = '';
  for (let i = 0; i < lines; i++) {
    chunk += i % 2 === 0 ? `c${(i >> 1) % CACHED_NAMES}.${BENCH_ZONE} A\n` : `n${i.toString(36)}-${tag}.${BENCH_ZONE} ${i % 4 === 3 ? 'AAAA' : 'A'}\n`;
    if (chunk.length > 1 << 16) {
      if (!stream.write(chunk)) await once(stream, 'drain');
      chunk = '';
    }
  }
  stream.end(chunk);
  await once(stream, 'finish');
}

interface HeapMB {
  used: number;
  total: number;
  external: number;
}

/** The DNS thread's heap from dnsward's /metrics (prom-client's default metrics), in MB. */
async function heapOf(apiPort: number | undefined): Promise<HeapMB | undefined> {
  const metrics = await readMetrics(apiPort);
  if (metrics.size === 0) return undefined;
  const value = (name: string): number => (metrics.get(name) ?? Number.NaN) / 1048576;
  return { used: value('dnsward_nodejs_heap_size_used_bytes'), total: value('dnsward_nodejs_heap_size_total_bytes'), external: value('dnsward_nodejs_external_memory_bytes') };
}

async function main(): Promise<void> {
  const machine = describeMachine();
  process.stderr.write(`machine: ${machine.cores} x ${machine.cpuModel}, load average ${machine.loadavg.join(' ')} at start; ${machine.damon}\n`);
  const tmp = await mkdtemp(join(tmpdir(), 'dnsward-soak-'));
  try {
    const blocked = await readListDomains(join(REPO, 'lists', 'tiktok.list'));
    const blockedFile = join(tmp, 'blocked.txt');
    const mixedFile = join(tmp, 'mixed.txt');
    await writeBlockedMix(blockedFile, blocked, 200_000, 1);
    await writeMixedFile(mixedFile, Math.ceil(QPS * SECONDS * 1.1));
    const upstream = await startUpstream('dnsmasq', tmp, blocked);
    const server = await startDnsward({ repo: REPO, dir: tmp, upstreamPort: upstream.port, listsDir: join(REPO, 'lists'), lists: ['tiktok'], nodeArgs: [], name: 'dnsward', readyTimeoutMs: 30_000 });
    const samples: { s: number; rssMB: number; heap: HeapMB | undefined }[] = [];
    const started = Date.now();
    const read = async (): Promise<void> => {
      const sample = { s: Math.round((Date.now() - started) / 1000), rssMB: Math.round(treeMemoryKb(server.proc.pid).rssKb / 102.4) / 10 };
      samples.push({ ...sample, heap: await heapOf(server.apiPort) });
    };
    await read();
    const sampler = setInterval(() => void read(), SAMPLE_S * 1000);
    const base = { port: server.port, seconds: SECONDS, clients: 1, outstanding: 50, threads: 1, maxQps: QPS, timeout: 2 };
    const [blockRun, logRun, mixedRun] = await Promise.all([
      runDnsperf({ ...base, file: blockedFile }),
      runDnsperf({ ...base, file: blockedFile, source: LOG_SEGMENT_SOURCE }),
      runDnsperf({ ...base, file: mixedFile, passes: 1 }),
    ]);
    clearInterval(sampler);
    await read();
    await stopProcess(server.proc);
    const auditDir = join(tmp, 'dnsward', 'audit');
    const verify = await runToEnd('verify', process.execPath, [join(REPO, 'bin', 'dnsward'), 'audit', 'verify', auditDir]);
    const good = /(\d+) good event/.exec(verify.output)?.[1];
    const expected = (blockRun.stats.rcodes.NXDOMAIN ?? 0) + logRun.stats.completed;

    const mb = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(1));
    const rows = samples.map((x) => [String(x.s), x.rssMB.toFixed(1), mb(x.heap?.used), mb(x.heap?.total), mb(x.heap?.external)]);
    console.log(table(['s', 'RSS MB', 'heap used', 'heap total', 'external'], rows, opt.markdown));
    console.log('(heap and external: the DNS thread\'s V8 heap and the memory V8 tracks outside it, from /metrics; RSS is the whole process tree)');
    const afterWarmup = samples.filter((x) => x.s >= 180);
    const max = Math.max(...samples.map((x) => x.rssMB));
    const settled = afterWarmup.length > 0 ? `${Math.min(...afterWarmup.map((x) => x.rssMB)).toFixed(1)}-${Math.max(...afterWarmup.map((x) => x.rssMB)).toFixed(1)} MB from 3 min on` : 'run shorter than 3 min';
    console.log('');
    console.log(`dnsward RSS: ${samples[0]?.rssMB} MB at start, max ${max.toFixed(1)} MB, ${settled}`);
    for (const [name, run] of [['blocked', blockRun], ['log-only', logRun], ['cached+new', mixedRun]] as const) {
      console.log(`${name}: ${Math.round(run.stats.qps)} qps, sent ${run.stats.sent}, completed ${run.stats.completed}, lost ${run.stats.lost}, rcodes ${JSON.stringify(run.stats.rcodes)}`);
    }
    console.log(`block log: ${good ?? '?'} good events for ${expected} blocked and logged answers; audit verify exit ${verify.code}: ${verify.output.trim().split('\n')[0]}`);
    await stopProcess(upstream.proc);
  } finally {
    await stopAll();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
