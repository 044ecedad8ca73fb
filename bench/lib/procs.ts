// Child processes of the bench: every one is started in its own process group and stopped at the end,
// on error and on SIGINT/SIGTERM. Nothing is left running after `npm run bench`.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface Managed {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Last lines of stderr/stdout, for error messages. */
  tail: () => string;
  exited: Promise<number | null>;
  exitCode: () => number | null | undefined;
}

const running = new Set<Managed>();

/**
 * `--pin`: the side of a measurement a process is on. `server`: the resolver under test; `load`: what
 * drives it or stands in for the rest of the network (dnsperf, the upstream).
 */
export type CpuRole = 'server' | 'load';

/** The CPUs (a taskset list) of each side, or undefined: the kernel places every process. */
let cpuPlan: Readonly<Record<CpuRole, string>> | undefined;

/**
 * Pins every process started from now on by its role (taskset -c; threads and children inherit it):
 * the last CPU this process may use for the load, the others for the servers. Without it the kernel's
 * wake-up placement sometimes runs a server's thread on dnsperf's CPU. `cpus`: the CPUs to share out
 * (default: this process's own, from /proc/self/status). On an SMT host the last CPU may be a sibling
 * of a server's.
 */
export function pinCpus(cpus: readonly number[] = allowedCpus()): Readonly<Record<CpuRole, string>> {
  const distinct = [...new Set(cpus)].sort((a, b) => a - b);
  const last = distinct.at(-1);
  if (last === undefined || distinct.length < 2) throw new Error(`--pin needs at least 2 CPUs (this process may use ${distinct.length === 0 ? 'none' : distinct.join(',')})`);
  cpuPlan = { server: distinct.slice(0, -1).join(','), load: String(last) };
  return cpuPlan;
}

