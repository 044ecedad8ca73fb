// Resident memory after a flood, a script, not a test: dnsward answers blocked names from
// dnsperf at full rate for a few seconds (fast enough, on a small machine, for the block
// log's writer to fall behind and hold audit.max_buffered events; the most that waited, read from
// /metrics every 500 ms, says whether it did), then idles; once the load
// has stopped and the backlog is written (dnsward_audit_buffered_events at 0), it waits the
// settle time and reads its resident memory, the DNS thread's V8 heap and the block log's
// counters. Ends with `audit verify` of the log. Loopback only.
//
//   node bench/burst.ts [--seconds 10] [--settle 5] [--repeat 3] [--set KEY=VALUE ...] [--pause-damon] [--markdown]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { optionError, parseOptions } from './lib/args.ts';
import { runDnsperf } from './lib/dnsperf.ts';
import { pauseDamonForRun } from './lib/damon.ts';
import { describeMachine } from './lib/machine.ts';
import { readMetrics } from './lib/metrics.ts';
import { runToEnd, stopAll, stopProcess, treeMemoryKb } from './lib/procs.ts';
import { readListDomains, writeBlockedMix } from './lib/querygen.ts';
import { table } from './lib/report.ts';
import { startDnsward, startUpstream } from './lib/servers.ts';

const opt = parseOptions(
  'bench/burst.ts',
  {
    seconds: { type: 'string', default: '10' },
    settle: { type: 'string', default: '5' },
    repeat: { type: 'string', default: '3' },
    repo: { type: 'string', default: resolve(dirname(fileURLToPath(import.meta.url)), '..') },
    set: { type: 'string', multiple: true, default: [] },
    'pause-damon': { type: 'boolean', default: false },
    markdown: { type: 'boolean', default: false },
  },
  `node bench/burst.ts [options]: dnsward's resident memory once a full-rate flood of blocked queries has stopped

  --seconds S      seconds of flood (dnsperf -c 8 -q 100, no rate limit; default 10)
  --settle S       seconds of idle, once the backlog is written, before reading (default 5)
  --repeat N       runs, each on a new dnsward process (default 3)
  --repo DIR       the checkout to run (default: this one; an A/B against another commit's worktree)
  --set KEY=VALUE  a config setting (repeatable; dotted key, YAML value), e.g. --set audit.enabled=false
  --pause-damon    turn the kernel's DAMON monitors off for the run (root): one that pages out what is cold
                   would lower an idle process's RSS on its own
  --markdown       print the table as Markdown`,
);

const FLOOD_S = Number(opt.seconds);
const SETTLE_S = Number(opt.settle);
const REPEAT = Number(opt.repeat);
const REPO = resolve(opt.repo);
if (!(FLOOD_S > 0) || !(SETTLE_S >= 0) || !Number.isInteger(REPEAT) || REPEAT < 1) {
  optionError('bench/burst.ts', '--seconds > 0, --settle >= 0 and --repeat a whole number >= 1');
}
/** Whether a --set turns the block log off (then there is nothing to verify). */
const auditOff = opt.set.some((s) => s.startsWith('audit.enabled=') && parse(s.slice('audit.enabled='.length)) === false);

