// The machine and tool versions, printed with every run (and copied into docs/BENCHMARKS.md).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { describeDamon, findDamonMonitors } from './damon.ts';
import { KRESD, PDNS_RECURSOR } from './peers.ts';
import { DNSMASQ, UNBOUND } from './servers.ts';

function firstLine(command: string, args: string[], match?: RegExp): string {
  try {
    const out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
    const lines = out.split('\n');
    return (match ? lines.find((l) => match.test(l)) : lines[0])?.trim() ?? 'unknown';
  } catch (error) {
    const out = String((error as { stdout?: string }).stdout ?? '') + String((error as { stderr?: string }).stderr ?? '');
    return (match ? out.split('\n').find((l) => match.test(l)) : out.split('\n')[0])?.trim() ?? 'unknown';
  }
}

export interface Machine {
  cpuModel: string;
  cores: number;
  memGiB: number;
  kernel: string;
  node: string;
  dnsmasq: string;
  unbound: string;
  dnsperf: string;
  pdnsRecursor: string;
  kresd: string;
  loadavg: number[];
  /** The kernel's DAMON monitors and what they do (their passes stall a CPU: every latency figure has them). */
  damon: string;
  /** Where the processes ran: placed by the kernel, unless the caller pins them (bench --pin) and says so here. */
  cpus: string;
}

export function describeMachine(): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    /* keep os.cpus() */
  }
  return {
    cpuModel,
    cores: cpus().length,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    dnsmasq: firstLine(DNSMASQ, ['--version']).replace(/\s+Copyright.*/, ''),
    unbound: firstLine(UNBOUND, ['-V'], /^Version/),
    dnsperf: firstLine('dnsperf', ['-h'], /^Version/),
    // It prints its version on stderr.
    pdnsRecursor: /PowerDNS Recursor [\d.]+/.exec(spawnSync(PDNS_RECURSOR, ['--version'], { encoding: 'utf8', timeout: 5000 }).stderr ?? '')?.[0] ?? 'PowerDNS Recursor not installed',
    kresd: firstLine(KRESD, ['--version']).replace(/, version/, '') || 'Knot Resolver not installed',
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
    damon: describeDamon(findDamonMonitors()),
    cpus: 'CPUs: not pinned (the kernel places every process)',
  };
}
