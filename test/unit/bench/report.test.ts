// The bench's per-latency-run tables: one row for each result whose reported run carries the part.
import { describe, expect, it } from 'vitest';
import type { DnsperfStats } from '../../../bench/lib/dnsperf.ts';
import { fixedRateCpuLines, gcTable, logOnlyPairLines, type MixResult, p99PairLines, schedTable, stolenLine } from '../../../bench/lib/report.ts';

function result(resolver: string, latency: Partial<NonNullable<MixResult['latency']>> | undefined): MixResult {
  const stats = {} as DnsperfStats;
  return { resolver, mix: 'blocked', runs: [stats], stats, expectedShare: 1, expectedRcode: 'NXDOMAIN', ...(latency ? { latency: { p50Ms: 0.05, p99Ms: 0.79, offeredQps: 20_000, stats, ...latency } as NonNullable<MixResult['latency']> } : {}) };
}

describe('gcTable and schedTable', () => {
  const gc = { scavengesPerSecond: 9.2, scavengePauseMedianMs: 0.4, scavengePauseMaxMs: 0.6, fullGcs: 1, fullPauseMaxMs: 3.1, bytesPerQuery: 769 };
  const sched = { windowMs: 4000, waitingMsPerS: 97.7, longWaitsPerS: 3.5, longestWaitMs: 3.53, longRunsPerS: 264.4, longRunsShare: 0.0833, heldBy: [{ name: 'dnsperf', own: false, msPerS: 15.8 }, { name: 'libuv-worker', own: true, msPerS: 2.4 }] };
  const results = [result('dnsward', { gc, sched }), result('dnsmasq', {}), result('unbound', undefined)];

  it('has a row only for runs that carry the part, with the run columns first', () => {
    expect(gcTable(results, true)?.split('\n')).toEqual([
      '| resolver | mix     |   @qps | p99 ms | young GCs/s | pause ms (median) | pause ms (max) | bytes/query | full GCs | full pause ms (max) |',
      '|----------|---------|-------:|-------:|------------:|------------------:|---------------:|------------:|---------:|--------------------:|',
      '| dnsward  | blocked | 20,000 |   0.79 |         9.2 |              0.40 |           0.60 |         769 |        1 |                3.10 |',
    ]);
    const rows = schedTable(results, true)?.split('\n') ?? [];
    expect(rows).toHaveLength(3);
    expect(rows[2]).toBe('| dnsward  | blocked | 20,000 |   0.79 |         97.7 |             3.5 |            3.53 |                264.4 |      8.33% | dnsperf 15.8, libuv-worker (own) 2.4 |');
  });

  it('is absent when no run carries it', () => {
    expect(gcTable([result('dnsmasq', {})], false)).toBeUndefined();
    expect(schedTable([], false)).toBeUndefined();
  });
});

describe('logOnlyPairLines', () => {
  const run = (qps: number, serverPct: number): DnsperfStats => ({ qps, cpu: { serverPct, dnsperfPct: 50, machineBusyPct: 80 } }) as DnsperfStats;
  const mixResult = (resolver: string, mix: string, runs: DnsperfStats[]): MixResult => ({ resolver, mix, runs, stats: runs[0] as DnsperfStats, expectedShare: 1, expectedRcode: 'NOERROR' });

  it("divides each repeat's log-only run by the same repeat's blocked run: the median and range of those ratios", () => {
    // Repeat by repeat: 50/100, 80/80, 90/120 = 0.5, 1.0, 0.75 (median 0.75). The ratio of the medians would be
    // 80/100 = 0.8; runs paired in reverse order 0.9, 1.0, 0.42. Per CPU-second: 0.5 x 2, 1.0, 0.75 x 2/3 = 1.0, 1.0, 0.5.
    const lines = logOnlyPairLines([
      mixResult('dnsward', 'blocked', [run(100, 100), run(80, 100), run(120, 100)]),
      mixResult('dnsward', 'logonly', [run(50, 50), run(80, 100), run(90, 150)]),
      mixResult('dnsmasq', 'blocked', [run(120, 100)]),
    ]);
    expect(lines).toEqual(['dnsward log-only / blocked, paired by repeat (median, range of 3): qps 0.75x (0.50-1.00), queries per CPU-second 1.00x (0.50-1.00)']);
  });

  it('says nothing for a resolver without both mixes', () => {
    expect(logOnlyPairLines([mixResult('dnsward', 'blocked', [run(100, 100)])])).toEqual([]);
    expect(logOnlyPairLines([mixResult('dnsward', 'logonly', [run(100, 100)])])).toEqual([]);
  });
});

