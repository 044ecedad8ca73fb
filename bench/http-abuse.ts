// HTTP abuse against DNS latency (issue 10), a script, not a test: does HTTP work ever slow
// DNS answers? A DNS prober sends ~200 qps (blocked and cached names) and measures every
// answer, first alone, then while 16 HTTP clients hammer the public feed (/, /lists, and
// the list files of a generated 200,000-name list in every format) with random Host headers
// and "Accept-Encoding: br, gzip". Target: p99 at most 20 ms with every query answered.
// Loopback only. Figures: docs/SECURITY.md ("HTTP side").
//
//   node bench/http-abuse.ts [--seconds 20] [--qps 200] [--clients 16] [--names 200000] [--thread on|off] [--markdown]
import { createSocket } from 'node:dgram';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOptions } from './lib/args.ts';
import { describeMachine } from './lib/machine.ts';
import { assertLoopback, buildQuery, waitForAnswer } from './lib/probe.ts';
import { freePort, startProcess, stopAll, stopProcess } from './lib/procs.ts';
import { writeBigList } from './lib/querygen.ts';
import type { HttpLoad } from './lib/http-hammer.ts';
import { table } from './lib/report.ts';
import { StubUpstream } from '../test/helpers/stub-upstream.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FORMATS = ['hosts', 'domains', 'wildcard', 'adblock', 'dnsmasq', 'unbound', 'rpz', 'json'];

const opt = parseOptions('bench/http-abuse.ts', {
  seconds: { type: 'string', default: '20' },
  qps: { type: 'string', default: '200' },
  clients: { type: 'string', default: '16' },
  names: { type: 'string', default: '200000' },
  thread: { type: 'string' },
  markdown: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
});
if (opt.help) {
  console.log('node bench/http-abuse.ts [--seconds 20] [--qps 200] [--clients 16] [--names 200000] [--thread on|off] [--markdown]\n  --thread  http.thread: the public feed in its own thread (on) or on the DNS thread (off); default: the config default');
  process.exit(0);
}
if (opt.thread !== undefined && opt.thread !== 'on' && opt.thread !== 'off') {
  console.error(`bench/http-abuse.ts: --thread takes on or off, got "${opt.thread}"`);
  process.exit(2);
}
const HTTP_THREAD = opt.thread === undefined ? '' : `, thread: ${opt.thread === 'on'}`;
const SECONDS = Number(opt.seconds);
const QPS = Number(opt.qps);
const CLIENTS = Number(opt.clients);
const NAMES = Number(opt.names);

interface DnsPhase {
  sent: number;
  answered: number;
  p50: number;
  p99: number;
  max: number;
}

/** Sends QPS queries a second for `seconds`, half blocked and half cached names; every answer timed. */
async function probeDns(port: number, seconds: number): Promise<DnsPhase> {
  assertLoopback('127.0.0.1');
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const started = new Map<number, bigint>();
  const latencies: number[] = [];
  socket.on('message', (msg) => {
    const t = started.get(msg.readUInt16BE(0));
    if (t === undefined) return;
    started.delete(msg.readUInt16BE(0));
    latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
  });
  const total = Math.round(seconds * QPS);
  const interval = 1000 / QPS;
  const begin = performance.now();
  for (let i = 0; i < total; i++) {
    const due = begin + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const id = i & 0xffff;
    started.set(id, process.hrtime.bigint());
    socket.send(buildQuery(id, i % 2 ? `p${i % 50}.tiktok.com` : `cached${i % 20}.bench.test`, 'A'), port, '127.0.0.1');
  }
  await new Promise((r) => setTimeout(r, 1000));
  socket.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? Number.NaN;
  return { sent: total, answered: latencies.length, p50: at(0.5), p99: at(0.99), max: latencies.at(-1) ?? Number.NaN };
}

