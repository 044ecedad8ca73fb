// Plain-text tables for the terminal (and for pasting into docs/BENCHMARKS.md as Markdown).
import type { DnsperfStats, Latency } from './dnsperf.ts';
import type { GcSummary } from './gc-trace.ts';
import { INTERVAL_LEVEL, pairedDifference, verdict } from './paired.ts';
import type { SchedSummary } from './sched-trace.ts';

export interface MixResult {
  resolver: string;
  mix: string;
  /** Every repeat's run, in repeat order; `stats` is the one with the median qps. */
  runs: DnsperfStats[];
  stats: DnsperfStats;
  /** Fraction of answers with the expected rcode (NXDOMAIN for blocked, NOERROR otherwise). */
  expectedShare: number;
  expectedRcode: string;
  /**
   * The latency run with the median p99 (its `stolenPct`: the share of the machine's time stolen by the host
   * during it); `p99Runs`, `stolenRuns` and `cpuRuns` hold every run's p99, stolen share and the server's CPU per
   * answered query (all its threads, and by thread), in run order, index by index.
   */
  latency?: Latency & { offeredQps: number; stats: DnsperfStats; p99Runs?: number[]; stolenRuns?: number[]; cpuRuns?: Pick<DnsperfStats, 'cpuUs' | 'systemUs' | 'threadUs'>[]; gc?: GcSummary; sched?: SchedSummary; stolenPct?: number };
}

const fmtInt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const fmtMs = (n: number | undefined): string => (n !== undefined && Number.isFinite(n) ? n.toFixed(2) : '-');

export function table(headers: string[], rows: string[][], markdown: boolean): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const right = headers.map((_, i) => i > 1);
  const cell = (s: string, i: number): string => (right[i] ? s.padStart(widths[i] ?? 0) : s.padEnd(widths[i] ?? 0));
  const line = (cells: string[]): string => (markdown ? `| ${cells.map(cell).join(' | ')} |` : cells.map(cell).join('  '));
  const sep = markdown ? `|${widths.map((w, i) => (right[i] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|` : widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(headers), sep, ...rows.map(line)].join('\n');
}

/** `baseline`: the results holding dnsmasq's rates (default: `results`); blocked1m is compared with dnsmasq's blocked. */
export function resultsTable(results: MixResult[], markdown: boolean, baseline: MixResult[] = results): string {
  const base = new Map<string, number>();
  for (const r of baseline) if (r.resolver === 'dnsmasq') base.set(r.mix, r.stats.qps);
  // Knot Resolver, the fastest peer: a second ratio column when it ran.
  const kresd = new Map<string, number>();
  for (const r of baseline) if (r.resolver === 'kresd') kresd.set(r.mix, r.stats.qps);
  const withP99Range = results.some((r) => (r.latency?.p99Runs?.length ?? 0) > 1);
  const blockedDnsward = results.find((r) => r.resolver.startsWith('dnsward') && r.mix === 'blocked')?.stats.qps;
  const rows = results.map((r) => {
    const b = r.mix === 'logonly' ? blockedDnsward : base.get(r.mix === 'blocked1m' ? 'blocked' : r.mix);
    const ratio = b ? `${(r.stats.qps / b).toFixed(2)}x${r.mix === 'logonly' ? ' blk' : ''}` : '-';
    const k = r.mix === 'logonly' ? undefined : kresd.get(r.mix === 'blocked1m' ? 'blocked' : r.mix);
    const kratio = k ? `${(r.stats.qps / k).toFixed(2)}x` : '-';
    const check = r.expectedShare >= 0.999 ? 'ok' : `${(r.expectedShare * 100).toFixed(1)}% ${r.expectedRcode}`;
    const qpsRuns = r.runs.map((s) => s.qps);
    const spread = qpsRuns.length > 1 ? `${fmtInt(Math.min(...qpsRuns))}-${fmtInt(Math.max(...qpsRuns))}` : '';
    const p99s = r.latency?.p99Runs ?? [];
    const p99Spread = p99s.length > 1 ? `${fmtMs(Math.min(...p99s))}-${fmtMs(Math.max(...p99s))}` : '';
    return [
      r.resolver,
      r.mix,
      fmtInt(r.stats.qps),
      ratio,
      ...(kresd.size > 0 ? [kratio] : []),
      fmtInt(r.stats.lost),
      r.stats.cpu ? `${Math.round(r.stats.cpu.serverPct)}%` : '-',
      r.stats.cpu && r.stats.cpu.serverPct > 0 ? fmtInt(r.stats.qps / (r.stats.cpu.serverPct / 100)) : '-',
      r.stats.cpu ? `${Math.round(r.stats.cpu.dnsperfPct)}%` : '-',
      r.stats.cpu ? `${Math.round(r.stats.cpu.machineBusyPct)}%` : '-',
      fmtMs(r.stats.avgMs),
      fmtMs(r.stats.maxMs),
      r.latency ? fmtInt(r.latency.offeredQps) : '-',
      fmtMs(r.latency?.p50Ms),
      fmtMs(r.latency?.p99Ms),
      r.latency ? fmtInt(r.latency.stats.lost) : '-',
      check,
      spread,
      ...(withP99Range ? [p99Spread] : []),
    ];
  });
  return table(['resolver', 'mix', 'qps', 'x dnsmasq', ...(kresd.size > 0 ? ['x kresd'] : []), 'lost', 'cpu', 'q/cpu-s', 'perf cpu', 'busy', 'avg ms', 'max ms', '@qps', 'p50 ms', 'p99 ms', 'lost@', 'rcodes', 'qps range', ...(withP99Range ? ['p99 range'] : [])], rows, markdown);
}

