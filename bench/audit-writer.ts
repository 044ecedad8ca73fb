// How fast the block-log writer goes: the cost of record() on the DNS hot path, and the
// events per second the writer sustains end to end (encode, hash chain, append, fsync),
// with the default settings. A script, not a test:
//   node bench/audit-writer.ts [events=500000]
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createPseudonymizer } from '../src/audit/pseudonym.ts';
import type { Decision } from '../src/audit/types.ts';
import { AuditWriter } from '../src/audit/writer.ts';
import { AUDIT_DEFAULTS } from '../src/config/sections/audit.ts';

export interface WriterBenchResult {
  events: number;
  recordNs: number;
  eventsPerSecond: number;
  bytesPerEvent: number;
  seconds: number;
}

/** The i-th decision of a realistic mix: half blocked (service), half logged and pseudonymised (personal), 1000 devices, 600 rules. */
function decision(i: number, ts: number): Decision {
  const personal = i % 2 === 1;
  return {
    ts,
    segment: personal ? 'personal' : 'service',
    client: personal ? `10.20.${(i >> 8) & 3}.${i & 255}` : `10.10.0.${i & 255}`,
    pseudonymize: personal,
    qname: `v${i % 977}-webapp.api${i % 13}.tiktokv.com`,
    qtype: i % 3 === 0 ? 28 : 1,
    action: personal ? 'logged' : 'blocked',
    list: 'tiktok',
    rule: `rule${i % 600}.tiktokv.com`,
    listVersion: '2026.11.28.1-3f2a9c1b',
    response: personal ? 'answer' : 'nxdomain',
    transport: 'udp',
  };
}

export async function benchWriter(events: number, options: { fsync?: boolean } = {}): Promise<WriterBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'dnsward-bench-audit-'));
  try {
    const writer = await AuditWriter.open({
      dir,
      instance: 'bench',
      pseudonymize: createPseudonymizer(Buffer.alloc(32, 1)),
      signingKey: generateKeyPairSync('ed25519').privateKey,
      flushIntervalMs: AUDIT_DEFAULTS.flush_interval_ms,
      maxBatch: AUDIT_DEFAULTS.max_batch,
      maxBuffered: Math.max(AUDIT_DEFAULTS.max_buffered, events),
      maxFileBytes: AUDIT_DEFAULTS.max_file_mb * 1024 * 1024,
      retentionDays: 0,
      checkpointIntervalMs: AUDIT_DEFAULTS.checkpoint_interval_s * 1000,
      fsync: options.fsync ?? AUDIT_DEFAULTS.fsync,
      logger: pino({ level: 'silent' }),
    });
    // Decisions arrive in slices of one batch (as from a busy socket), made on the fly like the
    // resolver makes them; the writer runs between slices.
    const start = process.hrtime.bigint();
    const slice = AUDIT_DEFAULTS.max_batch;
    for (let i = 0; i < events; i += slice) {
      const ts = Date.now();
      const end = Math.min(events, i + slice);
      for (let j = i; j < end; j++) writer.record(decision(j, ts));
      await new Promise((r) => setImmediate(r));
    }
    await writer.close();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const stats = writer.stats();
    if (stats.written !== events || stats.dropped !== 0) throw new Error(`writer lost events: ${JSON.stringify(stats)}`);
    let bytes = 0;
    for (const name of await readdir(dir)) if (name.endsWith('.jsonl') && !name.includes('checkpoints')) bytes += (await stat(join(dir, name))).size;
    return { events, recordNs: await recordCost(), eventsPerSecond: events / seconds, bytesPerEvent: bytes / events, seconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** ns per record() call alone: the price the DNS hot path pays per decision. */
async function recordCost(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'dnsward-bench-audit-'));
  const writer = await AuditWriter.open({
    dir,
    instance: 'bench',
    pseudonymize: (a) => a,
    signingKey: generateKeyPairSync('ed25519').privateKey,
    flushIntervalMs: 1000,
    maxBatch: 1 << 30,
    maxBuffered: 10_000_000,
    maxFileBytes: 1 << 30,
    retentionDays: 0,
    checkpointIntervalMs: 3_600_000,
    fsync: false,
    logger: pino({ level: 'silent' }),
  });
  const pool = Array.from({ length: 4096 }, (_, i) => decision(i, Date.now()));
  const n = 200_000;
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) writer.record(pool[i & 4095] as Decision);
  const ns = Number(process.hrtime.bigint() - t) / n;
  await writer.close();
  await rm(dir, { recursive: true, force: true });
  return ns;
}

export function formatWriterResult(r: WriterBenchResult, label: string): string {
  return (
    `${label}: ${Math.round(r.eventsPerSecond).toLocaleString('en')} events/s sustained ` +
    `(${r.events.toLocaleString('en')} events in ${r.seconds.toFixed(2)} s, ${Math.round(r.bytesPerEvent)} bytes/event on disk), ` +
    `record() ${r.recordNs.toFixed(0)} ns/event on the query path`
  );
}

if (import.meta.main) {
  const events = Number(process.argv[2] ?? 500_000);
  await benchWriter(20_000); // warm-up (JIT)
  console.log(formatWriterResult(await benchWriter(events), 'audit writer (fsync per batch, defaults)'));
  console.log(formatWriterResult(await benchWriter(events, { fsync: false }), 'audit writer (no fsync)'));
}
