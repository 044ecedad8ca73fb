// Flood test (issue 4), a script, not a test: one client floods dnsward at several times its
// capacity while a second client sends 50 qps; prints the second client's answer rate and
// latency. Loopback only. Figures and method: docs/SECURITY.md ("Flood (issue 4)").
//
//   node bench/flood.ts [--seconds 10] [--victim-qps 50] [--flood-qps 0] [--flooder dnsperf|node]
//                       [--action slip|drop] [--no-compare]
//
// Phases, each against a fresh dnsward process (bin/dnsward serve) and an in-process stub upstream:
//   1. capacity: dnsperf (or the node flooder) from an exempt source, as fast as answers come back;
//   2. victim alone (baseline latency);
//   3. flood from 127.0.0.1 (rate limit on, default settings) + victim from 127.0.0.2;
//   4. the same flood with the rate limit off (unless --no-compare), to show what the limiter buys.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions } from './lib/args.ts';
import { buildQuery } from '../test/helpers/dns-client.ts';
import { StubUpstream } from '../test/helpers/stub-upstream.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DNSPERF = '/usr/bin/dnsperf';
const FLOOD_SOURCE = '127.0.0.1';
const VICTIM_SOURCE = '127.0.0.2';
const CAPACITY_SOURCE = '127.0.0.3';

const opt = parseOptions('bench/flood.ts', {
  seconds: { type: 'string', default: '10' },
  'victim-qps': { type: 'string', default: '50' },
  'flood-qps': { type: 'string', default: '0' },
  flooder: { type: 'string', default: existsSync(DNSPERF) ? 'dnsperf' : 'node' },
  action: { type: 'string', default: 'drop' },
  'no-compare': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
});
if (opt.help) {
  console.log('node bench/flood.ts [--seconds 10] [--victim-qps 50] [--flood-qps 0 (= as fast as possible)] [--flooder dnsperf|node] [--action slip|drop] [--no-compare]');
  process.exit(0);
}
const SECONDS = Number(opt.seconds);
const VICTIM_QPS = Number(opt['victim-qps']);
const FLOOD_QPS = Number(opt['flood-qps']);
const FLOODER = opt.flooder === 'node' ? 'node' : 'dnsperf';
const ACTION = opt.action === 'slip' ? 'slip' : 'drop';

function assertLoopback(host: string): void {
  if (!/^127\.\d+\.\d+\.\d+$/.test(host)) throw new Error(`refusing ${host}: loopback only`);
}

const children = new Set<ChildProcess>();
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    child.once('exit', () => resolveStop());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}
process.on('SIGINT', () => {
  for (const c of children) c.kill('SIGKILL');
  process.exit(130);
});

function run(command: string, args: string[]): { child: ChildProcess; output: Promise<string> } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let text = '';
  child.stdout?.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (text = (text + c.toString()).slice(-20_000)));
  const output = new Promise<string>((resolveRun) =>
    child.on('exit', () => {
      children.delete(child);
      resolveRun(text);
    }),
  );
  return { child, output };
}

// ---------------------------------------------------------------------------------------
// dnsward under test

interface Dnsward {
  port: number;
  /** The private listener (metrics). */
  apiPort: number;
  child: ChildProcess;
}

async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const port = socket.address().port;
  await new Promise<void>((r) => socket.close(() => r()));
  return port;
}

async function startDnsward(dir: string, upstreamPort: number, rateLimit: boolean): Promise<Dnsward> {
  const port = await freePort();
  const apiPort = await freePort();
  const yaml = [
    'dns:',
    `  listen: ["127.0.0.1:${port}"]`,
    '  allow: ["127.0.0.0/8"]',
    `  rate_limit: { enabled: ${rateLimit}, action: ${ACTION}, exempt: ["${CAPACITY_SOURCE}/32"] }`,
    `upstreams: ["127.0.0.1:${upstreamPort}"]`,
    `lists: { dir: ${JSON.stringify(join(REPO, 'lists'))} }`,
    'segments:',
    '  - { name: default, networks: ["0.0.0.0/0"], action: allow }',
    'http: { enabled: false }',
    `api: { listen: "127.0.0.1:${apiPort}" }`,
    'log: { level: warn }',
    `audit: { enabled: false, dir: ${JSON.stringify(join(dir, 'audit'))}, signing_key_file: ${JSON.stringify(join(dir, 'k', 's.key'))}, pseudonym_secret_file: ${JSON.stringify(join(dir, 'k', 'p.key'))} }`,
    'instance: flood',
    '',
  ].join('\n');
  const file = join(dir, `dnsward-${port}.yaml`);
  await writeFile(file, yaml);
  const { child, output } = run(process.execPath, [join(REPO, 'bin', 'dnsward'), 'serve', '--config', file]);
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`dnsward exited: ${await output}`);
    const r = await queryOnce(port, 'ready.flood.test', VICTIM_SOURCE, 200);
    if (r !== undefined) return { port, apiPort, child };
  }
  throw new Error('dnsward did not come up');
}