/** The HTTP clients run in their own process: reading their bodies must not delay the DNS prober's clock. */
async function hammer(port: number, seconds: number): Promise<HttpLoad> {
  const child = startProcess('http-hammer', process.execPath, [join(REPO, 'bench', 'lib', 'http-hammer.ts'), String(port), String(CLIENTS), String(seconds), FORMATS.join(',')]);
  await child.exited;
  const line = child.tail().trim().split('\n').at(-1) ?? '{}';
  return JSON.parse(line) as HttpLoad;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dnsward-http-abuse-'));
  const upstream = await new StubUpstream().start();
  try {
    const listsDir = join(dir, 'lists');
    await cp(join(REPO, 'lists'), listsDir, { recursive: true });
    await writeBigList(join(listsDir, 'big.list'), NAMES, 7, 10);
    const [dnsPort, httpPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const config = join(dir, 'dnsward.yaml');
    await writeFile(
      config,
      [
        `dns: { listen: ["127.0.0.1:${dnsPort}"], allow: ["127.0.0.0/8"], rate_limit: { enabled: false } }`,
        `upstreams: ["127.0.0.1:${upstream.port}"]`,
        `lists: { dir: ${JSON.stringify(listsDir)}, public_url: "https://lists.example.org" }`,
        'segments:',
        '  - { name: bench, networks: ["127.0.0.0/8"], action: block, lists: [tiktok] }',
        `http: { listen: "127.0.0.1:${httpPort}"${HTTP_THREAD} }`,
        `api: { listen: "127.0.0.1:${apiPort}" }`,
        'audit: { dir: audit, signing_key_file: keys/s.key, pseudonym_secret_file: keys/p.key }',
        'log: { level: warn }',
        'instance: http-abuse',
      ].join('\n'),
    );
    const proc = startProcess('dnsward', process.execPath, [join(REPO, 'bin', 'dnsward'), 'serve', '--config', config], { cwd: dir });
    await waitForAnswer(dnsPort, 'ready.bench.test', undefined, 30_000, () => proc.exitCode() === undefined);
    // Warm the cache and the feed (the first request of a big list renders it, in a worker).
    await probeDns(dnsPort, 1);
    await hammer(httpPort, 5);

    const alone = await probeDns(dnsPort, SECONDS);
    const loading = hammer(httpPort, SECONDS + 1);
    await new Promise((r) => setTimeout(r, 500));
    const loaded = await probeDns(dnsPort, SECONDS);
    const http = await loading;
    await stopProcess(proc);

    const machine = describeMachine();
    const row = (name: string, p: DnsPhase): string[] => [name, `${p.answered}/${p.sent}`, p.p50.toFixed(2), p.p99.toFixed(2), p.max.toFixed(1)];
    console.log(`\n${machine.cpuModel}, ${machine.cores} cores, ${machine.memGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}, load ${machine.loadavg.join(' ')}\n${machine.damon}`);
    console.log(`http.thread: ${opt.thread ?? 'the default'}. DNS at ${QPS} qps for ${SECONDS} s, alone and under ${CLIENTS} HTTP clients (random Host, Accept-Encoding: br, gzip; /, /lists, ${NAMES}-name list files in ${FORMATS.length} formats):\n`);
    console.log(table(['phase', 'answered', 'p50 ms', 'p99 ms', 'max ms'], [row('DNS alone', alone), row(`DNS + ${CLIENTS} HTTP clients`, loaded)], opt.markdown ?? false));
    const mb = http.bytes / 1e6;
    console.log(`\nHTTP during the loaded phase: ${http.requests} requests (${(http.requests / SECONDS).toFixed(0)}/s), ${mb.toFixed(0)} MB (${(mb / SECONDS).toFixed(1)} MB/s), statuses ${JSON.stringify(http.statuses)}, errors ${http.errors}`);
    const met = loaded.answered === loaded.sent && loaded.p99 <= 20;
    console.log(`target (p99 <= 20 ms, every query answered): ${met ? 'met' : 'MISSED'}`);
  } finally {
    await stopAll();
    await upstream.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
