// The cost of the block log, in one run: dnsward's throughput on a log-only mix (every query is
// a listed name from a `log` segment, so every query writes an event) against the very same
// queries from a segment with action `allow` (no event), measured alternately on one server;
// then the events per second the writer sustains on its own (bench/audit-writer.ts).
//   node bench/audit-cost.ts [--duration 5] [--repeat 3] [--clients 8] [--outstanding 100] [--writer auto|thread|inline]
// Needs dnsperf and dnsmasq (the loopback upstream), like bench/run.ts. Goal: under 10 % slower.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions } from './lib/args.ts';
import { verifyAuditPath } from '../src/audit/verify.ts';
import { benchWriter, formatWriterResult } from './audit-writer.ts';
import { runDnsperf, type DnsperfStats } from './lib/dnsperf.ts';
import { waitForAnswer } from './lib/probe.ts';
import { freePort, killAllNow, startProcess, stopAll, stopProcess } from './lib/procs.ts';
import { BENCH_ZONE, readListDomains, writeBlockedMix } from './lib/querygen.ts';
import { shebangFlags, startUpstream } from './lib/servers.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LOG_SOURCE = '127.0.0.2';
const ALLOW_SOURCE = '127.0.0.3';

const opt = parseOptions('bench/audit-cost.ts', {
  duration: { type: 'string', default: '5' },
  repeat: { type: 'string', default: '3' },
  clients: { type: 'string', default: '8' },
  outstanding: { type: 'string', default: '100' },
  'writer-events': { type: 'string', default: '300000' },
  keep: { type: 'boolean', default: false },
  /** Diagnostics: decisions go to a sink that does nothing (the log path without the writer). */
  'null-sink': { type: 'boolean', default: false },
  /** Where the writer runs: auto (the default config: a worker thread with 4+ CPUs), thread, inline. */
  writer: { type: 'string', default: 'auto' },
  /** Extra Node.js flag for the server (repeatable), e.g. --node-arg=--cpu-prof. */
  'node-arg': { type: 'string', multiple: true, default: [] },
}, `node bench/audit-cost.ts [options]: the block log's cost, a log-only mix against the same queries allowed, on one server

  --duration S        seconds per run (default 5)
  --repeat N          runs per variant, alternated; medians reported (default 3)
  --clients N         dnsperf -c (default 8)
  --outstanding N     dnsperf -q (default 100)
  --writer-events N   events for the writer-alone measurement (default 300000)
  --writer KIND       auto | thread | inline: where the writer runs (default auto)
  --null-sink         decisions go to a sink that does nothing (the log path without the writer)
  --node-arg ARG      extra Node.js flag for the server (repeatable)
  --keep              keep the temp dir
`);
const seconds = Number(opt.duration);
const repeat = Number(opt.repeat);
const base = { clients: Number(opt.clients), outstanding: Number(opt.outstanding), threads: 1, timeout: 5 };

