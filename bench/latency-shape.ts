// `node bench/latency-shape.ts [--qps N] [--over MS] FILE...`: how the slow answers of a latency
// run are spread, for the dnsperf -v files that `npm run bench -- --keep` leaves in its temp dir
// (latency-<resolver>-<mix>-<n>.txt). dnsperf prints answers as they arrive, so a run of
// consecutive slow answers is a stall (every query waiting behind one pause of the server or of
// the machine), and a slow answer alone is one query's own delay. A run of N answers at the
// offered rate R lasted about N / R seconds: 20 answers at 20k qps, about 1 ms.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = `usage: node bench/latency-shape.ts [--qps N] [--over MS] FILE...
  --qps N     the offered rate of the run (default 20000): turns answer counts into time
  --over MS   also count runs of answers slower than MS (default 0.2); the run's own p99 is always used
`;

function options(): { qps: number; over: number; files: string[] } {
  try {
    const { values, positionals } = parseArgs({ allowPositionals: true, options: { qps: { type: 'string', default: '20000' }, over: { type: 'string', default: '0.2' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    const qps = Number(values.qps);
    const over = Number(values.over);
    if (!(qps > 0) || !(over > 0) || positionals.length === 0) throw new Error('needs --qps and --over above 0 and at least one FILE');
    return { qps, over, files: positionals };
  } catch (err) {
    process.stderr.write(`latency-shape: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(2);
  }
}

/** Latencies in ms, in the order the answers arrived (timeouts left out). */
function readLatencies(file: string): Float64Array {
  const out: number[] = [];
  for (const line of readFileSync(file, 'latin1').split('\n')) {
    if (!line.startsWith('> ') || line.startsWith('> T ')) continue;
    const seconds = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(seconds)) out.push(seconds * 1000);
  }
  return Float64Array.from(out);
}

/** Lengths of the runs of consecutive answers slower than `threshold`. */
function slowRuns(latencies: Float64Array, threshold: number): number[] {
  const runs: number[] = [];
  let run = 0;
  for (const ms of latencies) {
    if (ms > threshold) run++;
    else if (run > 0) {
      runs.push(run);
      run = 0;
    }
  }
  if (run > 0) runs.push(run);
  return runs;
}

const BUCKETS: [number, number][] = [[1, 1], [2, 3], [4, 10], [11, 50], [51, 200], [201, Number.POSITIVE_INFINITY]];

function describeRuns(runs: number[], threshold: number, seconds: number, qps: number): string {
  const slow = runs.reduce((a, b) => a + b, 0);
  if (slow === 0) return `  over ${threshold.toFixed(3)} ms: none`;
  const shares = BUCKETS.map(([lo, hi]) => {
    const inBucket = runs.filter((r) => r >= lo && r <= hi).reduce((a, b) => a + b, 0);
    const ms = (n: number): string => ((n / qps) * 1000).toFixed(n / qps < 0.001 ? 2 : 1);
    return `${lo === hi ? lo : hi === Number.POSITIVE_INFINITY ? `${lo}+` : `${lo}-${hi}`} (${hi === Number.POSITIVE_INFINITY ? `${ms(lo)}+` : ms(hi)} ms) ${((100 * inBucket) / slow).toFixed(0)}%`;
  });
  const stalls = runs.filter((r) => r >= 4).length;
  return `  over ${threshold.toFixed(3)} ms: ${slow} answers in ${runs.length} runs; ${(stalls / seconds).toFixed(1)} runs of 4 or more a second; answers by run length: ${shares.join(', ')}`;
}

const { qps, over, files } = options();
for (const file of files) {
  const latencies = readLatencies(file);
  const n = latencies.length;
  if (n === 0) {
    process.stdout.write(`${file}: no answers\n`);
    continue;
  }
  const sorted = Float64Array.from(latencies).sort();
  const pct = (p: number): number => sorted[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)] ?? Number.NaN;
  const seconds = n / qps;
  process.stdout.write(`${file}: ${n} answers (~${seconds.toFixed(1)} s), p50 ${pct(50).toFixed(3)} ms, p99 ${pct(99).toFixed(3)}, p99.9 ${pct(99.9).toFixed(3)}, max ${(sorted[n - 1] ?? Number.NaN).toFixed(2)}\n`);
  for (const threshold of [over, pct(99)]) process.stdout.write(`${describeRuns(slowRuns(latencies, threshold), threshold, seconds, qps)}\n`);
}
