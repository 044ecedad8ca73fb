import { afterEach, describe, expect, it, vi } from 'vitest';
import { Batcher, HANDOFF_BATCH } from '../../../src/audit/batcher.ts';
import { captureLogs, silent } from './helpers.ts';

/** What waits, oldest first, as the writer takes it (takeEach). */
function takeAll<T>(b: Batcher<T>): T[] {
  const out: T[] = [];
  b.takeEach((item) => out.push(item));
  return out;
}

function make(options: { batchSize?: number; intervalMs?: number; maxBuffered?: number } = {}, logger = silent): { b: Batcher<number>; batches: number[][] } {
  const batches: number[][] = [];
  const b: Batcher<number> = new Batcher<number>({
    batchSize: options.batchSize ?? 4,
    intervalMs: options.intervalMs ?? 20,
    maxBuffered: options.maxBuffered ?? 1000,
    onBatch: () => batches.push(takeAll(b)),
    logger,
  });
  return { b, batches };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Batcher', () => {
  it('keeps pushed items in order until taken', () => {
    const { b } = make();
    for (const i of [1, 2, 3]) b.push(i);
    expect(b.size).toBe(3);
    expect(b.recorded).toBe(3);
    expect(takeAll(b)).toEqual([1, 2, 3]);
    expect(b.size).toBe(0);
    expect(takeAll(b)).toEqual([]);
  });

  it('takeEach hands on each item once, oldest first, turn after turn, after a burst too', () => {
    const { b } = make({ batchSize: 1_000_000, maxBuffered: 1_000_000 });
    const seen: number[] = [];
    const use = (i: number): void => void seen.push(i);
    for (const size of [3, 2, 5000, 1, 4]) {
      const first = seen.length;
      for (let i = 0; i < size; i++) b.push(first + i);
      b.takeEach(use);
      expect(b.size).toBe(0);
      expect(seen.slice(first)).toEqual(Array.from({ length: size }, (_, i) => first + i));
      expect(takeAll(b)).toEqual([]);
    }
    b.push(7);
    b.push(8);
    expect(takeAll(b)).toEqual([7, 8]);
    expect(b.recorded).toBe(5012);
  });

  it('hands a full batch on after the current task (never inside push), once', async () => {
    const { b, batches } = make({ batchSize: 4 });
    for (let i = 0; i < 6; i++) b.push(i);
    expect(batches).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[0, 1, 2, 3, 4, 5]]);
  });

  it('with endOfTurn, hands on at the end of the current turn (a microtask), before timers and I/O', async () => {
    const batches: number[][] = [];
    const b: Batcher<number> = new Batcher<number>({ batchSize: 1, endOfTurn: true, intervalMs: 20, maxBuffered: 1000, onBatch: () => batches.push(takeAll(b)), logger: silent });
    b.push(1);
    b.push(2);
    expect(batches).toEqual([]);
    await Promise.resolve();
    expect(batches).toEqual([[1, 2]]);
    b.push(3);
    await Promise.resolve();
    expect(batches).toEqual([[1, 2], [3]]);
  });

  it('takeEach gives every item in order and empties the batcher, reusing its array', () => {
    const { b } = make({ batchSize: 100 });
    for (const i of [1, 2, 3]) b.push(i);
    const seen: number[] = [];
    b.takeEach((i) => seen.push(i));
    expect(seen).toEqual([1, 2, 3]);
    expect(b.size).toBe(0);
    b.push(4);
    b.takeEach((i) => seen.push(i));
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(b.recorded).toBe(4);
  });

  it('takeEach counts an item the consumer throws on as dropped, never hands it on twice, and hands on the rest', () => {
    const { b } = make({ batchSize: 100 });
    for (const i of [1, 2, 3]) b.push(i);
    const seen: number[] = [];
    b.takeEach((i) => {
      if (i === 2) throw new Error('boom');
      seen.push(i);
    });
    expect(seen).toEqual([1, 3]);
    expect(b.size).toBe(0);
    expect({ recorded: b.recorded, dropped: b.dropped }).toEqual({ recorded: 2, dropped: 1 });
    b.takeEach((i) => seen.push(i));
    expect(seen).toEqual([1, 3]);
  });

  it('hands on what waits every interval once started, and not before', () => {
    vi.useFakeTimers();
    const { b, batches } = make({ batchSize: 100, intervalMs: 20 });
    b.push(1);
    vi.advanceTimersByTime(100);
    expect(batches).toEqual([]);
    b.start();
    vi.advanceTimersByTime(20);
    expect(batches).toEqual([[1]]);
    vi.advanceTimersByTime(100);
    expect(batches).toEqual([[1]]);
    b.close();
  });

  it('caps the batch size and the interval at the hand-off limits', () => {
    vi.useFakeTimers();
    const { b, batches } = make({ batchSize: 1_000_000, intervalMs: 1000 });
    b.start();
    b.push(1);
    vi.advanceTimersByTime(20);
    expect(batches).toEqual([[1]]);
    for (let i = 0; i < HANDOFF_BATCH; i++) b.push(i);
    vi.runOnlyPendingTimers();
    expect(batches[1]).toHaveLength(HANDOFF_BATCH);
    b.close();
  });

  it('counts items beyond maxBuffered (what waits plus what the owner holds) as dropped, logging once per interval', () => {
    const { logger, lines } = captureLogs();
    const { b } = make({ batchSize: 1000, maxBuffered: 10 }, logger);
    b.held = 4;
    for (let i = 0; i < 9; i++) b.push(i);
    expect([b.recorded, b.dropped, b.size]).toEqual([6, 3, 6]);
    b.held = 0;
    b.push(99);
    expect([b.recorded, b.dropped]).toEqual([7, 3]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, code: 'DNSWARD_ERR_AUDIT_WRITE', dropped: 1, maxBuffered: 10, msg: expect.stringContaining('the writer is behind') });
  });

  it('ignores pushes after close() (not recorded, not dropped) but still gives up what waits', () => {
    const { b } = make();
    b.push(1);
    b.close();
    b.push(2);
    expect([b.recorded, b.dropped]).toEqual([1, 0]);
    expect(takeAll(b)).toEqual([1]);
  });

});