/**
 * Log-only against blocked, repeat by repeat, for each dnsward that ran both: the two runs of one repeat are
 * close in time (within one round of the mixes and resolvers), so their ratio is steadier than the ratio of two
 * medians. Queries per CPU-second as well as qps, since on a machine where dnsperf sets the pace qps alone hides
 * the server's cost.
 */
export function logOnlyPairLines(results: MixResult[]): string[] {
  const lines: string[] = [];
  const find = (resolver: string, mix: string): DnsperfStats[] => results.find((r) => r.resolver === resolver && r.mix === mix)?.runs ?? [];
  const perCpu = (s: DnsperfStats): number | undefined => (s.cpu && s.cpu.serverPct > 0 ? s.qps / (s.cpu.serverPct / 100) : undefined);
  const span = (values: number[]): string => `${median(values).toFixed(2)}x${values.length > 1 ? ` (${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)})` : ''}`;
  for (const resolver of new Set(results.filter((r) => r.mix === 'logonly').map((r) => r.resolver))) {
    const blocked = find(resolver, 'blocked');
    const logonly = find(resolver, 'logonly');
    const pairs = Math.min(blocked.length, logonly.length);
    if (pairs === 0) continue;
    const qps: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const b = blocked[i] as DnsperfStats;
      const l = logonly[i] as DnsperfStats;
      if (b.qps > 0) qps.push(l.qps / b.qps);
      const bc = perCpu(b);
      const lc = perCpu(l);
      if (bc !== undefined && lc !== undefined) cpu.push(lc / bc);
    }
    if (qps.length === 0) continue;
    lines.push(`${resolver} log-only / blocked, paired by repeat (median, range of ${qps.length}): qps ${span(qps)}${cpu.length > 0 ? `, queries per CPU-second ${span(cpu)}` : ''}`);
  }
  return lines;
}

/** The middle value (the lower of the two middle ones for an even count); NaN for none. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
}

/**
 * The share of the machine's time the host stole (VM steal) in every throughput and latency run of these
 * results: median, maximum and how many runs lost 5% or more. Undefined when no run was measured for it.
 */
export function stolenLine(results: MixResult[]): string | undefined {
  const summary = (label: string, v: number[]): string => (v.length === 0 ? '' : `${label} median ${median(v)}%, max ${Math.max(...v)}% (${v.filter((x) => x >= 5).length} of ${v.length} runs at 5% or more)`);
  const throughput = results.flatMap((r) => r.runs.flatMap((s) => (s.cpu === undefined ? [] : [s.cpu.machineStolenPct])));
  const latency = results.flatMap((r) => r.latency?.stolenRuns ?? []);
  const parts = [summary('throughput runs', throughput), summary('latency runs', latency)].filter(Boolean);
  return parts.length === 0 ? undefined : `time stolen by the host (VM steal, /proc/stat) per run: ${parts.join('; ')}`;
}

