// The worker thread's side of the protocol, driven as thread.ts drives it: a real Worker.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { DecisionRingWriter, createDecisionRing } from '../../../src/audit/decision-ring.ts';
import type { FromWorker, ToWorker, WorkerInit } from '../../../src/audit/worker.ts';
import { KEY, SECRET, decision, tempDir } from './helpers.ts';

const URL_OF_WORKER = new URL('../../../src/audit/worker.ts', import.meta.url);

function init(dir: string, pseudonymSecret?: string): WorkerInit {
  return {
    dir,
    instance: 'w',
    signingKeyPem: KEY.export({ format: 'pem', type: 'pkcs8' }).toString(),
    ...(pseudonymSecret ? { pseudonymSecret } : {}),
    flushIntervalMs: 1000,
    maxBatch: 4096,
    maxFileBytes: 1 << 26,
    retentionDays: 0,
    checkpointIntervalMs: 3_600_000,
    fsync: false,
    logLevel: 'info',
    ring: createDecisionRing(64 * 1024),
  };
}

function made(i: number, pseudonymize = false): ReturnType<typeof decision> {
  return decision(i, { pseudonymize, client: '10.20.0.7' });
}

/** Starts the worker and returns a request function that resolves with the matching reply. */
async function start(data: WorkerInit): Promise<{ worker: Worker; first: FromWorker; logs: string[]; ask: (m: ToWorker) => Promise<FromWorker> }> {
  const worker = new Worker(URL_OF_WORKER, { workerData: data });
  const logs: string[] = [];
  const waiting = new Map<number, (m: FromWorker) => void>();
  let onFirst: (m: FromWorker) => void = () => undefined;
  const firstReply = new Promise<FromWorker>((resolve) => (onFirst = resolve));
  let started = false;
  worker.on('message', (m: FromWorker) => {
    if (m.t === 'log') return void logs.push(m.line);
    if (!started) {
      started = true;
      return onFirst(m);
    }
    if (m.t === 'ack') waiting.get(m.id)?.(m);
  });
  const first = await firstReply;
  const ask = (m: ToWorker): Promise<FromWorker> => new Promise((resolve) => (waiting.set(m.id, resolve), worker.postMessage(m)));
  return { worker, first, logs, ask };
}

describe('audit worker', () => {
  it('reports ready with the recovered seq, writes what it is sent, acks with stats, and ends on close', async () => {
    const dir = await tempDir();
    const data = init(dir, SECRET.toString('hex'));
    const ring = new DecisionRingWriter(data.ring);
    const { worker, first, logs, ask } = await start(data);
    expect(first).toEqual({ t: 'ready', seq: 0 });
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    // Taken from the ring without a message: the worker sleeps until the first record wakes it.
    ring.write(made(0));
    ring.write(made(1, true));
    const deadline = Date.now() + 3000;
    while (ring.waiting > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(ring.waiting).toBe(0);
    expect(ring.held).toBe(2);
    ring.write(made(2));
    // The main thread's drop count reaches the worker through the ring's memory, not the messages.
    ring.setDropped(5);
    const flushed = await ask({ t: 'flush', id: 2 });
    expect(flushed).toMatchObject({ t: 'ack', id: 2, stats: { recorded: 3, written: 3, buffered: 0, seq: 3 } });
    expect(ring.held).toBe(0);
    const closed = await ask({ t: 'close', id: 3 });
    expect(closed).toMatchObject({ t: 'ack', id: 3, stats: { checkpoints: 1 } });
    await exited;
    const name = (await readdir(dir)).find((n) => n.endsWith('-000.jsonl'))!;
    const events = (await readFile(join(dir, name), 'utf8'))
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('{"type":'))
      .map((l) => JSON.parse(l) as { client: string; qname: string });
    expect(events.map((e) => e.qname)).toEqual(['host0.tiktok.com', 'host1.tiktok.com', 'host2.tiktok.com']);
    expect(events[1]!.client).toMatch(/^anon:[0-9a-f]{16}$/);
    expect(events[0]!.client).toBe('10.20.0.7');
    // The proxy's drop count is signed into the checkpoint.
    const cp = JSON.parse((await readFile(join(dir, 'audit-w.checkpoints.jsonl'), 'utf8')).trim()) as { dropped: number };
    expect(cp.dropped).toBe(5);
    expect(logs.some((l) => l.includes('block log opened'))).toBe(true);
  });

  it('reports a start failure as fatal with its code', async () => {
    const dir = join(await tempDir(), 'taken');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(dir, 'a file where audit.dir should be');
    const { first, worker } = await start(init(join(dir, 'log')));
    expect(first).toMatchObject({ t: 'fatal', code: 'DNSWARD_ERR_AUDIT_WRITE', message: expect.stringContaining('audit.dir: cannot create') });
    await worker.terminate();
  });
});
