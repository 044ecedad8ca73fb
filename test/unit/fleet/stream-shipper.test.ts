// The shipper over a real block log (AuditWriter files with their seals) and the shared-state
// contract's memory implementation: every sealed event once, in order, as written; unsealed
// lines wait; a stream that stands elsewhere is followed; a restart goes on where it was.
import { appendFile, readFile, unlink, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { listEventFiles } from '../../../src/audit/files.ts';
import { AuditWriter, type WrittenListener } from '../../../src/audit/writer.ts';
import { StreamShipper } from '../../../src/fleet/stream-shipper.ts';
import { MemoryState } from '../../../src/state/memory.ts';
import type { EventSpan } from '../../../src/state/types.ts';
import { decision, silent, tempDir, writerOptions } from '../audit/helpers.ts';

async function written(dir: string, from: number, count: number): Promise<AuditWriter> {
  const writer = await AuditWriter.open(writerOptions(dir));
  for (let i = from; i < from + count; i++) writer.record(decision(i));
  await writer.flush();
  return writer;
}

async function fileEvents(dir: string): Promise<string[]> {
  const texts = await Promise.all((await listEventFiles(dir, 'a')).map((f) => readFile(f.path, 'utf8')));
  return texts.join('').split('\n').filter((l) => l.startsWith('{"action"'));
}

function spanOf(lines: string[]): EventSpan {
  const seqs = lines.map((l) => Number(/"seq":(\d+)/.exec(l)?.[1]));
  return { first: seqs[0] as number, last: seqs.at(-1) as number, lines: Buffer.from(lines.map((l) => `${l}\n`).join('')) };
}

/** With `live`, the writer hands its writes to the shipper, as the fleet wires them. */
function shipper(dir: string, state: MemoryState, writer: AuditWriter, chunkBytes = 1024, live = false): StreamShipper {
  const written = live ? (listener: WrittenListener | undefined) => writer.onWritten(listener) : undefined;
  return new StreamShipper({ dir, instance: 'a', state, logger: silent, headSeq: () => writer.stats().seq, retentionDays: 0, chunkBytes, written });
}

/** Ten events written and shipped from the files, the writer handing its writes to the shipper from now on. */
async function liveAfterTen(): Promise<{ dir: string; state: MemoryState; writer: AuditWriter; s: StreamShipper }> {
  const dir = await tempDir();
  const state = new MemoryState();
  const writer = await written(dir, 0, 10);
  const s = shipper(dir, state, writer, 1 << 20, true);
  await s.tick();
  expect(s.spans).toEqual({ live: 0, files: 1 });
  return { dir, state, writer, s };
}

describe('StreamShipper', () => {
  it('ships every event once, in order, as written, a few writes at a time', async () => {
    const dir = await tempDir();
    const state = new MemoryState();
    const writer = await written(dir, 0, 10);
    const s = shipper(dir, state, writer);
    expect(s.stats()).toMatchObject({ spooled: 10, shipped: 0 });
    await s.tick();
    await s.tick();
    const stream = await state.readStream('', 100);
    expect(stream.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(stream.map((e) => e.line)).toEqual(await fileEvents(dir));
    expect(s.stats()).toEqual({ shippedSeq: 10, spooled: 0, shipped: 10 });
    for (let i = 10; i < 15; i++) writer.record(decision(i));
    await writer.flush();
    await s.tick();
    expect((await state.readStream('', 100)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    await writer.close();
  });

  it('once the files are shipped, ships the writer\'s writes from memory, and goes back to the files for a write it missed', async () => {
    const { dir, state, writer, s } = await liveAfterTen();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) writer.record(decision(100 + round * 20 + i));
      await writer.flush();
    }
    await s.tick();
    expect(s.spans.live).toBeGreaterThan(0);
    expect((await state.readStream('', 1000)).map((e) => e.line)).toEqual(await fileEvents(dir));
    // A write the shipper never heard of: the next one does not follow, so the files fill the gap.
    writer.onWritten(undefined);
    writer.record(decision(500));
    await writer.flush();
    writer.onWritten((w) => s.offer(w));
    for (let i = 0; i < 5; i++) writer.record(decision(600 + i));
    await writer.flush();
    const fromFiles = s.spans.files;
    await s.tick();
    await s.tick();
    expect(s.spans.files).toBeGreaterThan(fromFiles);
    const stream = await state.readStream('', 1000);
    expect(stream.map((e) => e.line)).toEqual(await fileEvents(dir));
    expect(stream.map((e) => e.seq)).toEqual(Array.from({ length: 76 }, (_, i) => i + 1));
    // Live again afterwards.
    const live = s.spans.live;
    writer.record(decision(700));
    await writer.flush();
    await s.tick();
    expect(s.spans.live).toBe(live + 1);
    expect((await state.readStream('', 1000)).length).toBe(77);
    await writer.close();
  });

  it('stays live when a write is handed over after the files already shipped it', async () => {
    const { dir, state, writer, s } = await liveAfterTen();
    // The writer's hand-over of events 9 and 10 arrives late: they are in the stream already.
    const late = Buffer.from((await fileEvents(dir)).slice(8).map((l) => `${l}\n`).join(''));
    s.offer({ first: 9, last: 10, blocks: [{ buf: late, used: late.length }] });
    for (let i = 10; i < 15; i++) writer.record(decision(i));
    await writer.flush();
    await s.tick();
    expect(s.spans).toEqual({ live: 1, files: 1 });
    expect((await state.readStream('', 100)).map((e) => e.line)).toEqual(await fileEvents(dir));
    await writer.close();
  });

  it('leaves event lines that no seal covers', async () => {
    const dir = await tempDir();
    const state = new MemoryState();
    const writer = await written(dir, 0, 3);
    const [file] = await listEventFiles(dir, 'a');
    const last = (await fileEvents(dir)).at(-1) as string;
    // A line as an interrupted write leaves it (no seal after it).
    await appendFile(file?.path as string, `${last.replace('"seq":3', '"seq":4')}\n`);
    const s = shipper(dir, state, writer);
    await s.tick();
    expect((await state.readStream('', 100)).map((e) => e.seq)).toEqual([1, 2, 3]);
    await writer.close();
  });

  it('follows the stream when it stands elsewhere, and goes on after a restart without repeating', async () => {
    const dir = await tempDir();
    const state = new MemoryState();
    const writer = await written(dir, 0, 6);
    // Another run shipped 1..3 already: a new shipper starts after them.
    const lines = await fileEvents(dir);
    await state.shipEvents('a', spanOf(lines.slice(0, 3)));
    const first = shipper(dir, state, writer);
    await first.tick();
    expect((await state.readStream('', 100)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    // A reply lost after the stream took seq 7: the next batch is refused and the shipper follows.
    for (let i = 6; i < 9; i++) writer.record(decision(i));
    await writer.flush();
    const seven = (await fileEvents(dir))[6] as string;
    await state.shipEvents('a', spanOf([seven]));
    await first.tick();
    expect((await state.readStream('', 100)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await writer.close();
    // A restart: the writer continues the chain, a new shipper continues the stream.
    const again = await written(dir, 9, 2);
    const second = shipper(dir, state, again);
    await second.tick();
    const stream = await state.readStream('', 100);
    expect(stream.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(stream.map((e) => e.line)).toEqual(await fileEvents(dir));
    await again.close();
  });

  it('takes the jump when files were deleted by retention, and ships past a damaged line', async () => {
    const dir = await tempDir();
    const state = new MemoryState();
    const writer = await AuditWriter.open(writerOptions(dir));
    for (let i = 0; i < 3; i++) writer.record(decision(i));
    await writer.flush();
    for (let i = 3; i < 6; i++) writer.record(decision(i, { ts: Date.UTC(2026, 10, 29, 10, 0, i) }));
    await writer.flush();
    const [dayOne] = await listEventFiles(dir, 'a');
    await state.shipEvents('a', spanOf((await fileEvents(dir)).slice(0, 2)));
    // Shipped up to 2; then the first day's file went (retention) before the rest was shipped.
    await unlink(dayOne?.path as string);
    await shipper(dir, state, writer).tick();
    expect((await state.readStream('', 100)).map((e) => e.seq)).toEqual([1, 2, 4, 5, 6]);

    // A line removed from the middle of a write: the stream gets the rest, in order.
    const other = await tempDir();
    const damaged = new MemoryState();
    const w2 = await written(other, 0, 5);
    const [file] = await listEventFiles(other, 'a');
    const text = await readFile(file?.path as string, 'utf8');
    await writeFile(file?.path as string, text.split('\n').filter((l) => !l.includes('"seq":3,')).join('\n'));
    await shipper(other, damaged, w2).tick();
    expect((await damaged.readStream('', 100)).map((e) => e.seq)).toEqual([1, 2, 4, 5]);
    await writer.close();
    await w2.close();
  });
});

