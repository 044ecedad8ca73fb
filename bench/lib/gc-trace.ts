// What V8's garbage collector did in dnsward during a fixed-rate latency run (`npm run bench -- --gc-trace`),
// read from the lines `node --trace-gc-nvp` prints: young-generation collections (scavenges) and full ones, their
// pauses, and the bytes the JavaScript allocated per answered query. At a steady rate the young-generation pauses
// recur with the allocation: they are what a p99 is made of (docs/BENCHMARKS.md, stops 25 and 26).
import { open } from 'node:fs/promises';

export interface GcWindow {
  scavenges: number;
  scavengePausesMs: number[];
  /** Every other collection (mark-compact): the old generation filled. */
  fullPausesMs: number[];
  /** Bytes allocated between collections, summed over the window. */
  allocatedBytes: number;
}

export interface GcSummary {
  scavengesPerSecond: number;
  scavengePauseMedianMs: number;
  scavengePauseMaxMs: number;
  fullGcs: number;
  fullPauseMaxMs: number;
  bytesPerQuery: number;
}

const NVP_LINE = /^\[\d+:(0x[0-9a-f]+)(?::\d+)?\]\s+\d+ ms: pause=([0-9.]+) .*? gc=(\S+)/;

/** One collection as a --trace-gc-nvp line reports it. */
export interface GcLine {
  /** The isolate (a thread's heap: the main thread's, or a worker's) it collected. */
  isolate: string;
  pauseMs: number;
  /** `s`: a scavenge (young generation); anything else is a full collection. */
  kind: string;
  allocatedBytes: number;
  /** Time V8's helper threads spent in a scavenge's parallel phase (`background.scavenge.parallel`); undefined where the line has none. */
  helperMs: number | undefined;
}

/** "[pid:0xisolate:0]   1234 ms: pause=0.4 mutator=... gc=s ... allocated=N ...", or undefined for any other line. */
export function parseGcLine(line: string): GcLine | undefined {
  const m = NVP_LINE.exec(line);
  if (m === null) return undefined;
  const helper = / background\.scavenge\.parallel=([0-9.]+)/.exec(line)?.[1];
  return {
    isolate: m[1] as string,
    pauseMs: Number(m[2]),
    kind: m[3] as string,
    allocatedBytes: Number(/ allocated=(\d+)/.exec(line)?.[1] ?? 0),
    helperMs: helper === undefined ? undefined : Number(helper),
  };
}

/** The GC lines of `text` (other lines, dnsward's own output, are skipped). */
export function parseGcTrace(text: string): GcWindow {
  const window: GcWindow = { scavenges: 0, scavengePausesMs: [], fullPausesMs: [], allocatedBytes: 0 };
  for (const line of text.split('\n')) {
    const gc = parseGcLine(line);
    if (gc === undefined) continue;
    window.allocatedBytes += gc.allocatedBytes;
    if (gc.kind === 's') {
      window.scavenges++;
      window.scavengePausesMs.push(gc.pauseMs);
    } else {
      window.fullPausesMs.push(gc.pauseMs);
    }
  }
  return window;
}

export function summarizeGc(window: GcWindow, seconds: number, queries: number): GcSummary {
  const sorted = [...window.scavengePausesMs].sort((a, b) => a - b);
  return {
    scavengesPerSecond: window.scavenges / seconds,
    scavengePauseMedianMs: sorted[Math.floor(sorted.length / 2)] ?? 0,
    scavengePauseMaxMs: sorted.at(-1) ?? 0,
    fullGcs: window.fullPausesMs.length,
    fullPauseMaxMs: Math.max(0, ...window.fullPausesMs),
    bytesPerQuery: queries > 0 ? window.allocatedBytes / queries : 0,
  };
}

/** The bytes of `file` from `offset` on, as text (what a run added to the trace). */
export async function readFrom(file: string, offset: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.max(0, size - offset);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, offset);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}