/**
 * Each server's CPU per answered query, all its threads, at the latency runs' fixed rate (the median over those
 * runs, with that run's kernel share and, for a server with more than one busy thread, its split by thread) beside
 * its median full-rate run's, and their ratio. At a fixed rate a server sleeps between datagrams and its batches are small; the ratio
 * holds what that costs it, with its fixed costs per second spread over fewer queries. CPU time is counted in
 * ticks of 10 ms: at 20k qps for 5 s, one tick is 0.1 us a query.
 */
export function fixedRateCpuLines(results: MixResult[]): string[] {
  const rows = results.flatMap((r) => {
    const runs = (r.latency?.cpuRuns ?? []).filter((c) => c.cpuUs !== undefined && Number.isFinite(c.cpuUs));
    const atRate = median(runs.map((c) => c.cpuUs as number));
    const full = r.stats.cpuUs;
    if (!Number.isFinite(atRate) || full === undefined || !(full > 0) || r.latency === undefined) return [];
    const reported = runs.find((c) => c.cpuUs === atRate);
    const threads = Object.entries(reported?.threadUs ?? {})
      .filter(([, us]) => us >= 0.05)
      .sort((a, b) => b[1] - a[1]);
    // "25.00 (kernel 12.10; MainThread 24.60, libuv-worker 0.40)": what the figure holds, where it was counted.
    const detail = (us: number, systemUs: number | undefined, byThread: string[]): string => {
      const parts = [...(systemUs === undefined ? [] : [`kernel ${systemUs.toFixed(2)}`]), ...(byThread.length > 1 ? [byThread.join(', ')] : [])];
      return `${us.toFixed(2)}${parts.length === 0 ? '' : ` (${parts.join('; ')})`}`;
    };
    const byThread = threads.map(([name, us]) => `${name} ${us.toFixed(2)}`);
    return [`  ${r.resolver} ${r.mix}: ${detail(atRate, reported?.systemUs, byThread)} at ${fmtInt(r.latency.offeredQps)} qps, ${detail(full, r.stats.systemUs, [])} at full rate (${(atRate / full).toFixed(2)}x)`];
  });
  return rows.length === 0 ? [] : ['CPU per answered query, all threads (us; the median latency run by this figure, its kernel share, and its split by thread where several were busy; the median full-rate run):', ...rows];
}

/** Below this share of the machine's time stolen by the host (VM steal), a latency run counts as quiet. */
export const STOLEN_QUIET_PCT = 2;

/**
 * The p99s of interleaved latency runs, paired by run: every resolver against dnsmasq, and dnsward against each
 * of its variants (dnsward-twin, dnsward-redis, ...). A pair met nearly the same machine, so the median of the
 * differences, with its sign-test interval, tells a gap from the machine's run-to-run spread (see paired.ts).
 * Where some runs had time stolen by the host, a second line pairs only the quiet ones.
 */