describe('p99PairLines', () => {
  const withP99s = (resolver: string, mix: string, p99Runs: number[]): MixResult => ({ ...result(resolver, { p99Runs }), mix });

  it("pairs every resolver's runs with dnsmasq's, and dnsward's with its twin's, run by run", () => {
    // In run order: dnsmasq's last run was its quietest. Run by run dnsward is 0.1 below it five times and 0.6
    // above once (median -0.1); sorted separately they would pair 0.2 with 0.3 and give a median of 0.
    const lines = p99PairLines([
      withP99s('dnsward', 'blocked', [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]),
      withP99s('dnsward-twin', 'blocked', [0.2, 0.3, 0.4, 0.5, 0.6, 0.7]),
      withP99s('dnsmasq', 'blocked', [0.4, 0.5, 0.6, 0.7, 0.8, 0.2]),
      withP99s('dnsward', 'cached', [0.2, 0.2]),
      withP99s('dnsmasq', 'cached', [0.1, 0.3]),
      withP99s('unbound', 'cached', [0.5]),
    ]);
    expect(lines).toEqual([
      'blocked p99, dnsward - dnsmasq, paired by run: median -0.100 ms, 96.9% interval -0.100 to +0.600; dnsward no higher in 5 of 6: not told apart',
      'blocked p99, dnsward-twin - dnsmasq, paired by run: median -0.200 ms, 96.9% interval -0.200 to +0.500; dnsward-twin no higher in 5 of 6: not told apart',
      'blocked p99, dnsward - dnsward-twin, paired by run: median +0.100 ms, 96.9% interval +0.100 to +0.100; dnsward no higher in 0 of 6: higher',
      'cached p99, dnsward - dnsmasq, paired by run: median 0.000 ms, no 95% interval below 6 pairs; dnsward no higher in 1 of 2: not told apart',
    ]);
  });

  it('pairs the quiet runs again when the host stole time in some, and says so when none was quiet', () => {
    const run = (resolver: string, p99Runs: number[], stolenRuns: number[]): MixResult => ({ ...result(resolver, { p99Runs, stolenRuns }), mix: 'blocked' });
    // Runs 3 and 6 had the host's stalls: dnsmasq's 2.0 and 3.0 hide that dnsward is 0.1 higher in every quiet pair.
    // Exactly 2% counts as stolen: run 3 of dnsward.
    const lines = p99PairLines([run('dnsward', [0.3, 0.4, 0.9, 0.3, 0.4, 0.8, 0.3, 0.4], [0, 1.9, 2, 0, 0, 0.5, 0, 0]), run('dnsmasq', [0.2, 0.3, 2.0, 0.2, 0.3, 3.0, 0.2, 0.3], [0, 0, 0, 0, 0, 12, 0, 0])]);
    expect(lines).toEqual([
      'blocked p99, dnsward - dnsmasq, paired by run: median +0.100 ms, 99.2% interval -2.200 to +0.100; dnsward no higher in 2 of 8: not told apart',
      'blocked p99, dnsward - dnsmasq, paired by run over the 6 of 8 pairs with under 2% of the time stolen: median +0.100 ms, 96.9% interval +0.100 to +0.100; dnsward no higher in 0 of 6: higher',
    ]);
    expect(p99PairLines([run('dnsward', [Number.NaN, 0.4], [0, 9]), run('dnsmasq', [0.2, 0.3], [0, 0])])[1]).toBe(
      'blocked p99, dnsward - dnsmasq, paired by run over the 1 of 2 pairs with under 2% of the time stolen: none with a p99',
    );
    const stormy = p99PairLines([run('dnsward', [0.3, 0.4], [5, 9]), run('dnsmasq', [0.2, 0.3], [0, 0])]);
    expect(stormy).toEqual(['blocked p99, dnsward - dnsmasq, paired by run: median +0.100 ms, no 95% interval below 6 pairs; dnsward no higher in 0 of 2: not told apart', 'blocked p99, dnsward - dnsmasq, paired by run over the 0 of 2 pairs with under 2% of the time stolen: none']);
  });

  it('says nothing without repeated latency runs or without a partner', () => {
    expect(p99PairLines([withP99s('dnsward', 'blocked', [0.3]), withP99s('dnsmasq', 'blocked', [0.2])])).toEqual([]);
    expect(p99PairLines([withP99s('dnsward', 'blocked', [0.3, 0.4]), withP99s('unbound', 'blocked', [0.2, 0.3])])).toEqual([]);
  });
});

