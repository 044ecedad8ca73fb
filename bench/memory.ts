// `npm run bench:memory`: dnsward's resident memory with a big subscribed list, on a first start
// (the list arrives over HTTP from a loopback server, the cache dir is empty) and on a restart
// (same config, the last-good copy on disk), with the feed in its own thread (http.thread) and
// without. A script, not a test: it prints figures and asserts nothing. docs/BENCHMARKS.md
// ("Memory") explains the method.
import { createReadStream, statSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server as HttpServer } from 'node:http';
import { createSocket } from 'node:dgram';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { optionError, parseOptions } from './lib/args.ts';
import { Prober } from './lib/probe.ts';
import { killAllNow, processMemoryKb, stopAll, stopProcess, threadNames, treeMemoryKb } from './lib/procs.ts';
import { writeBigList } from './lib/querygen.ts';
import { table } from './lib/report.ts';
import { startDnsward, type Server } from './lib/servers.ts';
import { threadWanted } from '../src/util/cpus.ts';


const HELP = `npm run bench:memory -- [options]

  --count N        names in the served hosts list (default 1000000)
  --repeat N       runs per case; the median is reported (default 3)
  --settle S       seconds to wait after the list is enforced before the second reading (default 5)
  --thread LIST    http.thread values to measure, of on, off and auto (default auto,on: the default and
                   the feed in its own thread; auto is off below 4 CPUs). A --repo older than stop 21
                   knows only on and off.
  --gc             also start dnsward with --inspect on 127.0.0.1, and after the settle read the main
                   thread's heap (process.memoryUsage()) and RSS before and after a forced full GC
                   (the inspector itself costs a few MB: these runs are reported apart)
  --timeline MS    also sample RSS every MS milliseconds from spawn to the settled reading, with dnsward's
                   info log and its threads, and print each run's timeline (where RSS rose or fell by 1 MB or
                   more, what dnsward logged, threads that started or ended, and V8's collections when
                   --node-arg=--trace-gc is given): to find what a peak comes from
  --node-arg ARG   extra Node.js flag for dnsward (repeatable)
  --env NAME=VALUE extra environment for dnsward (repeatable), e.g. MALLOC_ARENA_MAX=2
  --repo DIR       the dnsward checkout to run (default: this one), e.g. another worktree for a before/after
  --markdown       print the table as Markdown
  --json           print the results as JSON
  --keep           keep the temp dir
`;

