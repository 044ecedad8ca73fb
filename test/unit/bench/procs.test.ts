import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { allowedCpus, cpuPerQuery, machineSharePct, machineTicks, pinCpus, serverCpuTicks, startProcess, statCpuTicks, stopAll, unpinCpus, usPerQuery } from '../../../bench/lib/procs.ts';

afterEach(async () => {
  unpinCpus();
  await stopAll();
});

/** The CPUs a running process may use (its Cpus_allowed_list), once it is `comm` (taskset has exec'd it). */
async function cpusOf(pid: number, comm: string): Promise<number[]> {
  for (let i = 0; i < 500; i++) {
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm) return allowedCpus(readFileSync(`/proc/${pid}/status`, 'utf8'));
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process ${pid} never became ${comm}`);
}

// /proc/PID/status is Linux's; the bench runs nowhere else.
describe.runIf(process.platform === 'linux')('bench --pin', () => {
  const ours = allowedCpus();

  it('reads a Cpus_allowed_list with ranges and single CPUs, and nothing from a malformed one', () => {
    expect(allowedCpus('Name:\tx\nCpus_allowed_list:\t0-2,5,7-8\nMems_allowed_list:\t0\n')).toEqual([0, 1, 2, 5, 7, 8]);
    expect(allowedCpus('Cpus_allowed_list:\t3\n')).toEqual([3]);
    for (const bad of ['', '0-', '3-1', '1-2-3', 'x', '0,,1']) expect(allowedCpus(`Cpus_allowed_list:\t${bad}\nMems_allowed_list:\t0\n`), bad).toEqual([]);
    expect(allowedCpus('Name:\tx\n')).toEqual([]);
    expect(ours.length).toBeGreaterThan(0);
  });

  it('shares out the CPUs: the last for the load, the others for the servers; refuses fewer than 2', () => {
    expect(pinCpus([0, 1])).toEqual({ server: '0', load: '1' });
    expect(pinCpus([2, 3, 6, 7])).toEqual({ server: '2,3,6', load: '7' });
    // A repeated CPU is one CPU: the load's is never a server's too.
    expect(pinCpus([1, 0, 1])).toEqual({ server: '0', load: '1' });
    expect(() => pinCpus([0, 0])).toThrow(/at least 2 CPUs \(this process may use 0\)/);
    expect(() => pinCpus([])).toThrow(/this process may use none/);
  });

  it.runIf(ours.length >= 2)('starts a server on its CPUs, the load on its own, and a process without a role anywhere, each under its own pid', async () => {
    const plan = pinCpus();
    const server = startProcess('server', 'sleep', ['30'], { role: 'server' });
    const load = startProcess('load', 'sleep', ['30'], { role: 'load' });
    const tool = startProcess('tool', 'sleep', ['30']);
    expect((await cpusOf(server.pid, 'sleep')).join(',')).toBe(plan.server);
    expect((await cpusOf(load.pid, 'sleep')).join(',')).toBe(plan.load);
    expect(await cpusOf(tool.pid, 'sleep')).toEqual(ours);
  });

  it('leaves every process to the kernel without --pin', async () => {
    const server = startProcess('server', 'sleep', ['30'], { role: 'server' });
    expect(await cpusOf(server.pid, 'sleep')).toEqual(ours);
  });
});

describe('time stolen by the host', () => {
  it('is the share of the ticks between two readings that were stolen, in percent', () => {
    const stolenPct = (from: { total: number; stolen: number }, to: { total: number; stolen: number }): number => machineSharePct({ ...from, busy: 0 }, { ...to, busy: 0 }, 'stolen');
    expect(stolenPct({ total: 1000, stolen: 50 }, { total: 1200, stolen: 80 })).toBe(15);
    expect(stolenPct({ total: 1000, stolen: 50 }, { total: 1300, stolen: 51 })).toBe(0.3);
    // No ticks between the readings: nothing stolen, not a division by zero.
    expect(stolenPct({ total: 1000, stolen: 5 }, { total: 1000, stolen: 5 })).toBe(0);
    // The busy share comes from the same counters, by the same rule.
    expect(machineSharePct({ busy: 100, total: 1000, stolen: 0 }, { busy: 250, total: 1200, stolen: 0 }, 'busy')).toBe(75);
  });

  it.runIf(process.platform === 'linux')('reads the steal column of /proc/stat, within the busy ticks', () => {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const t = machineTicks();
    expect(t.stolen).toBeGreaterThanOrEqual(fields[7] ?? Number.NaN);
    expect(t.stolen).toBeLessThanOrEqual(t.busy);
    expect(t.busy).toBeLessThanOrEqual(t.total);
  });
});

describe('usPerQuery', () => {
  it('turns clock ticks (10 ms) over answered queries into microseconds a query, to 0.01', () => {
    expect(usPerQuery(250, 100_000)).toBe(25);
    expect(usPerQuery(1, 3)).toBe(3333.33);
    expect(usPerQuery(7, 0)).toBe(70_000); // no answers: per one, never a division by zero
  });
});

describe('statCpuTicks', () => {
  // /proc/PID/stat: pid (comm) state ppid ... utime stime (fields 14 and 15); a comm may hold spaces and parentheses.
  const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 731 289 0 0 20 0 11 0 100 0 0';

  it('reads user and kernel time, or the kernel time alone, after the last parenthesis', () => {
    expect(statCpuTicks('/proc/4242/stat', 'all', () => stat)).toBe(1020);
    expect(statCpuTicks('/proc/4242/stat', 'system', () => stat)).toBe(289);
  });

  it.runIf(process.platform === 'linux')("reads this process's own file, the kernel's share no more than the whole", () => {
    const all = statCpuTicks(`/proc/${process.pid}/stat`);
    const system = statCpuTicks(`/proc/${process.pid}/stat`, 'system');
    expect(Number.isInteger(all) && Number.isInteger(system)).toBe(true);
    expect(system).toBeLessThanOrEqual(all);
  });
});

describe('cpuPerQuery', () => {
  it('divides the ticks between two readings by the answers: all, the kernel share, and each thread', () => {
    const from = { all: 1000, system: 400, threads: new Map([['MainThread', 900], ['libuv-worker', 100]]) };
    // 250 ticks over 100,000 answers: 25 us; 90 in the kernel; a V8Worker that started during the run counts whole.
    const to = { all: 1250, system: 490, threads: new Map([['MainThread', 1100], ['libuv-worker', 140], ['V8Worker', 10]]) };
    expect(cpuPerQuery(from, to, 100_000)).toEqual({ cpuUs: 25, systemUs: 9, threadUs: { MainThread: 20, 'libuv-worker': 4, V8Worker: 1 } });
  });

  it.runIf(process.platform === 'linux')("reads this process's counters, its threads by name, never going back", () => {
    const a = serverCpuTicks(process.pid);
    let x = 0;
    for (let i = 0; i < 2e7; i++) x += i % 7;
    const b = serverCpuTicks(process.pid);
    expect(x).toBeGreaterThan(0);
    expect(b.all).toBeGreaterThanOrEqual(a.all);
    expect(b.system).toBeLessThanOrEqual(b.all);
    expect(b.threads.size).toBeGreaterThan(0);
    const per = cpuPerQuery(a, b, 1);
    expect(per.cpuUs).toBeGreaterThanOrEqual(0);
    expect(Object.values(per.threadUs).every((us) => us >= 0)).toBe(true);
  });
});