async function metrics(d: Dnsward): Promise<Record<string, number>> {
  const text = await fetch(`http://127.0.0.1:${d.apiPort}/metrics`).then((r) => r.text());
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith('dnsward_')) continue;
    const [key, value] = [line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1))];
    out[key] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Clients

async function queryOnce(port: number, name: string, from: string, timeoutMs: number): Promise<Buffer | undefined> {
  assertLoopback(from);
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, from, () => r()));
  return new Promise((resolveQuery) => {
    const timer = setTimeout(() => {
      socket.close();
      resolveQuery(undefined);
    }, timeoutMs);
    socket.on('message', (m) => {
      clearTimeout(timer);
      socket.close();
      resolveQuery(m);
    });
    socket.send(buildQuery({ name }), port, '127.0.0.1');
  });
}

interface VictimResult {
  sent: number;
  answered: number;
  truncated: number;
  servfail: number;
  timeouts: number;
  p50: number;
  p99: number;
  max: number;
}

/** `qps` queries per second from `from`, each with a 1 s timeout; half cached names, half new ones. */
async function victim(port: number, from: string, qps: number, seconds: number): Promise<VictimResult> {
  assertLoopback(from);
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, from, () => r()));
  const pending = new Map<number, number>();
  const latencies: number[] = [];
  let truncated = 0;
  let servfail = 0;
  let timeouts = 0;
  socket.on('message', (m) => {
    const id = m.readUInt16BE(0);
    const started = pending.get(id);
    if (started === undefined) return;
    pending.delete(id);
    latencies.push(performance.now() - started);
    if (m.readUInt16BE(2) & 0x0200) truncated++;
    if ((m.readUInt16BE(2) & 0xf) === 2) servfail++;
  });
  const total = Math.round(qps * seconds);
  const interval = 1000 / qps;
  const begin = performance.now();
  for (let i = 0; i < total; i++) {
    const due = begin + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const id = i & 0xffff;
    pending.set(id, performance.now());
    const name = i % 2 === 0 ? `cached${i % 10}.victim.test` : `new${i}-${Date.now()}.victim.test`;
    socket.send(buildQuery({ name, id }), port, '127.0.0.1');
    for (const [pid, started] of pending) {
      if (performance.now() - started > 1000) {
        pending.delete(pid);
        timeouts++;
      }
    }
  }
  await new Promise((r) => setTimeout(r, 1000));
  timeouts += pending.size;
  socket.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
  return { sent: total, answered: latencies.length, truncated, servfail, timeouts, p50: pct(0.5), p99: pct(0.99), max: latencies.at(-1) ?? Number.NaN };
}

interface FloodResult {
  sent: number;
  completed: number;
  seconds: number;
  raw: string;
}

async function flood(dir: string, port: number, from: string, seconds: number, maxQps: number, flooder: 'dnsperf' | 'node' = FLOODER): Promise<FloodResult> {
  assertLoopback(from);
  if (flooder === 'dnsperf') {
    const file = join(dir, 'flood.txt');
    await writeFile(file, Array.from({ length: 100 }, (_, i) => `flood${i}.flood.test A`).join('\n') + '\n');
    const args = ['-s', '127.0.0.1', '-p', String(port), '-a', from, '-d', file, '-l', String(seconds), '-c', '4', '-q', '20000', '-t', '1'];
    if (maxQps > 0) args.push('-Q', String(maxQps));
    const { output } = run(DNSPERF, args);
    const text = await output;
    const num = (re: RegExp): number => Number(re.exec(text)?.[1] ?? Number.NaN);
    return { sent: num(/Queries sent:\s+(\d+)/), completed: num(/Queries completed:\s+(\d+)/), seconds: num(/Run time \(s\):\s+([\d.]+)/), raw: text };
  }
  // Node flooder in a child process: fire-and-forget at maxQps (or as fast as sendto goes).
  const code = `
    const dgram = require('node:dgram');
    const s = dgram.createSocket('udp4');
    let sent = 0, got = 0;
    s.on('message', () => got++);
    s.bind(0, ${JSON.stringify(from)}, () => {
      const q = Buffer.from(${JSON.stringify(buildQuery({ name: 'flood0.flood.test' }).toString('hex'))}, 'hex');
      const end = Date.now() + ${seconds * 1000};
      const perTick = ${maxQps > 0 ? Math.max(1, Math.round(maxQps / 1000)) : 200};
      const tick = () => {
        if (Date.now() >= end) { setTimeout(() => { console.log(JSON.stringify({ sent, got })); process.exit(0); }, 500); return; }
        for (let i = 0; i < perTick; i++) { q.writeUInt16BE(sent & 0xffff, 0); s.send(q, ${port}, '127.0.0.1'); sent++; }
        ${maxQps > 0 ? 'setTimeout(tick, 1);' : 'setImmediate(tick);'}
      };
      tick();
    });`;
  const { output } = run(process.execPath, ['-e', code]);
  const text = await output;
  const parsed = JSON.parse(text.trim().split('\n').at(-1) ?? '{}') as { sent?: number; got?: number };
  return { sent: parsed.sent ?? 0, completed: parsed.got ?? 0, seconds, raw: text };
}