describe('stolenLine', () => {
  it("sums up every throughput and latency run's stolen share, and says nothing when none was measured", () => {
    const runs = (stolen: number[]): DnsperfStats[] => stolen.map((machineStolenPct) => ({ cpu: { serverPct: 90, dnsperfPct: 60, machineBusyPct: 80, machineStolenPct } }) as DnsperfStats);
    const a = { ...result('dnsward', { p99Runs: [0.2, 0.3, 0.4], stolenRuns: [0.1, 7, 0.3] }), runs: runs([0.2, 5, 0.1]) };
    const b = { ...result('dnsmasq', { p99Runs: [0.1, 0.2, 0.3], stolenRuns: [0, 12.5, 0.4] }), runs: runs([0.3]) };
    expect(stolenLine([a, b])).toBe('time stolen by the host (VM steal, /proc/stat) per run: throughput runs median 0.2%, max 5% (1 of 4 runs at 5% or more); latency runs median 0.3%, max 12.5% (2 of 6 runs at 5% or more)');
    expect(stolenLine([result('dnsward', undefined)])).toBeUndefined();
  });
});

describe('fixedRateCpuLines', () => {
  type CpuRun = NonNullable<NonNullable<MixResult['latency']>['cpuRuns']>[number];
  const withCpu = (resolver: string, fullUs: number | undefined, cpuRuns: CpuRun[] | undefined): MixResult => {
    const stats = { qps: 100_000, cpuUs: fullUs } as DnsperfStats;
    return { ...result(resolver, cpuRuns === undefined ? undefined : { cpuRuns }), runs: [stats], stats };
  };
  const header = 'CPU per answered query, all threads (us; the median latency run by this figure, its kernel share, and its split by thread where several were busy; the median full-rate run):';

  it("sets the median fixed-rate run's CPU per query beside the full-rate run's, and their ratio", () => {
    // Medians: 12 of 14, 12, 11.5 (the run of 13 has no figure and is left out); 6 of 6, 5, 7, 8 (the lower middle of 4).
    const lines = fixedRateCpuLines([
      withCpu('dnsward', 9, [{ cpuUs: 14 }, { cpuUs: 12 }, {}, { cpuUs: 11.5 }]),
      withCpu('dnsmasq', 4, [{ cpuUs: 6 }, { cpuUs: 5 }, { cpuUs: 7 }, { cpuUs: 8 }]),
      withCpu('kresd', 10, undefined),
    ]);
    expect(lines).toEqual([header, '  dnsward blocked: 12.00 at 20,000 qps, 9.00 at full rate (1.33x)', '  dnsmasq blocked: 6.00 at 20,000 qps, 4.00 at full rate (1.50x)']);
  });

  it("splits that run's CPU by thread, busiest first, where more than one thread was busy", () => {
    const runs: CpuRun[] = [
      { cpuUs: 30, threadUs: { MainThread: 29.9 } },
      { cpuUs: 26, threadUs: { 'libuv-worker': 5.1, V8Worker: 0.04, MainThread: 20.9 } },
      { cpuUs: 20, threadUs: { MainThread: 19.9 } },
    ];
    expect(fixedRateCpuLines([withCpu('dnsward', 9, runs)])[1]).toBe('  dnsward blocked: 26.00 (MainThread 20.90, libuv-worker 5.10) at 20,000 qps, 9.00 at full rate (2.89x)');
    // With the kernel's share of that run and of the full-rate run.
    const counted = withCpu('dnsward', 9, runs.map((c, i) => ({ ...c, systemUs: [12, 11.2, 9][i] })));
    counted.stats.systemUs = 3.5;
    expect(fixedRateCpuLines([counted])[1]).toBe('  dnsward blocked: 26.00 (kernel 11.20; MainThread 20.90, libuv-worker 5.10) at 20,000 qps, 9.00 (kernel 3.50) at full rate (2.89x)');
    // One thread busy (the others under 0.05 us): no split.
    expect(fixedRateCpuLines([withCpu('dnsward', 9, [{ cpuUs: 20, threadUs: { MainThread: 19.9, V8Worker: 0.04 } }])])[1]).toBe('  dnsward blocked: 20.00 at 20,000 qps, 9.00 at full rate (2.22x)');
  });

  it('says nothing without fixed-rate runs, or without a full-rate CPU figure', () => {
    expect(fixedRateCpuLines([withCpu('dnsward', 9, undefined)])).toEqual([]);
    expect(fixedRateCpuLines([withCpu('dnsward', 9, [{}])])).toEqual([]);
    expect(fixedRateCpuLines([withCpu('dnsward', 0, [{ cpuUs: 12 }])])).toEqual([]);
    expect(fixedRateCpuLines([withCpu('dnsward', undefined, [{ cpuUs: 12 }])])).toEqual([]);
  });
});
