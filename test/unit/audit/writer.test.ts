import { readdir, readFile, stat, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { type EventBody, GENESIS, encodeEvent, eventHash } from '../../../src/audit/event.ts';
import { rawPublicKey } from '../../../src/audit/keys.ts';
import { MAX_SEALED_EVENTS, type Seal, checkSealSignature } from '../../../src/audit/seal.ts';
import { verifyAuditPath } from '../../../src/audit/verify.ts';
import { EventAppender, MAX_WRITEV_BYTES } from '../../../src/audit/appender.ts';
import { AuditWriter } from '../../../src/audit/writer.ts';
import { captureLogs } from '../../helpers/capture-logs.ts';
import { KEY, decision, tempDir, writeLog, writerOptions } from './helpers.ts';

const FILE = 'audit-a-2026-11-28-000.jsonl';

async function allLines(path: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function seals(path: string): Promise<Seal[]> {
  return (await allLines(path)).filter((r) => r.type === 'seal') as unknown as Seal[];
}

function body(i: number): EventBody {
  const d = decision(i);
  return { ts: new Date(d.ts).toISOString(), instance: 'a', segment: d.segment, client: d.client, qname: d.qname, qtype: 'A', action: d.action, list: d.list, rule: d.rule, list_version: d.listVersion, response: d.response };
}

/** The events of a file (seal lines left out). */
async function lines(path: string): Promise<Record<string, unknown>[]> {
  return (await allLines(path)).filter((r) => !('type' in r));
}

/** Records `perTurn` decisions a turn (setImmediate) for `ms` or until `max`, all in one file's day; returns how many. */
async function stream(writer: AuditWriter, o: { ms: number; perTurn: number; max: number }): Promise<number> {
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
  let i = 0;
  for (const end = Date.now() + o.ms; Date.now() < end && i < o.max; await turn()) {
    for (let k = 0; k < o.perTurn; k++) writer.record(decision(i++, { ts: Date.UTC(2026, 10, 28, 10) }));
  }
  return i;
}

/** The event counts of the batch seals in FILE, in order. */
async function batchSealCounts(dir: string): Promise<number[]> {
  return (await seals(join(dir, FILE))).filter((s) => s.reason === 'batch').map((s) => s.count);
}

async function checkpoints(dir: string): Promise<Record<string, unknown>[]> {
  return allLines(join(dir, 'audit-a.checkpoints.jsonl'));
}

afterEach(() => {
  vi.useRealTimers();
});

describe('AuditWriter', () => {
  it('writes one event per decision with the schema fields in canonical order (hash last), chained from the genesis hash', async () => {
    const dir = await tempDir();
    await writeLog(dir, 3);
    const events = await lines(join(dir, FILE));
    expect(events).toHaveLength(3);
    expect(Object.keys(events[0]!)).toEqual(['action', 'client', 'instance', 'list', 'list_version', 'prev', 'qname', 'qtype', 'response', 'rule', 'segment', 'seq', 'transport', 'ts', 'hash']);
    expect(events[0]).toMatchObject({
      ts: '2026-11-28T10:00:00.000Z',
      instance: 'a',
      segment: 'service',
      client: '10.10.0.5',
      qname: 'host0.tiktok.com',
      qtype: 'A',
      action: 'blocked',
      list: 'tiktok',
      rule: 'tiktok.com',
      list_version: '2026.11.28.1-3f2a9c1b',
      response: 'nxdomain',
      seq: 1,
      prev: GENESIS,
    });
    for (const [i, e] of events.entries()) {
      expect(e.seq).toBe(i + 1);
      expect(e.hash).toBe(eventHash(e));
      if (i > 0) expect(e.prev).toBe(events[i - 1]!.hash);
    }
  });

  it('record() only buffers: nothing reaches the file before the flush timer, everything within the interval', async () => {
    const dir = await tempDir();
    const writer = await AuditWriter.open(writerOptions(dir, { flushIntervalMs: 200 }));
    for (let i = 0; i < 50; i++) writer.record(decision(i));
    expect(writer.stats()).toMatchObject({ recorded: 50, written: 0, buffered: 50 });
    await new Promise((r) => setTimeout(r, 20));
    expect(await lines(join(dir, FILE))).toHaveLength(0);
    await vi.waitFor(async () => expect(await lines(join(dir, FILE))).toHaveLength(50), { timeout: 1000, interval: 20 });
    await writer.close();
  });

  it('writes a full batch without waiting for the timer', async () => {
    const dir = await tempDir();
    const writer = await AuditWriter.open(writerOptions(dir, { flushIntervalMs: 1000, maxBatch: 10 }));
    for (let i = 0; i < 10; i++) writer.record(decision(i));
    await vi.waitFor(async () => expect(await lines(join(dir, FILE))).toHaveLength(10), { timeout: 500, interval: 10 });
    await writer.close();
  });

  it('encodes what a turn recorded at its end, long before the file write (decisions die young)', async () => {
    const dir = await tempDir();
    // The pseudonym is taken while encoding: counting its calls shows when decisions were encoded.
    let encoded = 0;
    const writer = await AuditWriter.open(writerOptions(dir, { flushIntervalMs: 1000, pseudonymize: (address) => (encoded++, `anon:${address}`) }));
    for (let i = 0; i < 5; i++) writer.record(decision(i, { pseudonymize: true }));
    // Not while the turn that recorded them runs (its answers go out first) ...
    expect(encoded).toBe(0);
    await Promise.resolve();
    // ... but once it ends, before the event loop moves on.
    expect(encoded).toBe(5);
    writer.record(decision(5, { pseudonymize: true }));
    await Promise.resolve();
    expect(encoded).toBe(6);
    expect(await lines(join(dir, FILE))).toHaveLength(0);
    await writer.close();
    expect(await lines(join(dir, FILE))).toHaveLength(6);
  });

  it('close() flushes everything, writes a signed shutdown checkpoint of the head, and ignores later records', async () => {
    const dir = await tempDir();
    const writer = await AuditWriter.open(writerOptions(dir));
    for (let i = 0; i < 1000; i++) writer.record(decision(i));
    await writer.close();
    writer.record(decision(1000));
    await writer.close();
    const events = await lines(join(dir, FILE));
    expect(events).toHaveLength(1000);
    const cps = await checkpoints(dir);
    expect(cps).toHaveLength(1);
    expect(cps[0]).toMatchObject({ type: 'checkpoint', kind: 'head', reason: 'shutdown', instance: 'a', seq: 1000, hash: events[999]!.hash, file: FILE, dropped: 0 });
  });

  it('continues the chain across a restart (same file, next seq, prev = last hash)', async () => {
    const dir = await tempDir();
    await writeLog(dir, 5);
    await writeLog(dir, 5);
    const events = await lines(join(dir, FILE));
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(events[5]!.prev).toBe(events[4]!.hash);
    expect((await verifyAuditPath(dir)).ok).toBe(true);
  });

  it('removes the incomplete last line of an interrupted write on start and continues from the last complete record', async () => {
    const dir = await tempDir();
    await writeLog(dir, 3);
    await appendFile(join(dir, FILE), '{"ts":"2026-11-28T10:00:09.000Z","inst');
    await writeLog(dir, 2);
    const events = await lines(join(dir, FILE));
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect((await verifyAuditPath(dir)).ok).toBe(true);
  });

  it('sets aside a line it did not write after the shutdown seal instead of adopting it; verify names it', async () => {
    const dir = await tempDir();
    await writeLog(dir, 2);
    await appendFile(join(dir, FILE), 'garbage\n');
    await writeLog(dir, 1);
    // The chain went on from the signed head (seq 2): the line is out of the log, in the unsealed file.
    expect((await lines(join(dir, FILE))).map((e) => e.seq)).toEqual([1, 2, 3]);
    const moved = (await readdir(dir)).filter((n) => n.includes('.unsealed-'));
    expect(moved).toHaveLength(1);
    expect(await readFile(join(dir, moved[0]!), 'utf8')).toBe('garbage\n');
    const start = (await seals(join(dir, FILE))).find((x) => x.reason === 'start');
    expect(start).toMatchObject({ seq: 2, count: 0, recovered: { after: 'shutdown', lines: 1, chained: false, moved_to: moved[0], bytes: 8 } });
    const report = await verifyAuditPath(dir);
    expect(report.problems[0]).toMatchObject({ seq: 3, message: expect.stringContaining('dnsward did not write them') });
  });

  it('ends every write with a signed seal covering its events, and a clean close with a shutdown seal', async () => {
    const dir = await tempDir();
    const writer = await AuditWriter.open(writerOptions(dir));
    for (let i = 0; i < 3; i++) writer.record(decision(i));
    await writer.flush();
    writer.record(decision(3));
    await writer.close();
    const all = await allLines(join(dir, FILE));
    expect(all.map((r) => ('type' in r ? `${String(r.reason)}:${String(r.count)}` : `e${String(r.seq)}`))).toEqual(['e1', 'e2', 'e3', 'batch:3', 'e4', 'batch:1', 'shutdown:0']);
    const events = all.filter((r) => !('type' in r));
    expect(all[3]).toMatchObject({ type: 'seal', seq: 3, hash: events[2]!.hash, instance: 'a', key: rawPublicKey(KEY) });
    expect(all[6]).toMatchObject({ seq: 4, hash: events[3]!.hash });
    for (const seal of all.filter((r) => 'type' in r)) expect(checkSealSignature(seal as unknown as Seal)).toBeUndefined();
    expect((await verifyAuditPath(dir, { publicKeys: [KEY] })).problems).toEqual([]);
  });

  it('under a steady stream, writes what waited when the write began, max_batch at a time, and does not chase what arrives meanwhile', async () => {
    const dir = await tempDir();
    // fsync on: each write then takes long enough (a thread-pool round trip or two) for the stream to add lines meanwhile.
    // One file whatever the machine's speed: no size rotation, and the stream bounded by count as well as time.
    const writer = await AuditWriter.open(writerOptions(dir, { flushIntervalMs: 1000, maxBatch: 500, fsync: true, maxFileBytes: 2 ** 31 }));
    const i = await stream(writer, { ms: 400, perTurn: 32, max: 40_000 });
    await writer.close();
    const counts = await batchSealCounts(dir);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(i);
    // Every write but the one of close() held at least max_batch events: a write that took only what
    // arrived during the previous one would be a few turns' worth long (and each costs a signature).
    // A write of more than MAX_SEALED_EVENTS is sealed in parts of that size; only its last part may be short.
    expect(counts.length).toBeGreaterThan(2);
    const short = counts.slice(0, -1).filter((c, n) => c < 500 && counts[n - 1] !== MAX_SEALED_EVENTS);
    expect(short).toEqual([]);
  });

  it('behind by more than two chunks, writes each chunk in one writev; otherwise in pieces of at most MAX_WRITEV_BYTES', async () => {
    // Each writev is a turn of the event loop; a saturated loop turns every few ms, so a writer that is behind
    // catches up only if it needs few of them (appender.ts, MAX_WRITEV_BYTES_BEHIND).
    const calls = async (events: number): Promise<{ calls: number; bytes: number; written: number }> => {
      const dir = await tempDir();
      const writer = await AuditWriter.open(writerOptions(dir, { flushIntervalMs: 60_000, maxBatch: 1_000_000, fsync: false, maxFileBytes: 2 ** 31 }));
      const appender = (writer as unknown as { appender: EventAppender }).appender;
      const before = appender.writevCalls;
      for (let i = 0; i < events; i++) writer.record(decision(i));
      await writer.flush();
      const counted = appender.writevCalls - before;
      const written = writer.stats().written;
      await writer.close();
      const bytes = (await readdir(dir)).filter((f) => f.endsWith('.jsonl') && !f.includes('checkpoints'));
      let size = 0;
      for (const f of bytes) size += (await stat(join(dir, f))).size;
      return { calls: counted, bytes: size, written };
    };
    // Five chunks waiting: the first three go while more than two chunks' worth waits, one writev each.
    const behind = await calls(5 * MAX_SEALED_EVENTS);
    expect(behind.written).toBe(5 * MAX_SEALED_EVENTS);
    const chunkBytes = behind.bytes / 5;
    expect(chunkBytes).toBeGreaterThan(2 * MAX_WRITEV_BYTES);
    const piecesPerChunk = Math.ceil(chunkBytes / MAX_WRITEV_BYTES);
    expect(behind.calls).toBeLessThanOrEqual(3 + 2 * (piecesPerChunk + 1));
    // Two chunks waiting: pieces, as at a light load (the p99 of blocked queries, stop 24).
    const keepingUp = await calls(2 * MAX_SEALED_EVENTS);
    expect(keepingUp.written).toBe(2 * MAX_SEALED_EVENTS);
    expect(keepingUp.calls).toBeGreaterThanOrEqual(2 * piecesPerChunk - 2);
  });

  it('counts the flush interval from the last write: a stream that fills max_batch sooner is never cut short by the timer', async () => {
    const dir = await tempDir();
    // max_batch fills every few turns, far within the 200 ms interval: a timer that fired on its own
    // phase would write what waited since the last max_batch write, a fraction of it, every 200 ms.
    // 200, not less: a test process starved of CPU for a whole interval would see the timer fire first.
    // 2 s of stream, so that a timer on its own phase fires ten times (without the refresh, this failed in
    // 3 of 3 runs of both test projects together, 4 of the 6 executions).
    const writer = await AuditWriter.open(writerOptions(dir, { flushIntervalMs: 200, maxBatch: 200, fsync: false, maxFileBytes: 2 ** 31 }));
    const i = await stream(writer, { ms: 2000, perTurn: 64, max: 200_000 });
    await writer.close();
    const counts = await batchSealCounts(dir);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(i);
    expect(counts.length).toBeGreaterThan(5);
    // Only the write of close() may be short (a write over MAX_SEALED_EVENTS is sealed in parts; none is here).
    expect(counts.slice(0, -1).filter((c) => c < 200)).toEqual([]);
    // Idle, the timer still writes what waits (nothing else here calls flush): within about an interval, waited for
    // up to 3 s so that a busy machine does not fail it.
    const idle = await AuditWriter.open(writerOptions(await tempDir(), { flushIntervalMs: 40 }));
    idle.record(decision(1));
    for (const until = Date.now() + 3000; idle.stats().written === 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
    expect(idle.stats()).toMatchObject({ recorded: 1, written: 1 });
    await idle.close();
  });

  it('seals at most MAX_SEALED_EVENTS events per write', async () => {
    const dir = await tempDir();
    await writeLog(dir, MAX_SEALED_EVENTS + 10);
    expect((await seals(join(dir, FILE))).map((x) => x.count)).toEqual([MAX_SEALED_EVENTS, 10, 0]);
  });

  it('after a run stopped in mid-write, sets the unsealed records aside (not adopted), declares them, and verify passes with a note', async () => {
    const dir = await tempDir();
    // A run that wrote one sealed write and was then killed (no close: no shutdown seal). Runs are
    // told apart by their start time: this one started an hour before the next.
    const killed = await AuditWriter.open(writerOptions(dir, { now: () => Date.UTC(2026, 10, 28, 11, 0, 0) }));
    for (let i = 0; i < 3; i++) killed.record(decision(i));
    await killed.flush();
    // What a write cut short leaves: two whole event lines of the next write and part of a third, no seal.
    const head = (await lines(join(dir, FILE))).at(-1)!;
    const e4 = encodeEvent(body(4), 4, head.hash as string);
    const e5 = encodeEvent(body(5), 5, e4.hash);
    const torn = e4.line + e5.line + encodeEvent(body(6), 6, e5.hash).line.slice(0, 50);
    await appendFile(join(dir, FILE), torn);
    await writeLog(dir, 1);
    const events = await lines(join(dir, FILE));
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(events[3]!.prev).toBe(head.hash);
    const start = (await seals(join(dir, FILE))).find((x) => x.reason === 'start')!;
    expect(start.recovered).toMatchObject({ after: 'batch', lines: 2, first_seq: 4, last_seq: 5, chained: true, partial_bytes: 50, files: 1 });
    expect(await readFile(join(dir, start.recovered!.moved_to), 'utf8')).toBe(torn);
    const report = await verifyAuditPath(dir, { publicKeys: [KEY] });
    expect(report.problems).toEqual([]);
    expect(report.notes.join('\n')).toContain('unsealed tail: 2 record(s), seq 4..5 of a write the run started');
    expect(report.notes.join('\n')).toContain('an incomplete last line (50 bytes');
  });

  it('after a run killed in the first write of a new log, sets that write aside and verify passes with a note', async () => {
    const dir = await tempDir();
    const e1 = encodeEvent(body(1), 1, GENESIS);
    await writeFile(join(dir, FILE), e1.line + encodeEvent(body(2), 2, e1.hash).line.slice(0, 30));
    await writeLog(dir, 1);
    expect((await lines(join(dir, FILE))).map((e) => [e.seq, e.prev])).toEqual([[1, GENESIS]]);
    const report = await verifyAuditPath(dir, { publicKeys: [KEY] });
    expect(report.problems).toEqual([]);
    expect(report.notes.join('\n')).toContain('unsealed tail: 1 record(s), seq 1..1 of the first write of a new log did not finish (killed or crashed)');
  });

  it('continues after a seal by another key (a replaced key), saying so in a signed start seal', async () => {
    const dir = await tempDir();
    await writeLog(dir, 2);
    const other = generateKeyPairSync('ed25519').privateKey;
    await writeLog(dir, 1, { signingKey: other });
    const start = (await seals(join(dir, FILE))).find((x) => x.reason === 'start');
    expect(start).toMatchObject({ seq: 2, previous_key: rawPublicKey(KEY), key: rawPublicKey(other) });
    const report = await verifyAuditPath(dir);
    expect(report.problems).toEqual([]);
    expect(report.warnings.join('\n')).toContain('signed by 2 different keys and none is pinned');
    expect(report.notes.join('\n')).toContain(`the signing key changed at ${FILE}:5: the run started 2026-11-28T12:00:00.000Z seals with ${rawPublicKey(other)}, the seals before with ${rawPublicKey(KEY)}`);
    expect((await verifyAuditPath(dir, { publicKeys: [KEY, other] })).warnings).toEqual([]);
    expect((await verifyAuditPath(dir, { publicKeys: [KEY] })).problems[0]).toMatchObject({ seq: 3, message: expect.stringContaining('not signed by the pinned public key') });
  });

  it('rotates daily by the UTC date of the event, continuing the chain into the next file', async () => {
    const dir = await tempDir();
    const day = 86_400_000;
    await writeLog(dir, 4, {}, (i) => decision(i, { ts: Date.UTC(2026, 10, 28, 23, 59, 58) + Math.floor(i / 2) * day }));
    const names = (await readdir(dir)).filter((n) => n.endsWith('.jsonl') && !n.includes('checkpoints')).sort();
    expect(names).toEqual(['audit-a-2026-11-28-000.jsonl', 'audit-a-2026-11-29-000.jsonl']);
    const second = await lines(join(dir, names[1]!));
    expect(second.map((e) => e.seq)).toEqual([3, 4]);
    expect((await verifyAuditPath(dir)).ok).toBe(true);
  });

  it('never rotates back to an earlier date when the clock steps back', async () => {
    const dir = await tempDir();
    const times = [Date.UTC(2026, 10, 29, 0, 0, 1), Date.UTC(2026, 10, 28, 23, 59, 59)];
    await writeLog(dir, 2, {}, (i) => decision(i, { ts: times[i]! }));
    const names = (await readdir(dir)).filter((n) => /-\d{3}\.jsonl$/.test(n));
    expect(names).toEqual(['audit-a-2026-11-29-000.jsonl']);
  });

  it('rotates by size', async () => {
    const dir = await tempDir();
    await writeLog(dir, 30, { maxFileBytes: 2000 });
    const names = (await readdir(dir)).filter((n) => /-\d{3}\.jsonl$/.test(n)).sort();
    expect(names.length).toBeGreaterThan(3);
    for (const n of names) expect((await stat(join(dir, n))).size).toBeLessThanOrEqual(2000);
    const report = await verifyAuditPath(dir);
    expect(report.problems).toEqual([]);
    expect(report.instances[0]).toMatchObject({ events: 30, firstSeq: 1, lastSeq: 30 });
  });

  it('deletes files past retention after signing a prune checkpoint, and the rest still verifies', async () => {
    const dir = await tempDir();
    const day = 86_400_000;
    const start = Date.UTC(2026, 10, 1, 12);
    await writeLog(dir, 20, { now: () => start + 20 * day }, (i) => decision(i, { ts: start + i * day }));
    await writeLog(dir, 1, { retentionDays: 10, now: () => start + 21 * day }, () => decision(0, { ts: start + 21 * day }));
    const names = (await readdir(dir)).filter((n) => /-\d{3}\.jsonl$/.test(n)).sort();
    // now = 11-22: files dated before 11-12 are more than 10 days old.
    expect(names[0]).toBe('audit-a-2026-11-12-000.jsonl');
    const cps = await checkpoints(dir);
    expect(cps.find((c) => c.kind === 'prune')).toMatchObject({ seq: 11, reason: 'retention', file: 'audit-a-2026-11-11-000.jsonl' });
    expect(cps.every((c) => (c.seq as number) >= 11)).toBe(true);
    const report = await verifyAuditPath(dir);
    expect(report.problems).toEqual([]);
    expect(report.instances[0]).toMatchObject({ firstSeq: 12, lastSeq: 21 });
  });

  it('writes periodic checkpoints only when the head moved', async () => {
    const dir = await tempDir();
    const writer = await AuditWriter.open(writerOptions(dir, { checkpointIntervalMs: 50, flushIntervalMs: 10 }));
    writer.record(decision(0));
    await vi.waitFor(async () => expect(await checkpoints(dir)).toHaveLength(1), { timeout: 1000, interval: 10 });
    await new Promise((r) => setTimeout(r, 150));
    expect(await checkpoints(dir)).toHaveLength(1);
    writer.record(decision(1));
    await vi.waitFor(async () => expect(await checkpoints(dir)).toHaveLength(2), { timeout: 1000, interval: 10 });
    await writer.close();
    expect((await checkpoints(dir)).map((c) => [c.seq, c.reason])).toEqual([[1, 'interval'], [2, 'interval']]);
  });

  it('drops (and counts, and signs the count) instead of growing past max_buffered', async () => {
    const dir = await tempDir();
    const writer = await AuditWriter.open(writerOptions(dir, { maxBuffered: 1000 }));
    for (let i = 0; i < 1500; i++) writer.record(decision(i));
    expect(writer.stats()).toMatchObject({ recorded: 1000, dropped: 500 });
    await writer.close();
    expect(await lines(join(dir, FILE))).toHaveLength(1000);
    expect((await checkpoints(dir))[0]).toMatchObject({ seq: 1000, dropped: 500 });
    const report = await verifyAuditPath(dir);
    expect(report.ok).toBe(true);
    expect(report.notes.join('\n')).toContain('500 decisions were not recorded');
  });

  it('counts a decision it cannot encode as dropped (signed), keeps the chain whole and encodes the rest of the turn', async () => {
    const dir = await tempDir();
    const { logger, lines: logged } = captureLogs('error');
    let calls = 0;
    const pseudonymize = (address: string): string => {
      calls++;
      if (calls === 2) throw new Error('pseudonymiser failed');
      return `anon:${address}`;
    };
    const writer = await AuditWriter.open(writerOptions(dir, { pseudonymize, logger }));
    for (let i = 0; i < 4; i++) writer.record(decision(i, { pseudonymize: true }));
    // The end-of-turn microtask runs the encoder; a throw there would end the process.
    await Promise.resolve();
    expect(writer.stats()).toMatchObject({ recorded: 3, dropped: 1 });
    await writer.close();
    const events = await lines(join(dir, FILE));
    expect(events.map((e) => e.qname)).toEqual(['host0.tiktok.com', 'host2.tiktok.com', 'host3.tiktok.com']);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect((await checkpoints(dir))[0]).toMatchObject({ seq: 3, dropped: 1 });
    const report = await verifyAuditPath(dir);
    expect(report.ok).toBe(true);
    expect(report.notes.join('\n')).toContain('1 decisions were not recorded');
    expect(logged.some((l) => l.code === 'DNSWARD_ERR_AUDIT_WRITE' && /could not be encoded/.test(String(l.msg)))).toBe(true);
  });

  it('keeps events in memory while the directory is unwritable and writes them once it is back', async () => {
    const dir = await tempDir();
    const writer = await AuditWriter.open(writerOptions(dir));
    // Make the target name a directory: open(…, "a") fails with EISDIR.
    const { mkdir, rmdir } = await import('node:fs/promises');
    await mkdir(join(dir, FILE));
    for (let i = 0; i < 5; i++) writer.record(decision(i));
    await writer.flush();
    expect(writer.stats()).toMatchObject({ written: 0, buffered: 5 });
    expect(writer.stats().writeErrors).toBeGreaterThan(0);
    await rmdir(join(dir, FILE));
    await writer.close();
    expect(await lines(join(dir, FILE))).toHaveLength(5);
    expect((await verifyAuditPath(dir)).ok).toBe(true);
  });

  it('puts the pseudonym, never the address, in the file for pseudonymised decisions', async () => {
    const dir = await tempDir();
    await writeLog(dir, 4, {}, (i) => decision(i, { client: i % 2 ? '10.20.0.7' : '10.20.0.8', pseudonymize: true, segment: 'personal', action: 'logged', response: 'answer' }));
    const text = await readFile(join(dir, FILE), 'utf8');
    expect(text).not.toContain('10.20.0.7');
    expect(text).not.toContain('10.20.0.8');
    const clients = (await lines(join(dir, FILE))).map((e) => e.client as string);
    expect(clients[1]).toBe(clients[3]);
    expect(clients[0]).toBe(clients[2]);
    expect(clients[0]).not.toBe(clients[1]);
    for (const c of clients) expect(c).toMatch(/^anon:[0-9a-f]{16}$/);
    const all = (await readdir(dir)).map((n) => readFile(join(dir, n), 'utf8'));
    for (const content of await Promise.all(all)) expect(content).not.toContain('10.20.0.');
  });

  it('writes the public key next to the log for auditors', async () => {
    const dir = await tempDir();
    await writeLog(dir, 1);
    expect(await readFile(join(dir, 'audit-a.pub.pem'), 'utf8')).toContain('BEGIN PUBLIC KEY');
  });

  it('keeps distinct instances in distinct files and chains', async () => {
    const dir = await tempDir();
    await writeLog(dir, 2, { instance: 'a' });
    await writeLog(dir, 3, { instance: 'b/x' });
    const names = (await readdir(dir)).filter((n) => /-\d{3}\.jsonl$/.test(n)).sort();
    expect(names).toEqual(['audit-a-2026-11-28-000.jsonl', 'audit-b_x-2026-11-28-000.jsonl']);
    const report = await verifyAuditPath(dir);
    expect(report.problems).toEqual([]);
    expect(report.instances.map((i) => [i.instance, i.lastSeq])).toEqual([['a', 2], ['b_x', 3]]);
    await writeFile(join(dir, 'unrelated.txt'), 'x');
    expect((await verifyAuditPath(dir)).ok).toBe(true);
  });
});