process.on('exit', killAllNow);
const log = (m: string): void => void process.stderr.write(`${m}\n`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** CPU seconds (user + system) of a process, or of one of its threads (/proc, Linux; ticks of 1/100 s). */
async function cpuSeconds(path: string): Promise<number> {
  const stat = await readFile(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Run {
  qps: number;
  /** CPU microseconds per answered query: the DNS thread, and the whole process (worker thread included). */
  mainUs: number;
  processUs: number;
}

const tmp = await mkdtemp(join(tmpdir(), 'dnsward-audit-cost-'));
try {
  const blocked = await readListDomains(join(REPO, 'lists', 'tiktok.list'));
  const queries = join(tmp, 'logonly.txt');
  await writeBlockedMix(queries, blocked, 20_000, 11);
  const upstream = await startUpstream('dnsmasq', tmp, blocked);

  const port = await freePort();
  const audit = join(tmp, 'audit');
  await mkdir(audit, { recursive: true });
  const configFile = join(tmp, 'dnsward.yaml');
  await writeFile(
    configFile,
    [
      'dns:',
      `  listen: ["127.0.0.1:${port}"]`,
      '  allow: ["127.0.0.0/8"]',
      '  rate_limit: { enabled: false }',
      `upstreams: ["127.0.0.1:${upstream.port}"]`,
      `lists: { dir: ${JSON.stringify(join(REPO, 'lists'))} }`,
      'segments:',
      `  - { name: bench-log, networks: ["${LOG_SOURCE}/32"], action: log, lists: [tiktok], pseudonymize: true }`,
      `  - { name: bench-allow, networks: ["${ALLOW_SOURCE}/32"], action: allow }`,
      '  - { name: default, networks: ["127.0.0.0/8"], action: allow }',
      'http: { enabled: false }',
      'log: { level: warn }',
      'audit:',
      `  dir: ${JSON.stringify(audit)}`,
      `  signing_key_file: ${JSON.stringify(join(tmp, 'keys', 'signing.key'))}`,
      `  pseudonym_secret_file: ${JSON.stringify(join(tmp, 'keys', 'pseudonym.key'))}`,
      'instance: bench',
      '',
    ].join('\n'),
  );
  const server = startProcess('dnsward', process.execPath, [...shebangFlags(join(REPO, 'bin', 'dnsward')), ...opt['node-arg'], join(REPO, 'bench', 'audit-server.ts'), configFile], {
    cwd: tmp,
    env: { ...process.env, BENCH_AUDIT_SINK: opt['null-sink'] ? 'null' : 'file', BENCH_AUDIT_WRITER: opt.writer },
  });
  await waitForAnswer(port, `ready.${BENCH_ZONE}`, 'NOERROR', 20_000, () => server.exitCode() === undefined);

  // Fill the cache from both sources (one pass each), then a short warm-up.
  for (const source of [LOG_SOURCE, ALLOW_SOURCE]) await runDnsperf({ ...base, port, file: queries, seconds: 0, passes: 1, outstanding: 20, source });
  for (const source of [LOG_SOURCE, ALLOW_SOURCE]) await runDnsperf({ ...base, port, file: queries, seconds: 2, source });

  // Wall-clock qps swings with whatever else runs on the machine; CPU time per query of the
  // DNS thread (the resolver is single-threaded) is the steadier measure of the cost.
  const runs: Record<'allow' | 'log', Run[]> = { allow: [], log: [] };
  const mainStat = `/proc/${server.pid}/task/${server.pid}/stat`;
  const processStat = `/proc/${server.pid}/stat`;
  for (let r = 0; r < repeat; r++) {
    for (const [name, source] of [['allow', ALLOW_SOURCE], ['log', LOG_SOURCE]] as const) {
      const [m0, p0] = [await cpuSeconds(mainStat), await cpuSeconds(processStat)];
      const { stats }: { stats: DnsperfStats } = await runDnsperf({ ...base, port, file: queries, seconds, source });
      const [m1, p1] = [await cpuSeconds(mainStat), await cpuSeconds(processStat)];
      const run = { qps: stats.qps, mainUs: ((m1 - m0) / stats.completed) * 1e6, processUs: ((p1 - p0) / stats.completed) * 1e6 };
      runs[name].push(run);
      log(`run ${r + 1}/${repeat} ${name.padEnd(5)} ${Math.round(stats.qps).toLocaleString('en')} qps, ${run.mainUs.toFixed(1)} us CPU/query on the DNS thread, ${run.processUs.toFixed(1)} us in all (lost ${stats.lost})`);
    }
  }
  await stopProcess(server, 10_000);
  const statsLine = server.tail().split('\n').reverse().find((l) => l.includes('"audit"'));
  const writerStats = statsLine ? (JSON.parse(statsLine) as { audit: { written: number; dropped: number } }).audit : undefined;
  const report = await verifyAuditPath(audit);
  let events = 0;
  for (const name of await readdir(audit)) if (/-\d{3}\.jsonl$/.test(name)) events += (await readFile(join(audit, name), 'utf8')).split('\n').length - 1;
  await stopAll();

  const m = (name: 'allow' | 'log', key: keyof Run): number => median(runs[name].map((r) => r[key]));
  const slower = (1 - m('log', 'qps') / m('allow', 'qps')) * 100;
  const cpuCost = (m('log', 'mainUs') / m('allow', 'mainUs') - 1) * 100;
  console.log(`dnsward log-only mix (${seconds} s x ${repeat}, medians, dnsperf -c ${base.clients} -q ${base.outstanding}${opt['null-sink'] ? ', NULL SINK' : ''}, writer ${opt.writer}${opt.writer === 'auto' ? ` = ${availableParallelism() >= 4 ? 'thread' : 'inline'} on ${availableParallelism()} CPUs` : ''}):`);
  for (const name of ['allow', 'log'] as const) {
    console.log(
      `  segment action ${name.padEnd(5)} ${name === 'allow' ? '(no events)    ' : '(event/query)  '}: ${Math.round(m(name, 'qps')).toLocaleString('en').padStart(8)} qps, ` +
        `${m(name, 'mainUs').toFixed(1)} us CPU/query on the DNS thread, ${m(name, 'processUs').toFixed(1)} us with the audit worker`,
    );
  }
  console.log(`  cost of logging: throughput ${slower.toFixed(1)} % lower; DNS-thread CPU per query ${cpuCost.toFixed(1)} % higher ${Math.max(slower, cpuCost) < 10 ? '(goal < 10 %: met)' : '(goal < 10 %: NOT met on this run)'}`);
  console.log(`  events on disk: ${events.toLocaleString('en')}; writer: ${writerStats ? `${writerStats.written} written, ${writerStats.dropped} dropped` : 'no stats'}; verify: ${report.ok ? 'intact' : `FAILED ${report.problems[0]?.message}`}`);
  await benchWriter(20_000);
  console.log(formatWriterResult(await benchWriter(Number(opt['writer-events'])), 'audit writer alone (defaults, fsync per batch)'));
} finally {
  await stopAll();
  if (!opt.keep) await rm(tmp, { recursive: true, force: true });
  else log(`kept ${tmp}`);
}
