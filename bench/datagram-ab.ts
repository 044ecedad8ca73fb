// `node bench/datagram-ab.ts`: dnsward against itself, one instance per variant (environment
// variables per variant, e.g. the datagram path), measured interleaved with dnsperf on the bench's
// mixes (A B A B ...), medians reported. For "what did this change give" on a shared machine:
// q/cpu-s (answers per CPU-second of the server) is the figure other load disturbs least.
//
//   node bench/datagram-ab.ts --variant addon:DNSWARD_DATAGRAM=addon --variant dgram:DNSWARD_DATAGRAM=dgram
//   node bench/datagram-ab.ts --variant a:DNSWARD_DATAGRAM=addon --variant b:DNSWARD_DATAGRAM=addon,NODE_OPTIONS=--max-semi-space-size=4 --rounds 5
//
// Same safety as npm run bench: loopback only, temp dir, every process stopped at the end.
import { mkdtemp, rm } from 'node:fs/promises';
import { join, dirname, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseOptions } from './lib/args.ts';
import { runDnsperf } from './lib/dnsperf.ts';
import { CLOCK_TICKS_PER_SECOND, killAllNow, stopAll, treeCpuTicks } from './lib/procs.ts';
import { readListDomains, writeBlockedMix, writeCachedMix } from './lib/querygen.ts';
import { table } from './lib/report.ts';
import { startDnsward, startUpstream, type Server } from './lib/servers.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const opt = parseOptions('bench/datagram-ab.ts', {
  variant: { type: 'string', multiple: true, default: ['addon:DNSWARD_DATAGRAM=addon', 'dgram:DNSWARD_DATAGRAM=dgram'] },
  mixes: { type: 'string', default: 'blocked,cached' },
  rounds: { type: 'string', default: '3' },
  duration: { type: 'string', default: '5' },
  warmup: { type: 'string', default: '1' },
  clients: { type: 'string', default: '8' },
  outstanding: { type: 'string', default: '100' },
  markdown: { type: 'boolean', default: false },
}, `node bench/datagram-ab.ts [options]: dnsward against itself, one instance per variant, measured interleaved

  --variant NAME:ENV=V,...   a variant and its environment (repeatable; default addon and dgram datagram paths)
  --mixes LIST               blocked,cached (default both)
  --rounds N                 interleaved rounds; medians reported (default 3)
  --duration S               seconds per run (default 5)
  --warmup S                 seconds of warm-up per run (default 1)
  --clients N                dnsperf -c (default 8)
  --outstanding N            dnsperf -q (default 100)
  --markdown                 print the table as Markdown
`);

interface Variant {
  name: string;
  env: Record<string, string>;
  server?: Server;
}

const variants: Variant[] = opt.variant.map((spec) => {
  const [name, assignments = ''] = spec.split(/:(.*)/s);
  const env = Object.fromEntries(
    assignments
      .split(',')
      .filter(Boolean)
      .map((a) => a.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );
  return { name: name ?? spec, env };
});
const mixes = opt.mixes.split(',').filter((m) => m === 'blocked' || m === 'cached');
const rounds = Number(opt.rounds);
const seconds = Number(opt.duration);
const warmup = Number(opt.warmup);
const base = { clients: Number(opt.clients), outstanding: Number(opt.outstanding), threads: 1, timeout: 2 };
const log = (m: string): void => void process.stderr.write(`${m}\n`);
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)] ?? Number.NaN;

process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stopAll().finally(() => process.exit(130)));

const tmp = await mkdtemp(join(tmpdir(), 'dnsward-ab-'));
try {
  const blocked = await readListDomains(join(REPO, 'lists', 'tiktok.list'));
  const files = { blocked: join(tmp, 'blocked.txt'), cached: join(tmp, 'cached.txt') };
  await writeBlockedMix(files.blocked, blocked, 20_000, 1);
  await writeCachedMix(files.cached, 1_000);
  const upstream = await startUpstream('dnsmasq', tmp, blocked);
  for (const v of variants) {
    const saved = { ...process.env };
    Object.assign(process.env, v.env);
    try {
      v.server = await startDnsward({ repo: REPO, dir: tmp, upstreamPort: upstream.port, listsDir: join(REPO, 'lists'), lists: ['tiktok'], nodeArgs: [], name: `dnsward-${v.name}`, readyTimeoutMs: 30_000 });
    } finally {
      for (const k of Object.keys(v.env)) if (saved[k] === undefined) delete process.env[k];
      Object.assign(process.env, saved);
    }
    log(`${v.name} (${JSON.stringify(v.env)}) on 127.0.0.1:${v.server.port}`);
  }
  const rows: string[][] = [];
  for (const mix of mixes) {
    const file = mix === 'blocked' ? files.blocked : files.cached;
    const runs = new Map<string, { qps: number; qpc: number }[]>();
    for (const v of variants) await runDnsperf({ ...base, port: (v.server as Server).port, file, seconds: 0, passes: 1, outstanding: 20 });
    for (let r = 0; r < rounds; r++) {
      for (const v of variants) {
        const server = v.server as Server;
        if (warmup > 0) await runDnsperf({ ...base, port: server.port, file, seconds: warmup });
        const cpu0 = treeCpuTicks(server.proc.pid);
        const t0 = performance.now();
        const { stats } = await runDnsperf({ ...base, port: server.port, file, seconds });
        const cpuS = (treeCpuTicks(server.proc.pid) - cpu0) / CLOCK_TICKS_PER_SECOND;
        const wall = (performance.now() - t0) / 1000;
        const qpc = cpuS > 0 ? (stats.qps * wall) / cpuS : Number.NaN;
        runs.set(v.name, [...(runs.get(v.name) ?? []), { qps: stats.qps, qpc }]);
        log(`[${mix}] ${v.name} round ${r + 1}: ${Math.round(stats.qps)} qps, ${Math.round(qpc)} q/cpu-s, lost ${stats.lost}`);
      }
    }
    const first = variants[0]?.name ?? '';
    const refQpc = median((runs.get(first) ?? []).map((x) => x.qpc));
    for (const v of variants) {
      const rs = runs.get(v.name) ?? [];
      const qpc = median(rs.map((x) => x.qpc));
      rows.push([v.name, mix, Math.round(median(rs.map((x) => x.qps))).toLocaleString('en-US'), Math.round(qpc).toLocaleString('en-US'), `${(qpc / refQpc).toFixed(2)}x`, rs.map((x) => Math.round(x.qpc / 1000)).join(' / ')]);
    }
  }
  process.stdout.write(`${table(['variant', 'mix', 'qps', 'q/cpu-s', `x ${variants[0]?.name}`, 'q/cpu-s runs (k)'], rows, opt.markdown)}\n`);
} finally {
  await stopAll();
  await rm(tmp, { recursive: true, force: true });
}