const opt = parseOptions('bench/memory.ts', {
  count: { type: 'string', default: '1000000' },
  repeat: { type: 'string', default: '3' },
  settle: { type: 'string', default: '5' },
  thread: { type: 'string', default: 'auto,on' },
  gc: { type: 'boolean', default: false },
  timeline: { type: 'string' },
  'node-arg': { type: 'string', multiple: true, default: [] },
  env: { type: 'string', multiple: true, default: [] },
  repo: { type: 'string', default: resolve(dirname(fileURLToPath(import.meta.url)), '..') },
  json: { type: 'boolean', default: false },
  markdown: { type: 'boolean', default: false },
  keep: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
});
if (opt.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const REPO = resolve(opt.repo);
// Set here, inherited by every dnsward this script starts (read by their C library at start).
for (const pair of opt.env) {
  const at = pair.indexOf('=');
  if (at < 1) optionError('bench/memory.ts', `--env ${pair}: expected NAME=VALUE`);
  process.env[pair.slice(0, at)] = pair.slice(at + 1);
}
const count = Number(opt.count);
const repeat = Number(opt.repeat);
const settleMs = Number(opt.settle) * 1000;
const timelineMs = opt.timeline === undefined ? undefined : Number(opt.timeline);
if (timelineMs !== undefined && !(timelineMs >= 1)) optionError('bench/memory.ts', `--timeline ${opt.timeline}: a sampling interval in ms, at least 1`);
type ThreadSetting = 'on' | 'off' | 'auto';
const threads = opt.thread.split(',').map((t): ThreadSetting => {
  const value = t.trim();
  if (value === 'on' || value === 'off' || value === 'auto') return value;
  return optionError('bench/memory.ts', `--thread ${opt.thread}: each value is on, off or auto`);
});
const httpThread = (t: ThreadSetting): boolean | 'auto' => (t === 'auto' ? 'auto' : t === 'on');
/** The label of a setting in the table: auto says what it resolved to on this machine. */
const threadLabel = (t: ThreadSetting): string => (t === 'auto' ? `auto (${threadWanted('auto') ? 'on' : 'off'}: ${availableParallelism()} CPUs)` : t);

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (kb: number): number => Math.round(kb / 102.4) / 10;

interface Reading {
  start: 'first' | 'restart';
  thread: ThreadSetting;
  enforcedMs: number;
  /** VmRSS right when the list is enforced, after the settle, and the peak (VmHWM). */
  rssEnforced: number;
  rssSettled: number;
  hwm: number;
  /** With --gc: the main thread's heap and RSS before and after a forced GC (MB). */
  gc?: { before: HeapFigures; after: HeapFigures };
  /** With --timeline: RSS samples and log messages, ms from spawn. */
  timeline?: TimelineEntry[];
}

type TimelineEntry = { ms: number; rss: number } | { ms: number; msg: string };

/**
 * Samples the process tree's RSS every `everyMs` and notes each line dnsward logs (pino JSON on stdout), both
 * in ms from `began`. stop() ends the recording (again: nothing) and returns the entries as they came.
 */
function recordTimeline(server: Server, began: number, everyMs: number): () => TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  let partial = '';
  const onData = (chunk: Buffer): void => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const record = JSON.parse(line) as { msg?: string; component?: string; list?: string };
        if (record.msg) entries.push({ ms: Date.now() - began, msg: [record.component, record.list, record.msg].filter(Boolean).join(': ') });
      } catch {
        // Not a log record: keep V8's own trace lines (--node-arg=--trace-gc), stamped when they arrive;
        // "Mark-Compact (reduce)" is a memory-reducing one (the memory reducer, a last-resort collection).
        const gc = /(Scavenge|Mark-Compact|Mark-Sweep|Minor Mark-Sweep)\S*(\s*\([^)]*\))?\s+([\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB)/.exec(line);
        if (gc) entries.push({ ms: Date.now() - began, msg: `(V8 ${gc[1]}${gc[2] ?? ''} ${gc[3]})` });
      }
    }
  };
  server.proc.child.stdout?.on('data', onData);
  // Threads by id and name: a short-lived one (a worker, a pool thread) shows as a start and an end.
  let threads = new Map<string, string>();
  let highestKb = 0;
  const timer = setInterval(() => {
    const ms = Date.now() - began;
    // The process's own status only (dnsward's threads, no child processes): cheap enough for a few ms.
    const { rssKb, hwmKb } = processMemoryKb(server.proc.pid);
    if (rssKb > 0) entries.push({ ms, rss: mb(rssKb) });
    // A peak between two samples: VmHWM says how high, this sample says when (within one interval).
    if (hwmKb > highestKb && hwmKb > rssKb + 512) entries.push({ ms, msg: `(peak between samples: VmHWM ${mb(hwmKb)} MB)` });
    highestKb = Math.max(highestKb, hwmKb);
    const now = threadNames(server.proc.pid);
    for (const [tid, name] of now) if (!threads.has(tid)) entries.push({ ms, msg: `(thread started: ${name})` });
    for (const [tid, name] of threads) if (!now.has(tid)) entries.push({ ms, msg: `(thread ended: ${name})` });
    threads = now;
  }, everyMs);
  return () => {
    clearInterval(timer);
    server.proc.child.stdout?.off('data', onData);
    return entries;
  };
}

/** The timeline's lines: every log message, and an RSS sample wherever it moved 1 MB or more from the last shown. */
function timelineLines(entries: TimelineEntry[]): string[] {
  const lines: string[] = [];
  let shown: number | undefined;
  let peak = 0;
  for (const e of entries) {
    if ('msg' in e) lines.push(`  ${String(e.ms).padStart(6)} ms  ${String(shown ?? '-').padStart(6)} MB  ${e.msg}`);
    else {
      peak = Math.max(peak, e.rss);
      if (shown === undefined || Math.abs(e.rss - shown) >= 1) {
        lines.push(`  ${String(e.ms).padStart(6)} ms  ${String(e.rss).padStart(6)} MB${shown === undefined ? '' : ` (${e.rss > shown ? '+' : ''}${(e.rss - shown).toFixed(1)})`}`);
        shown = e.rss;
      }
    }
  }
  lines.push(`  highest sample ${peak} MB`);
  return lines;
}