/** The CPUs this process may run on (its Cpus_allowed_list, expanded: "0-2,5" is 0,1,2,5); none when the line is missing or malformed. */
export function allowedCpus(status = readFileSync('/proc/self/status', 'utf8')): number[] {
  const list = /^Cpus_allowed_list:[ \t]*(\S*)$/m.exec(status)?.[1] ?? '';
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) return [];
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return [];
    for (let cpu = from; cpu <= to; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** Processes started from now on are placed by the kernel again. */
export function unpinCpus(): void {
  cpuPlan = undefined;
}

export interface StartOptions {
  /** Under --pin, the CPUs it may run on; without a role it is never pinned (the bench's own tools). */
  role?: CpuRole;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Where stdout goes: captured into the tail buffer (default), or an fd (e.g. a file). */
  stdout?: 'capture' | number;
}

export function startProcess(name: string, command: string, args: string[], options: StartOptions = {}): Managed {
  const stdio: StdioOptions = ['ignore', options.stdout === undefined || options.stdout === 'capture' ? 'pipe' : options.stdout, 'pipe'];
  // detached: its own process group, so a Ctrl-C in the terminal reaches only the harness, which then stops
  // each child (and the child's own workers) in order.
  // taskset execs the command: the pid, /proc/PID and the signals are the command's own.
  const cpus = options.role === undefined ? undefined : cpuPlan?.[options.role];
  const [file, argv] = cpus === undefined ? [command, args] : ['taskset', ['-c', cpus, command, ...args]];
  const child = spawn(file, argv, { cwd: options.cwd, env: options.env ?? process.env, stdio, detached: true });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${file}`);
  let buffer = '';
  const keep = (chunk: Buffer): void => {
    buffer = (buffer + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (c, signal) => {
      code = c ?? (signal ? -1 : null);
      running.delete(managed);
      resolve(code);
    });
    child.on('error', (error) => {
      keep(Buffer.from(String(error)));
      code = -1;
      running.delete(managed);
      resolve(-1);
    });
  });
  const managed: Managed = { name, child, pid: child.pid, tail: () => buffer.trim(), exited, exitCode: () => code };
  running.add(managed);
  return managed;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(p: Managed, graceMs = 3000): Promise<void> {
  if (p.exitCode() !== undefined) return;
  signalGroup(p.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      signalGroup(p.pid, 'SIGKILL');
      resolve();
    }, graceMs);
  });
  await Promise.race([p.exited.then(() => undefined), killed]);
  clearTimeout(timer);
  await p.exited;
  // Workers of a stopped primary: make sure the group is gone too.
  signalGroup(p.pid, 'SIGKILL');
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => stopProcess(p)));
}

/** Synchronous last resort (process 'exit' handler): SIGKILL every group still running. */
export function killAllNow(): void {
  for (const p of running) signalGroup(p.pid, 'SIGKILL');
}

/** Runs a command to completion and returns its output (stdout or an fd for stdout). */
export async function runToEnd(
  name: string,
  command: string,
  args: string[],
  options: StartOptions = {},
): Promise<{ code: number | null; output: string; cpuTicks: number }> {
  const p = startProcess(name, command, args, options);
  let out = '';
  p.child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  // The child's CPU time, sampled until it exits (the last sample is at most 100 ms old).
  let cpuTicks = 0;
  const sampler = setInterval(() => {
    cpuTicks = Math.max(cpuTicks, processCpuTicks(p.pid));
  }, 100);
  const code = await p.exited;
  clearInterval(sampler);
  return { code, output: out || p.tail(), cpuTicks };
}

const usedPorts = new Set<number>();

async function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A loopback port free for both UDP and TCP, in a high range, never handed out twice in one run. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    if (usedPorts.has(port)) continue;
    if ((await udpFree(port)) && (await tcpFree(port))) {
      usedPorts.add(port);
      return port;
    }
  }
  throw new Error('no free loopback port found');
}

/** Resident memory (kB) of a process and all its descendants, from /proc/<pid>/status. */
export function treeMemoryKb(rootPid: number): { rssKb: number; hwmKb: number; pids: number[] } {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...; comm may contain spaces and parentheses: split after the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(rest[1]));
    } catch {
      /* raced with exit */
    }
  }
  const pids = [rootPid];
  for (let i = 0; i < pids.length; i++) {
    for (const [pid, ppid] of parent) if (ppid === pids[i]) pids.push(pid);
  }
  let rssKb = 0;
  let hwmKb = 0;
  for (const pid of pids) {
    const own = processMemoryKb(pid);
    rssKb += own.rssKb;
    hwmKb += own.hwmKb;
  }
  return { rssKb, hwmKb, pids };
}

/** Resident memory (kB) of one process, its descendants left out: VmRSS and VmHWM; zeros when it is gone. */
export function processMemoryKb(pid: number): { rssKb: number; hwmKb: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0), hwmKb: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) };
  } catch {
    return { rssKb: 0, hwmKb: 0 };
  }
}

/** A process's threads: id -> name (`/proc/PID/task/TID/comm`); empty when it is gone. */
export function threadNames(pid: number): Map<string, string> {
  const names = new Map<string, string>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return names;
  }
  for (const tid of tids) {
    try {
      names.set(tid, readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim());
    } catch {
      // the thread ended meanwhile
    }
  }
  return names;
}

/** CPU time (clock ticks) of a process and its descendants, user and kernel or the kernel's alone; 0 for a process that is gone. */
export function treeCpuTicks(rootPid: number, part: CpuPart = 'all'): number {
  let ticks = 0;
  for (const pid of treeMemoryKb(rootPid).pids) ticks += processCpuTicks(pid, part);
  return ticks;
}

/** Where a server's CPU counts stand (its process tree), read before and after a run for cpuPerQuery. */
export interface ServerCpuTicks {
  all: number;
  system: number;
  /** By thread name (threadCpuTicks). */
  threads: Map<string, number>;
}

export function serverCpuTicks(rootPid: number): ServerCpuTicks {
  return { all: treeCpuTicks(rootPid), system: treeCpuTicks(rootPid, 'system'), threads: threadCpuTicks(rootPid) };
}

/** A server's CPU per answered query between two readings, in us: all of it, the kernel's share, and by thread. */
export function cpuPerQuery(from: ServerCpuTicks, to: ServerCpuTicks, completed: number): { cpuUs: number; systemUs: number; threadUs: Record<string, number> } {
  // A thread missing from the first reading started during the run: all its ticks count.
  const threadUs = Object.fromEntries([...to.threads].map(([name, ticks]) => [name, usPerQuery(ticks - (from.threads.get(name) ?? 0), completed)]));
  return { cpuUs: usPerQuery(to.all - from.all, completed), systemUs: usPerQuery(to.system - from.system, completed), threadUs };
}

/** Microseconds of CPU per answered query, to 0.01, for `ticks` clock ticks over `completed` answers (none: per 1). */
export function usPerQuery(ticks: number, completed: number): number {
  return Math.round(((ticks * 1e6) / CLOCK_TICKS_PER_SECOND / Math.max(1, completed)) * 100) / 100;
}

/** CPU clock ticks of every thread in the process tree, summed by thread name (`/proc/PID/task/TID/comm`). */
export function threadCpuTicks(rootPid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const pid of treeMemoryKb(rootPid).pids) {
    for (const [tid, name] of threadNames(pid)) {
      try {
        byName.set(name, (byName.get(name) ?? 0) + statCpuTicks(`/proc/${pid}/task/${tid}/stat`));
      } catch {
        // the thread ended meanwhile
      }
    }
  }
  return byName;
}

/** All of a process's CPU time (user and kernel), or the kernel's share alone (its system calls, its page faults). */
export type CpuPart = 'all' | 'system';

export function processCpuTicks(pid: number, part: CpuPart = 'all'): number {
  try {
    return statCpuTicks(`/proc/${pid}/stat`, part);
  } catch {
    return 0;
  }
}

/** utime + stime (or stime alone) of a /proc stat file (a process's or a thread's); throws when it is gone. */
export function statCpuTicks(path: string, part: CpuPart = 'all', read: (path: string) => string = (p) => readFileSync(p, 'utf8')): number {
  const stat = read(path);
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after "(comm)": state=0 ppid=1 ... utime=11 stime=12.
  return (part === 'all' ? Number(rest[11]) : 0) + Number(rest[12]);
}

/**
 * Busy and total clock ticks of the whole machine, from the first line of /proc/stat, and the
 * ticks stolen by the host (a VM's vCPUs waiting for a real CPU; counted in busy).
 */
export interface MachineTicks {
  busy: number;
  total: number;
  stolen: number;
}

export function machineTicks(): MachineTicks {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total, stolen: v[7] ?? 0 };
}

/** The share of the machine's ticks between two readings that were `part` (busy, or stolen by the host), in percent (one decimal). */
export function machineSharePct(from: MachineTicks, to: MachineTicks, part: 'busy' | 'stolen'): number {
  return Math.round(((to[part] - from[part]) / Math.max(1, to.total - from.total)) * 1000) / 10;
}

/** USER_HZ: the unit of the /proc tick counters (100 on every mainstream Linux). */
export const CLOCK_TICKS_PER_SECOND = 100;