export function p99PairLines(results: MixResult[]): string[] {
  const lines: string[] = [];
  const signed = (ms: number): string => {
    const digits = Math.abs(ms).toFixed(3);
    return digits === '0.000' ? digits : `${ms > 0 ? '+' : '-'}${digits}`;
  };
  const line = (mix: string, a: MixResult, b: MixResult, aRuns: number[], bRuns: number[], over: string): void => {
    const d = pairedDifference(aRuns, bRuns);
    if (d === undefined) {
      // The quiet pairs' line says there were none with a p99 rather than leave the reader guessing.
      if (over !== '') lines.push(`${mix} p99, ${a.resolver} - ${b.resolver}, paired by run${over}: none with a p99`);
      return;
    }
    const interval = d.interval === undefined ? `no ${100 * INTERVAL_LEVEL}% interval below 6 pairs` : `${(100 * d.interval.coverage).toFixed(1)}% interval ${signed(d.interval.low)} to ${signed(d.interval.high)}`;
    const skipped = d.skipped > 0 ? ` (${d.skipped} pair${d.skipped === 1 ? '' : 's'} without a p99 left out)` : '';
    lines.push(`${mix} p99, ${a.resolver} - ${b.resolver}, paired by run${over}: median ${signed(d.median)} ms, ${interval}; ${a.resolver} no higher in ${d.aNoHigher} of ${d.n}${skipped}: ${verdict(d)}`);
  };
  for (const mix of new Set(results.map((r) => r.mix))) {
    const ofMix = results.filter((r) => r.mix === mix && (r.latency?.p99Runs?.length ?? 0) > 1);
    const pairs: [MixResult, MixResult][] = [];
    const dnsmasq = ofMix.find((r) => r.resolver === 'dnsmasq');
    const dnsward = ofMix.find((r) => r.resolver === 'dnsward');
    for (const r of ofMix) {
      if (dnsmasq !== undefined && r !== dnsmasq) pairs.push([r, dnsmasq]);
      if (dnsward !== undefined && r !== dnsward && r.resolver.startsWith('dnsward')) pairs.push([dnsward, r]);
    }
    for (const [a, b] of pairs) {
      const aRuns = a.latency?.p99Runs ?? [];
      const bRuns = b.latency?.p99Runs ?? [];
      if (aRuns.length !== bRuns.length) continue;
      line(mix, a, b, aRuns, bRuns, '');
      // On a VM whose host takes its CPUs, a run with time stolen has the host's stalls in its p99: the same
      // pairs again without those runs, when some were.
      const aStolen = a.latency?.stolenRuns ?? [];
      const bStolen = b.latency?.stolenRuns ?? [];
      const quiet = aRuns.map((_, i) => (aStolen[i] ?? 0) < STOLEN_QUIET_PCT && (bStolen[i] ?? 0) < STOLEN_QUIET_PCT);
      const kept = quiet.filter(Boolean).length;
      if (kept < aRuns.length) {
        const over = ` over the ${kept} of ${aRuns.length} pairs with under ${STOLEN_QUIET_PCT}% of the time stolen`;
        if (kept === 0) lines.push(`${mix} p99, ${a.resolver} - ${b.resolver}, paired by run${over}: none`);
        else line(mix, a, b, aRuns.filter((_, i) => quiet[i]), bRuns.filter((_, i) => quiet[i]), over);
      }
    }
  }
  return lines;
}

type LatencyRun = NonNullable<MixResult['latency']>;

/** A table of one row per result whose reported latency run carries `part` (undefined when none does). */
function latencyTable<K extends 'gc' | 'sched'>(results: MixResult[], part: K, headers: string[], cells: (part: NonNullable<LatencyRun[K]>) => string[], markdown: boolean): string | undefined {
  const rows: string[][] = [];
  for (const r of results) {
    const p = r.latency?.[part];
    if (r.latency !== undefined && p !== undefined) rows.push([r.resolver, r.mix, fmtInt(r.latency.offeredQps), fmtMs(r.latency.p99Ms), ...cells(p as NonNullable<LatencyRun[K]>)]);
  }
  return rows.length === 0 ? undefined : table(['resolver', 'mix', '@qps', 'p99 ms', ...headers], rows, markdown);
}

/** `--gc-trace`: what V8's collector did in each dnsward during its reported latency run (the one with the median p99). */
export function gcTable(results: MixResult[], markdown: boolean): string | undefined {
  return latencyTable(
    results,
    'gc',
    ['young GCs/s', 'pause ms (median)', 'pause ms (max)', 'bytes/query', 'full GCs', 'full pause ms (max)'],
    (gc) => [gc.scavengesPerSecond.toFixed(1), fmtMs(gc.scavengePauseMedianMs), fmtMs(gc.scavengePauseMaxMs), fmtInt(gc.bytesPerQuery), String(gc.fullGcs), gc.fullGcs > 0 ? fmtMs(gc.fullPauseMaxMs) : '-'],
    markdown,
  );
}

/** `--sched-trace`: the DNS thread's waits in each reported latency run, and the threads that held its CPU meanwhile. */
export function schedTable(results: MixResult[], markdown: boolean): string | undefined {
  return latencyTable(
    results,
    'sched',
    ['waiting ms/s', 'waits >0.5 ms/s', 'longest wait ms', 'own slices >0.2 ms/s', 'their time', 'held its CPU (ms/s)'],
    (s) => {
      const held = s.heldBy
        .slice(0, 4)
        .map((h) => `${h.name}${h.own ? ' (own)' : ''} ${h.msPerS.toFixed(1)}`)
        .join(', ');
      return [s.waitingMsPerS.toFixed(1), s.longWaitsPerS.toFixed(1), fmtMs(s.longestWaitMs), s.longRunsPerS.toFixed(1), `${(100 * s.longRunsShare).toFixed(2)}%`, held || '-'];
    },
    markdown,
  );
}