interface HeapFigures {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** Serves the list with a Content-Length and an ETag, and answers If-None-Match with 304 (as list hosts do). */
async function serveList(file: string): Promise<{ server: HttpServer; url: string }> {
  const info = statSync(file);
  const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const server = createServer((req, res) => {
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': info.size, etag, 'last-modified': info.mtime.toUTCString() });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  return { server, url: `http://127.0.0.1:${address.port}/big-hosts.txt` };
}

/** A UDP port that answers nothing: the upstream is never asked (the probe name is blocked). */
async function silentUpstream(): Promise<{ port: number; close: () => void }> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { port: socket.address().port, close: () => socket.close() };
}

/** Through the inspector (loopback): process.memoryUsage() and VmRSS, a forced GC, and both again. */
async function gcReading(server: Server): Promise<{ before: HeapFigures; after: HeapFigures }> {
  const url = /ws:\/\/127\.0\.0\.1:\d+\/[\w-]+/.exec(server.proc.tail())?.[0];
  if (url === undefined) throw new Error('no inspector URL in dnsward\'s output');
  const ws = new WebSocket(url);
  await new Promise((r, j) => {
    ws.onopen = r;
    ws.onerror = j;
  });
  let id = 0;
  const call = (method: string, params: object = {}): Promise<{ result?: { result?: { value?: string } } }> =>
    new Promise((r) => {
      const mine = ++id;
      const listener = (event: MessageEvent): void => {
        const message = JSON.parse(String(event.data)) as { id?: number };
        if (message.id !== mine) return;
        ws.removeEventListener('message', listener);
        r(message as { result?: { result?: { value?: string } } });
      };
      ws.addEventListener('message', listener);
      ws.send(JSON.stringify({ id: mine, method, params }));
    });
  const read = async (): Promise<HeapFigures> => {
    const answer = await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    const m = JSON.parse(answer.result?.result?.value ?? '{}') as Record<string, number>;
    const toMb = (b: number | undefined): number => Math.round((b ?? 0) / 1e5) / 10;
    return { rss: mb(treeMemoryKb(server.proc.pid).rssKb), heapUsed: toMb(m.heapUsed), heapTotal: toMb(m.heapTotal), external: toMb(m.external), arrayBuffers: toMb(m.arrayBuffers) };
  };
  const before = await read();
  await call('HeapProfiler.collectGarbage');
  await sleep(1000);
  const after = await read();
  ws.close();
  return { before, after };
}

async function measure(dir: string, url: string, upstreamPort: number, probeName: string, thread: ThreadSetting, start: Reading['start'], gc: boolean): Promise<Reading> {
  const server = await startDnsward({
    repo: REPO,
    dir,
    upstreamPort,
    listsDir: join(REPO, 'lists'),
    lists: ['tiktok', 'big'],
    sources: [{ name: 'big', url, format: 'hosts' }],
    httpThread: httpThread(thread),
    nodeArgs: [...opt['node-arg'], ...(gc ? ['--inspect=127.0.0.1:0'] : [])],
    name: `dnsward-thread-${thread}${gc ? '-gc' : ''}`,
    readyTimeoutMs: 60_000,
    noWait: true,
    ...(timelineMs !== undefined ? { settings: ['log.level=info'] } : {}),
  });
  const began = Date.now();
  const stopTimeline = timelineMs === undefined ? undefined : recordTimeline(server, began, timelineMs);
  const prober = new Prober();
  try {
    let enforcedMs: number | undefined;
    while (Date.now() - began < 90_000) {
      if (server.proc.exitCode() !== undefined) throw new Error(`dnsward exited:\n${server.proc.tail()}`);
      const r = await prober.query(server.port, probeName, 'A', 200);
      if (r?.rcode === 'NXDOMAIN') {
        enforcedMs = Date.now() - began;
        break;
      }
      await sleep(20);
    }
    if (enforcedMs === undefined) throw new Error(`${probeName} not blocked within 90 s:\n${server.proc.tail()}`);
    const rssEnforced = mb(treeMemoryKb(server.proc.pid).rssKb);
    await sleep(settleMs);
    const settled = treeMemoryKb(server.proc.pid);
    const reading: Reading = { start, thread, enforcedMs, rssEnforced, rssSettled: mb(settled.rssKb), hwm: mb(settled.hwmKb) };
    if (stopTimeline) reading.timeline = [...stopTimeline(), { ms: enforcedMs, msg: '(bench) probe name answered NXDOMAIN: list enforced' }].sort((a, b) => a.ms - b.ms);
    if (gc) reading.gc = await gcReading(server);
    return reading;
  } finally {
    stopTimeline?.();
    prober.close();
    await stopProcess(server.proc);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : Math.round((((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2) * 10) / 10;
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'dnsward-memory-'));
  const listFile = join(tmp, 'big-hosts.txt');
  log(`writing ${count.toLocaleString('en-US')} names to ${listFile}`);
  const sample = await writeBigList(listFile, count, 20261128, 16, 'hosts');
  const probeName = sample[sample.length - 1] as string;
  const size = (await stat(listFile)).size;
  const { server: http, url } = await serveList(listFile);
  const upstream = await silentUpstream();
  log(`serving ${(size / 2 ** 20).toFixed(1)} MB at ${url}; probe name ${probeName}`);
  const readings: Reading[] = [];
  try {
    for (let i = 0; i < repeat; i++) {
      for (const thread of threads) {
        // A fresh dir each round: the first start has no last-good copy; the restart reuses it.
        const dir = join(tmp, `run-${i}`);
        for (const start of ['first', 'restart'] as const) {
          const r = await measure(dir, url, upstream.port, probeName, thread, start, false);
          readings.push(r);
          log(`run ${i + 1}/${repeat} thread ${thread} ${start}: enforced after ${r.enforcedMs} ms, RSS ${r.rssEnforced} MB then ${r.rssSettled} MB after ${settleMs / 1000} s, peak ${r.hwm} MB`);
          if (r.timeline) log(timelineLines(r.timeline).join('\n'));
        }
        if (opt.gc) {
          const gcDir = join(tmp, `run-${i}-gc`);
          for (const start of ['first', 'restart'] as const) {
            const r = await measure(gcDir, url, upstream.port, probeName, thread, start, true);
            readings.push(r);
            const g = r.gc as NonNullable<Reading['gc']>;
            log(
              `run ${i + 1}/${repeat} thread ${thread} ${start} with --inspect: RSS ${g.before.rss} -> ${g.after.rss} MB after a full GC; ` +
                `heap used ${g.before.heapUsed} -> ${g.after.heapUsed}, heap total ${g.before.heapTotal} -> ${g.after.heapTotal}, external ${g.before.external} -> ${g.after.external} (array buffers ${g.after.arrayBuffers}) MB`,
            );
          }
        }
      }
    }
  } finally {
    upstream.close();
    http.close();
    if (!opt.keep) await rm(tmp, { recursive: true, force: true });
  }
  if (opt.json) {
    process.stdout.write(`${JSON.stringify({ count, listBytes: size, repeat, settleSeconds: settleMs / 1000, readings }, null, 1)}\n`);
    return;
  }
  const rows: string[][] = [];
  for (const thread of threads) {
    for (const start of ['first', 'restart'] as const) {
      const of = readings.filter((r) => r.thread === thread && r.start === start && r.gc === undefined);
      rows.push([
        `${start === 'first' ? 'first start (HTTP, empty cache)' : 'restart (disk copy)'}`,
        threadLabel(thread),
        String(median(of.map((r) => r.enforcedMs))),
        String(median(of.map((r) => r.rssEnforced))),
        String(median(of.map((r) => r.rssSettled))),
        String(median(of.map((r) => r.hwm))),
      ]);
    }
  }
  process.stdout.write(`${count.toLocaleString('en-US')} names, ${(size / 2 ** 20).toFixed(1)} MB hosts file; median of ${repeat}\n`);
  process.stdout.write(`${table(['start', 'http.thread', 'enforced (ms)', 'RSS enforced (MB)', `RSS +${settleMs / 1000} s (MB)`, 'peak (MB)'], rows, opt.markdown)}\n`);
}

process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
process.on('exit', killAllNow);
main().catch(async (error: unknown) => {
  log(String((error as Error).stack ?? error));
  await stopAll();
  process.exit(1);
});
