import { readdir, readFile, stat, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GENESIS, eventHash } from '../../../src/audit/event.ts';
import { verifyAuditPath } from '../../../src/audit/verify.ts';
import { AuditWriter } from '../../../src/audit/writer.ts';
import { decision, tempDir, writeLog, writerOptions } from './helpers.ts';

const FILE = 'audit-a-2026-11-28-000.jsonl';

async function lines(path: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function checkpoints(dir: string): Promise<Record<string, unknown>[]> {
  return lines(join(dir, 'audit-a.checkpoints.jsonl'));
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
    expect(Object.keys(events[0]!)).toEqual(['action', 'client', 'instance', 'list', 'list_version', 'prev', 'qname', 'qtype', 'response', 'rule', 'segment', 'seq', 'ts', 'hash']);
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

  it('refuses to start on a damaged last record, naming the file and the command to run', async () => {
    const dir = await tempDir();
    await writeLog(dir, 2);
    await appendFile(join(dir, FILE), 'garbage\n');
    await expect(AuditWriter.open(writerOptions(dir))).rejects.toThrow(/DNSWARD_ERR_AUDIT_CHAIN|not a valid event/);
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
