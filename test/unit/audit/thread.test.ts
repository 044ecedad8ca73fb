import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ThreadedAuditSink } from '../../../src/audit/thread.ts';
import { verifyAuditPath } from '../../../src/audit/verify.ts';
import type { ThreadedSinkOptions } from '../../../src/audit/thread.ts';
import { KEY, SECRET, captureLogs, decision, tempDir } from './helpers.ts';

function init(dir: string, overrides: Partial<ThreadedSinkOptions['init']> = {}): ThreadedSinkOptions['init'] {
  return {
    dir,
    instance: 'a',
    signingKeyPem: KEY.export({ format: 'pem', type: 'pkcs8' }).toString(),
    pseudonymSecret: SECRET.toString('hex'),
    flushIntervalMs: 1000,
    maxBatch: 4096,
    maxFileBytes: 64 * 1024 * 1024,
    retentionDays: 0,
    checkpointIntervalMs: 3_600_000,
    fsync: false,
    logLevel: 'info',
    ...overrides,
  };
}

async function eventLines(dir: string): Promise<string[]> {
  const name = (await readdir(dir)).find((n) => /-\d{3}\.jsonl$/.test(n));
  return name ? (await readFile(join(dir, name), 'utf8')).split('\n').filter((l) => l !== '' && !l.startsWith('{"type":')) : [];
}

describe('ThreadedAuditSink', () => {
  it('hands decisions to the worker, which writes them; flush() waits for the disk; close() ends the thread', async () => {
    const dir = await tempDir();
    const { logger, lines } = captureLogs();
    const sink = await ThreadedAuditSink.start({ init: init(dir), maxBuffered: 100_000, logger });
    for (let i = 0; i < 1500; i++) sink.record(i % 2 === 1 ? decision(i, { pseudonymize: true, client: '10.20.0.7' }) : decision(i));
    expect(sink.stats()).toMatchObject({ recorded: 1500, dropped: 0 });
    await sink.flush();
    expect(sink.stats()).toMatchObject({ recorded: 1500, written: 1500, buffered: 0, seq: 1500 });
    expect(await eventLines(dir)).toHaveLength(1500);
    await sink.close();
    sink.record(decision(9999));
    expect(sink.stats().recorded).toBe(1500);
    const report = await verifyAuditPath(dir);
    expect(report.problems).toEqual([]);
    expect(report.instances[0]).toMatchObject({ lastSeq: 1500, lastCheckpointSeq: 1500 });
    expect((await readFile(join(dir, (await readdir(dir)).find((n) => n.endsWith('-000.jsonl'))!), 'utf8'))).not.toContain('10.20.0.7');
    // The worker's log lines come out through the app's logger.
    expect(lines.some((l) => l.msg === 'block log opened' && l.component === 'audit')).toBe(true);
  });

  it('writes without an explicit flush (the worker takes from the ring), and its counts reach stats() unasked', async () => {
    const dir = await tempDir();
    const sink = await ThreadedAuditSink.start({ init: init(dir, { flushIntervalMs: 50 }), maxBuffered: 100_000, logger: captureLogs().logger });
    sink.record(decision(0));
    sink.record(decision(1));
    const deadline = Date.now() + 3000;
    while ((sink.stats().written < 2 || (await eventLines(dir)).length < 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await eventLines(dir)).toHaveLength(2);
    // No flush, no ack: the metrics read these.
    expect(sink.stats()).toMatchObject({ recorded: 2, written: 2, buffered: 0, seq: 2 });
    await sink.close();
  });

  it('takes every decision after every quiet spell: bursts with pauses longer and shorter than its 5 ms wait', async () => {
    const dir = await tempDir();
    const sink = await ThreadedAuditSink.start({ init: init(dir, { flushIntervalMs: 50 }), maxBuffered: 100_000, logger: captureLogs().logger });
    const ring = (sink as unknown as { ring: { waiting: number } }).ring;
    let n = 0;
    let seed = 7;
    const random = (k: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % k);
    for (let spell = 0; spell < 60; spell++) {
      const burst = 1 + random(40);
      for (let k = 0; k < burst; k++) sink.record(decision(n++));
      await new Promise((r) => setTimeout(r, random(12)));
      if (spell % 10 === 9) {
        // A quiet spell: the worker takes everything without being asked, whatever the timing before.
        const deadline = Date.now() + 3000;
        while (ring.waiting > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        expect(ring.waiting).toBe(0);
      }
    }
    await sink.flush();
    expect(sink.stats()).toMatchObject({ recorded: n, written: n, dropped: 0, buffered: 0, seq: n });
    await sink.close();
    expect((await verifyAuditPath(dir)).problems).toEqual([]);
  });

  it('counts decisions beyond max_buffered as dropped and signs the count', async () => {
    const dir = await tempDir();
    const sink = await ThreadedAuditSink.start({ init: init(dir), maxBuffered: 1000, logger: captureLogs().logger });
    for (let i = 0; i < 1200; i++) sink.record(decision(i));
    expect(sink.stats()).toMatchObject({ recorded: 1000, dropped: 200 });
    await sink.close();
    const cps = (await readFile(join(dir, 'audit-a.checkpoints.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { dropped: number; seq: number });
    expect(cps.at(-1)).toMatchObject({ seq: 1000, dropped: 200 });
  });

  it('counts every decision as dropped once the worker is gone, saying so once', async () => {
    const dir = await tempDir();
    const { logger, lines } = captureLogs();
    const sink = await ThreadedAuditSink.start({ init: init(dir), maxBuffered: 100_000, logger });
    for (let i = 0; i < 10; i++) sink.record(decision(i));
    // Taken by the worker, not yet written (the flush interval is a second): what dies with it.
    const deadline = Date.now() + 3000;
    while (sink.stats().buffered !== 10 || (sink as unknown as { ring: { waiting: number } }).ring.waiting !== 0) {
      if (Date.now() > deadline) throw new Error(`the worker did not take the decisions: ${JSON.stringify(sink.stats())}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    // The worker dies (a bug, or killed): the decisions it held unwritten are lost, and counted.
    await (sink as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await new Promise((r) => setTimeout(r, 20));
    sink.record(decision(10));
    expect(sink.stats()).toMatchObject({ recorded: 0, dropped: 11, buffered: 0 });
    await sink.flush();
    await sink.close();
    expect(lines.filter((l) => String(l.msg).includes('exited unexpectedly'))).toHaveLength(1);
  });

  it('rejects with the worker’s coded error when the log cannot be opened', async () => {
    const dir = join(await tempDir(), 'taken');
    await writeFile(dir, 'a file where audit.dir should be');
    await expect(ThreadedAuditSink.start({ init: init(join(dir, 'log')), maxBuffered: 1000, logger: captureLogs().logger })).rejects.toMatchObject({ code: 'DNSWARD_ERR_AUDIT_WRITE' });
  });
});
