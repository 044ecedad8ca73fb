// `node bench/profile-summary.ts FILE.cpuprofile [--top N]`: self time by function, over the
// busy part of a profile only (the seconds in which the thread was idle less than half the
// time: the load, not start-up or the quiet after it). For the profiles that
// `npm run bench -- --node-arg=--cpu-prof --keep` leaves in the temp dir (docs/BENCHMARKS.md).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
const file = positionals[0];
if (!file) {
  process.stderr.write('usage: node bench/profile-summary.ts FILE.cpuprofile [--top N]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const label = (id: number): string => {
  const f = nodes.get(id)?.callFrame;
  if (!f) return '?';
  const where = f.url ? ` ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'}${where}`;
};

// Bucket samples by second; keep the seconds that were mostly busy.
const buckets = new Map<number, { idle: number; total: number; samples: [number, number][] }>();
let t = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  t += dt;
  const second = Math.floor(t / 1e6);
  const b = buckets.get(second) ?? { idle: 0, total: 0, samples: [] };
  b.total += dt;
  if (label(id).startsWith('(idle)')) b.idle += dt;
  b.samples.push([id, dt]);
  buckets.set(second, b);
});
const busy = [...buckets.values()].filter((b) => b.idle < b.total / 2);
const self = new Map<string, number>();
let total = 0;
for (const b of busy) {
  for (const [id, dt] of b.samples) {
    const key = label(id);
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
}
process.stdout.write(`${file}: ${busy.length} busy seconds of ${buckets.size}\n`);
for (const [key, time] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
  process.stdout.write(`${((100 * time) / total).toFixed(1).padStart(5)} %  ${key}\n`);
}
