// Runs dnsperf (2.10: no latency histogram option) and parses its statistics; per-query latencies for
// percentiles come from a separate `-v` run whose per-query lines go to a file and are parsed afterwards.
import { closeSync, openSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { assertLoopback } from './probe.ts';
import { runToEnd } from './procs.ts';

export interface DnsperfOptions {
  port: number;
  file: string;
  /** -l: seconds; 0 = no time limit. */
  seconds: number;
  /** -c: client sockets (distinct source ports, so SO_REUSEPORT servers spread the load). */
  clients: number;
  /** -q: outstanding queries. */
  outstanding: number;
  /** -T: send/receive thread pairs. */
  threads: number;
  /** -Q: offered rate limit; undefined = as fast as answers come back. */
  maxQps?: number;
  /** -n: passes through the file at most (1 for the miss mix: names must never repeat). */
  passes?: number;
  /** -a: source address (a different loopback address selects a different segment). */
  source?: string;
  /** -t: seconds before an unanswered query counts as lost. */
  timeout: number;
  /** Write per-query lines (-v) to this file and return latency percentiles. */
  verboseFile?: string;
  /** Leave the per-query file in place (--keep) instead of deleting it once read. */
  keepVerbose?: boolean;
  /** -m: transport (default udp); dot is DNS over TLS (dnsperf does not check the certificate). */
  mode?: 'udp' | 'tcp' | 'dot';
}

export interface DnsperfStats {
  sent: number;
  completed: number;
  lost: number;
  runTime: number;
  qps: number;
  avgMs: number;
  minMs: number;
  maxMs: number;
  stddevMs: number;
  rcodes: Record<string, number>;
  command: string;
  /** CPU use during the run, in % of one core (machine: % of all cores). */
  /** machineStolenPct: the machine's time stolen by the host (VM steal) during the run. */
  cpu?: { serverPct: number; dnsperfPct: number; machineBusyPct: number; machineStolenPct: number };
  /** The server's CPU per answered query, in microseconds: all its threads (cpuUs; systemUs of it in the kernel), and by thread name (MainThread, V8Worker, libuv-worker, ...). */
  cpuUs?: number;
  systemUs?: number;
  threadUs?: Record<string, number>;
  /** dnsperf's own CPU time (clock ticks). */
  dnsperfTicks?: number;
}

export interface Latency {
  samples: number;
  timeouts: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export function dnsperfArgs(o: DnsperfOptions): string[] {
  const host = '127.0.0.1';
  assertLoopback(host);
  const args = ['-s', host, '-p', String(o.port), '-d', o.file, '-c', String(o.clients), '-q', String(o.outstanding), '-T', String(o.threads), '-t', String(o.timeout)];
  if (o.seconds > 0) args.push('-l', String(o.seconds));
  if (o.passes !== undefined) args.push('-n', String(o.passes));
  if (o.maxQps !== undefined) args.push('-Q', String(Math.max(1, Math.round(o.maxQps))));
  if (o.source !== undefined) {
    assertLoopback(o.source);
    args.push('-a', o.source);
  }
  if (o.verboseFile !== undefined) args.push('-v', '-W');
  if (o.mode !== undefined && o.mode !== 'udp') args.push('-m', o.mode);
  return args;
}

function num(text: string, re: RegExp): number {
  const m = re.exec(text);
  return m?.[1] === undefined ? Number.NaN : Number(m[1]);
}

export function parseStats(output: string, command: string): DnsperfStats {
  const rcodes: Record<string, number> = {};
  const rc = /Response codes:\s+(.*)/.exec(output)?.[1] ?? '';
  for (const m of rc.matchAll(/([A-Z0-9]+) (\d+) \(/g)) if (m[1] !== undefined) rcodes[m[1]] = Number(m[2]);
  const lat = /Average Latency \(s\):\s+([\d.]+) \(min ([\d.]+), max ([\d.]+)\)/.exec(output);
  const stats: DnsperfStats = {
    sent: num(output, /Queries sent:\s+(\d+)/),
    completed: num(output, /Queries completed:\s+(\d+)/),
    lost: num(output, /Queries lost:\s+(\d+)/),
    runTime: num(output, /Run time \(s\):\s+([\d.]+)/),
    qps: num(output, /Queries per second:\s+([\d.]+)/),
    avgMs: lat ? Number(lat[1]) * 1000 : Number.NaN,
    minMs: lat ? Number(lat[2]) * 1000 : Number.NaN,
    maxMs: lat ? Number(lat[3]) * 1000 : Number.NaN,
    stddevMs: num(output, /Latency StdDev \(s\):\s+([\d.]+)/) * 1000,
    rcodes,
    command,
  };
  if (Number.isNaN(stats.qps) || Number.isNaN(stats.sent)) throw new Error(`could not parse dnsperf output:\n${output.slice(-2000)}`);
  return stats;
}

export async function runDnsperf(o: DnsperfOptions): Promise<{ stats: DnsperfStats; latency?: Latency }> {
  const args = dnsperfArgs(o);
  const command = `dnsperf ${args.join(' ')}`;
  if (o.verboseFile === undefined) {
    const { output, cpuTicks } = await runToEnd('dnsperf', 'dnsperf', args, { role: 'load' });
    return { stats: { ...parseStats(output, command), dnsperfTicks: cpuTicks } };
  }
  // -v -W: per-query lines, statistics and warnings all on stdout, straight into a file (no pipe to this
  // process while dnsperf runs, so the harness costs no CPU during the measurement).
  const fd = openSync(o.verboseFile, 'w');
  try {
    await runToEnd('dnsperf', 'dnsperf', args, { role: 'load', stdout: fd });
  } finally {
    closeSync(fd);
  }
  const { stats, latency } = await parseVerboseFile(o.verboseFile, command);
  if (o.keepVerbose !== true) await rm(o.verboseFile, { force: true });
  return { stats, latency };
}

/**
 * Reads a `dnsperf -v` output file: lines `> RCODE name type seconds` per answer (`> T ...` for a timeout),
 * then the usual statistics. Returns both.
 */
export async function parseVerboseFile(file: string, command: string): Promise<{ stats: DnsperfStats; latency: Latency }> {
  const handle = await open(file, 'r');
  let samples = new Float64Array(1 << 16);
  let n = 0;
  let timeouts = 0;
  let rest = '';
  let trailer = '';
  const buf = Buffer.alloc(1 << 20);
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const text = rest + buf.toString('latin1', 0, bytesRead);
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('> ')) {
          if (line.startsWith('> T ')) {
            timeouts++;
            continue;
          }
          const sec = Number(line.slice(line.lastIndexOf(' ') + 1));
          if (!Number.isFinite(sec)) continue;
          if (n === samples.length) {
            const bigger = new Float64Array(samples.length * 2);
            bigger.set(samples);
            samples = bigger;
          }
          samples[n++] = sec * 1000;
        } else if (trailer.length < 100_000) {
          trailer += `${line}\n`;
        }
      }
    }
  } finally {
    await handle.close();
  }
  trailer += rest;
  const sorted = samples.subarray(0, n).sort();
  const pct = (p: number): number => (n === 0 ? Number.NaN : (sorted[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)] ?? Number.NaN));
  return {
    stats: parseStats(trailer, command),
    latency: { samples: n, timeouts, p50Ms: pct(50), p90Ms: pct(90), p99Ms: pct(99), p999Ms: pct(99.9), maxMs: n === 0 ? Number.NaN : (sorted[n - 1] ?? Number.NaN) },
  };
}