async function main(): Promise<void> {
  const machine = describeMachine();
  const damon = opt['pause-damon'] ? pauseDamonForRun(machine.damon) : machine.damon;
  process.stderr.write(`machine: ${machine.cores} x ${machine.cpuModel}; ${damon}; ${REPO}${opt.set.length ? `, ${opt.set.join(' ')}` : ''}\n`);
  const tmp = await mkdtemp(join(tmpdir(), 'dnsward-burst-'));
  const rows: string[][] = [];
  try {
    const blocked = await readListDomains(join(REPO, 'lists', 'tiktok.list'));
    const blockedFile = join(tmp, 'blocked.txt');
    await writeBlockedMix(blockedFile, blocked, 200_000, 1);
    const upstream = await startUpstream('dnsmasq', tmp, blocked);
    for (let run = 1; run <= REPEAT; run++) {
      const name = `dnsward-${run}`;
      const server = await startDnsward({ repo: REPO, dir: tmp, upstreamPort: upstream.port, listsDir: join(REPO, 'lists'), lists: ['tiktok'], nodeArgs: [], settings: opt.set, name, readyTimeoutMs: 30_000 });
      const readyMB = treeMemoryKb(server.proc.pid).rssKb / 1024;
      // The block log's backlog during the flood, every 500 ms: whether the writer kept up.
      // One read at a time, and none counted once the flood has ended.
      let maxBacklog = 0;
      let flooding = true;
      let reading = false;
      const poll = setInterval(() => {
        if (reading) return;
        reading = true;
        readMetrics(server.apiPort)
          .then((m) => {
            if (flooding) maxBacklog = Math.max(maxBacklog, m.get('dnsward_audit_buffered_events') ?? 0);
          })
          .catch(() => undefined)
          .finally(() => (reading = false));
      }, 500);
      const flood = await runDnsperf({ port: server.port, file: blockedFile, seconds: FLOOD_S, clients: 8, outstanding: 100, threads: 1, timeout: 2 }).finally(() => {
        flooding = false;
        clearInterval(poll);
      });
      const peakMB = treeMemoryKb(server.proc.pid).hwmKb / 1024;
      // The backlog written first (at most 30 s), then the idle time.
      const drainStart = Date.now();
      while (!auditOff && Date.now() - drainStart < 30_000 && ((await readMetrics(server.apiPort)).get('dnsward_audit_buffered_events') ?? 0) > 0) await sleep(100);
      const drainS = (Date.now() - drainStart) / 1000;
      await sleep(SETTLE_S * 1000);
      const rssMB = treeMemoryKb(server.proc.pid).rssKb / 1024;
      const metrics = await readMetrics(server.apiPort);
      const m = (name: string): number | undefined => metrics.get(name);
      const mb = (v: number | undefined): string => (v === undefined ? '-' : (v / 1048576).toFixed(1));
      const written = m('dnsward_audit_events_written_total');
      const dropped = m('dnsward_audit_dropped_total');
      await stopProcess(server.proc);
      const verify = auditOff
        ? { code: 0, output: '- good event' }
        : await runToEnd('verify', process.execPath, [join(REPO, 'bin', 'dnsward'), 'audit', 'verify', join(tmp, name, 'audit')]);
      rows.push([
        String(run),
        Math.round(flood.stats.qps).toLocaleString('en-US'),
        readyMB.toFixed(1),
        peakMB.toFixed(1),
        rssMB.toFixed(1),
        mb(m('dnsward_nodejs_heap_size_used_bytes')),
        mb(m('dnsward_nodejs_external_memory_bytes')),
        auditOff ? '-' : maxBacklog.toLocaleString('en-US'),
        written === undefined ? '-' : written.toLocaleString('en-US'),
        dropped === undefined ? '-' : dropped.toLocaleString('en-US'),
        drainS.toFixed(1),
        verifiedColumn(verify, written),
      ]);
      process.stderr.write(`run ${run}: ${rows.at(-1)?.join(' | ')}\n`);
    }
    await stopProcess(upstream.proc);
  } finally {
    await stopAll();
    await rm(tmp, { recursive: true, force: true });
  }
  console.log(table(['run', 'flood qps', 'RSS at ready MB', 'peak MB', `RSS ${SETTLE_S} s after MB`, 'DNS thread heap used MB', 'DNS thread external MB', 'most events waiting (flood)', 'events written', 'dropped', 'backlog written in s', 'audit verify'], rows, opt.markdown));
  console.log('(heap and external: the DNS thread only, from /metrics; with audit.worker_thread on, the block log\'s outbox is in its own thread and not in them. RSS is the whole process tree.)');
}

/** What `audit verify` said, and whether its good events are the events dnsward counted as written. */
function verifiedColumn(verify: { code: number | null; output: string }, written: number | undefined): string {
  if (verify.code !== 0) return `exit ${verify.code}: ${verify.output.trim().split('\n')[0] ?? ''}`;
  const good = /(\d+) good event/.exec(verify.output)?.[1];
  if (good === undefined) return 'ok';
  return Number(good) === written ? `ok, all ${Number(good).toLocaleString('en-US')} written` : `ok, but ${good} good events for ${written ?? '?'} written`;
}

await main();