// ---------------------------------------------------------------------------------------

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function victimLine(label: string, v: VictimResult): string {
  const rate = (100 * v.answered) / v.sent;
  return `| ${label} | ${v.sent} | ${fmt(rate, 1)} % | ${v.truncated} | ${v.servfail} | ${v.timeouts} | ${fmt(v.p50, 2)} | ${fmt(v.p99, 2)} | ${fmt(v.max, 2)} |`;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dnsward-flood-'));
  const upstream = await new StubUpstream().start();
  const rows: string[] = [];
  const notes: string[] = [];
  try {
    // 1. capacity, from an exempt source
    let d = await startDnsward(dir, upstream.port, true);
    // Closed loop (dnsperf waits for answers) measures what dnsward sustains; the node flooder is open loop.
    const meter = existsSync(DNSPERF) ? 'dnsperf' : 'node';
    await flood(dir, d.port, CAPACITY_SOURCE, 2, 0, meter); // warm-up
    const cap = await flood(dir, d.port, CAPACITY_SOURCE, Math.min(SECONDS, 5), 0, meter);
    const capacity = cap.completed / cap.seconds;
    notes.push(`capacity (${meter}, exempt source, cached names, answers/s): ${fmt(capacity, 0)}`);

    // 2. victim alone
    rows.push(victimLine('victim alone', await victim(d.port, VICTIM_SOURCE, VICTIM_QPS, SECONDS)));

    // 3. flood + victim, rate limit on
    const before = await metrics(d);
    const [f, v] = await Promise.all([flood(dir, d.port, FLOOD_SOURCE, SECONDS, FLOOD_QPS), victim(d.port, VICTIM_SOURCE, VICTIM_QPS, SECONDS)]);
    const after = await metrics(d);
    const limited = (after['dnsward_ratelimited_total'] ?? 0) - (before['dnsward_ratelimited_total'] ?? 0);
    rows.push(victimLine(`flood, rate_limit on (${ACTION})`, v));
    notes.push(
      `flood with rate limit on: offered ${fmt(f.sent / f.seconds, 0)} q/s (${fmt(f.sent / f.seconds / capacity, 1)}x capacity), ` +
        `${fmt(f.completed / f.seconds, 0)} answers/s back to the flooder, ${limited} queries rate-limited`,
    );
    await stopChild(d.child);

    // 4. flood + victim, rate limit off
    if (!opt['no-compare']) {
      d = await startDnsward(dir, upstream.port, false);
      await queryOnce(d.port, 'warm.flood.test', VICTIM_SOURCE, 500);
      const [f2, v2] = await Promise.all([flood(dir, d.port, FLOOD_SOURCE, SECONDS, FLOOD_QPS), victim(d.port, VICTIM_SOURCE, VICTIM_QPS, SECONDS)]);
      rows.push(victimLine('flood, rate_limit off', v2));
      notes.push(`flood with rate limit off: offered ${fmt(f2.sent / f2.seconds, 0)} q/s, ${fmt(f2.completed / f2.seconds, 0)} answers/s back to the flooder`);
      await stopChild(d.child);
    } else {
      await stopChild(d.child);
    }
  } finally {
    for (const c of children) await stopChild(c);
    await upstream.stop();
    await rm(dir, { recursive: true, force: true });
  }
  console.log(`\nFlood (issue 4): ${SECONDS} s per phase, victim ${VICTIM_QPS} q/s from ${VICTIM_SOURCE}, flooder ${FLOODER} from ${FLOOD_SOURCE}\n`);
  for (const n of notes) console.log(`- ${n}`);
  console.log('\n| phase | victim queries | answered | TC=1 | SERVFAIL | lost (>1 s) | p50 ms | p99 ms | max ms |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

main().catch((error: unknown) => {
  console.error(error);
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
});
