// The bench's --sched-trace reading of `perf sched timehist --state`: lines as perf 6.1 prints
// them on this machine, and what the DNS thread waited for.
import { describe, expect, it } from 'vitest';
import { parseTimehist, summarizeSched } from '../../../bench/lib/sched-trace.ts';

// Header and lines copied from a trace of dnsward (pid 2005) under dnsperf at 20k qps.
const REAL = `           time    cpu  task name                       wait time  sch delay   run time  state
                        [tid/pid]                          (msec)     (msec)     (msec)       
--------------- ------  ------------------------------  ---------  ---------  ---------  -----
    6134.387618 [0000]  perf[2043]                          0.000      0.000      0.000      R 
    6134.387718 [0000]  MainThread[2005]                    0.000      0.000      0.099      S 
    6134.387832 [0000]  <idle>                              0.000      0.000      0.060      I 
    6134.402036 [0000]  V8Worker[2011/2005]                 0.000      0.055      0.040      S 
    6134.432443 [0000]  dnsperf[2041/2039]                  0.079      0.009      0.019      S 
`;

describe('parseTimehist', () => {
  it('reads each slice with its thread, process, times and state, and skips headers and idle', () => {
    const slices = parseTimehist(REAL);
    expect(slices.map((s) => s.name)).toEqual(['perf', 'MainThread', 'V8Worker', 'dnsperf']);
    expect(slices[1]).toEqual({ endMs: 6134387.718, cpu: 0, name: 'MainThread', tid: 2005, pid: 2005, waitMs: 0, delayMs: 0, runMs: 0.099, state: 'S' });
    expect(slices[2]).toMatchObject({ name: 'V8Worker', tid: 2011, pid: 2005, delayMs: 0.055, runMs: 0.04 });
    expect(slices[3]).toMatchObject({ name: 'dnsperf', tid: 2041, pid: 2039, waitMs: 0.079, state: 'S' });
  });
});

/** A slice line as perf prints it (times in ms). */
function line(endMs: number, cpu: number, thread: string, wait: number, delay: number, run: number, state: string): string {
  return `${(endMs / 1000).toFixed(6).padStart(15)} [${String(cpu).padStart(4, '0')}]  ${thread.padEnd(30)}  ${wait.toFixed(3).padStart(9)}  ${delay.toFixed(3).padStart(9)}  ${run.toFixed(3).padStart(9)}      ${state} `;
}

describe('summarizeSched', () => {
  // The DNS thread (pid 100) on CPU 0: runs, is preempted (R) and waits 2 ms while its own V8
  // helper runs 1.5 ms and redis 0.5 ms on CPU 0 (dnsperf on CPU 1 does not count); then it
  // sleeps (S), is woken and waits 0.3 ms of scheduling delay while redis runs.
  const trace = [
    line(1000.0, 0, 'MainThread[100]', 0, 0, 0.5, 'R'),
    line(1001.5, 0, 'V8Worker[101/100]', 0, 0, 1.5, 'S'),
    line(1001.8, 1, 'dnsperf[201/200]', 0, 0, 1.8, 'S'),
    line(1002.0, 0, 'redis-server[300]', 0, 0, 0.5, 'S'),
    line(1002.3, 0, 'MainThread[100]', 2.0, 0, 0.3, 'S'),
    line(1004.0, 0, 'redis-server[300]', 0, 0, 0.3, 'S'),
    line(1004.25, 0, 'MainThread[100]', 1.4, 0.3, 0.25, 'S'),
  ].join('\n');

  it('counts a preempted wait whole and a wakeup by its scheduling delay, and names who held the CPU', () => {
    const s = summarizeSched(parseTimehist(trace), 100);
    // Window: from 999.5 (the first slice's start) to 1004.25 = 4.75 ms.
    expect(s.windowMs).toBeCloseTo(4.75, 6);
    expect(s.longestWaitMs).toBeCloseTo(2.0, 6);
    expect(s.waitingMsPerS).toBeCloseTo((2.3 / 4.75) * 1000, 3);
    expect(s.longWaitsPerS).toBeCloseTo((1 / 4.75) * 1000, 3);
    expect(s.heldBy.map((h) => [h.name, h.own, Number((h.msPerS * 4.75 / 1000).toFixed(3))])).toEqual([
      ['V8Worker', true, 1.5],
      ['redis-server', false, 0.8],
    ]);
    // Its own slices over 0.2 ms: 0.5, 0.3 and 0.25.
    expect(s.longRunsPerS).toBeCloseTo((3 / 4.75) * 1000, 3);
    expect(s.longRunsShare).toBeCloseTo(1.05 / 4.75, 6);
  });

  it('reads a preempted wait the same whether perf prints its delay as 0 (before 6.11) or as the wait', () => {
    const older = [line(1000.0, 0, 'MainThread[100]', 0, 0, 0.5, 'R'), line(1002.0, 0, 'V8Worker[101/100]', 0, 0, 1.5, 'S'), line(1002.3, 0, 'MainThread[100]', 1.5, 0, 0.3, 'S')].join('\n');
    const newer = older.replace(/(1\.500)(\s+)0\.000(\s+0\.300)/, '$1$2$1$3');
    expect(newer).not.toBe(older);
    const a = summarizeSched(parseTimehist(older), 100);
    const b = summarizeSched(parseTimehist(newer), 100);
    expect(a.longestWaitMs).toBeCloseTo(1.5, 6);
    expect(b.longestWaitMs).toBeCloseTo(1.5, 6);
    expect(b.waitingMsPerS).toBeCloseTo(a.waitingMsPerS, 6);
  });

  it('charges one long slice of another thread to every wait it overlaps, and only on the same CPU', () => {
    // Two short waits of the DNS thread (0.2 ms each, after wakeups) inside one 2 ms slice of redis on CPU 0;
    // dnsperf on CPU 1 over the same time is not charged.
    const trace = [
      line(1000.0, 0, 'MainThread[100]', 0, 0, 0.1, 'S'),
      line(1000.5, 0, 'MainThread[100]', 0.4, 0.2, 0.1, 'S'),
      line(1001.0, 0, 'MainThread[100]', 0.4, 0.2, 0.1, 'S'),
      line(1002.0, 0, 'redis-server[300]', 0, 0, 2.0, 'S'),
      line(1002.0, 1, 'dnsperf[201/200]', 0, 0, 2.0, 'S'),
    ].join('\n');
    const s = summarizeSched(parseTimehist(trace), 100);
    expect(s.heldBy.map((h) => [h.name, Number(((h.msPerS * s.windowMs) / 1000).toFixed(3))])).toEqual([['redis-server', 0.4]]);
  });

  it('does not count the wait of a thread that slept as waiting for the CPU', () => {
    const slept = [line(1000.0, 0, 'MainThread[100]', 0, 0, 0.1, 'S'), line(1001.0, 0, 'redis-server[300]', 0, 0, 0.9, 'S'), line(1001.1, 0, 'MainThread[100]', 1.0, 0, 0.1, 'S')].join('\n');
    const s = summarizeSched(parseTimehist(slept), 100);
    expect(s.waitingMsPerS).toBe(0);
    expect(s.heldBy).toEqual([]);
  });
});
