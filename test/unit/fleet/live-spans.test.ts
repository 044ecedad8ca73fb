// The writer's writes held in memory for the shipper: one contiguous run, whole writes out,
// copies that later writes cannot disturb, and a bound.
import { describe, expect, it } from 'vitest';
import type { WrittenEvents } from '../../../src/audit/writer.ts';
import { LiveSpans } from '../../../src/fleet/live-spans.ts';

/** A write of events first..last, one line each, split over two buffers as the writer's blocks are. */
function write(first: number, last: number): WrittenEvents {
  let text = '';
  for (let seq = first; seq <= last; seq++) text += `{"seq":${seq}}\n`;
  const all = Buffer.from(text);
  const cut = Math.floor(all.length / 2);
  const a = Buffer.alloc(cut + 7, 0x78);
  all.copy(a, 0, 0, cut);
  return { first, last, blocks: [{ buf: a, used: cut }, { buf: Buffer.from(all.subarray(cut)), used: all.length - cut }] };
}

const text = (buf: Buffer): string => buf.toString();
const lines = (first: number, last: number): string => Array.from({ length: last - first + 1 }, (_, i) => `{"seq":${first + i}}\n`).join('');

describe('LiveSpans', () => {
  it('hands out whole writes, about maxBytes at a time, as copies', async () => {
    const live = new LiveSpans(1 << 20);
    live.add(write(1, 3));
    live.add(write(4, 4));
    live.add(write(5, 9));
    expect([live.first, live.last]).toEqual([1, 9]);
    const into = { buf: Buffer.alloc(0) };
    // Lines are 10 bytes: the first write is 30, with the second 40, over 35. Whole writes only,
    // and at least one, even when it alone is over the size asked for.
    const span = live.take(35, into);
    expect(span && [span.first, span.last, text(span.lines)]).toEqual([1, 3, lines(1, 3)]);
    const one = live.take(5, into);
    expect(one && [one.first, one.last]).toEqual([1, 3]);
    live.dropThrough(3);
    const all = live.take(1 << 20, into);
    expect(all && [all.first, all.last, text(all.lines)]).toEqual([4, 9, lines(4, 9)]);
    // Later writes, and the room they make, leave a taken span alone.
    const before = text(all?.lines ?? Buffer.alloc(0));
    for (let seq = 10; seq < 2000; seq += 10) live.add(write(seq, seq + 9));
    expect(text(all?.lines ?? Buffer.alloc(0))).toBe(before);
    live.dropThrough(9);
    const rest = live.take(1 << 20, into);
    expect(rest && [rest.first, rest.last, text(rest.lines)]).toEqual([10, 1999, lines(10, 1999)]);
    live.dropThrough(1999);
    expect([live.first, live.bytes, live.take(100, into)]).toEqual([0, 0, undefined]);
  });

  it('starts a new run at a write that does not follow, and drops a run that outgrows its bound', () => {
    const live = new LiveSpans(200);
    live.add(write(1, 2));
    live.add(write(5, 6));
    expect([live.first, live.last, live.gaps]).toEqual([5, 6, 1]);
    for (let seq = 7; seq < 30; seq++) live.add(write(seq, seq));
    expect(live.overflows).toBeGreaterThan(0);
    expect(live.bytes).toBeLessThanOrEqual(200);
    expect(live.last).toBe(29);
    const into = { buf: Buffer.alloc(0) };
    const span = live.take(1000, into);
    expect(span && text(span.lines)).toBe(lines(live.first, 29));
  });

  it('forgets what was shipped; a seq inside a write empties the run', () => {
    const live = new LiveSpans(1 << 20);
    live.add(write(1, 5));
    live.add(write(6, 10));
    live.dropThrough(0);
    expect(live.first).toBe(1);
    live.dropThrough(5);
    expect(live.first).toBe(6);
    live.dropThrough(7);
    expect([live.first, live.bytes]).toEqual([0, 0]);
  });
});
