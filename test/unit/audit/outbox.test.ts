import { describe, expect, it } from 'vitest';
import { BLOCK_BYTES, Outbox } from '../../../src/audit/outbox.ts';

const line = (text: string): Buffer => Buffer.from(text + '\n');
/** A line whose hash digits (64 of `digit`) follow its text: the hash is at text.length + 1. */
const hashed = (text: string, digit: string): { buf: Buffer; hashAt: number } => ({ buf: Buffer.from(`${text} ${digit.repeat(64)}\n`), hashAt: text.length + 1 });

function contents(o: Outbox): string[] {
  return o.chunks.map((c) => c.name + ':' + c.blocks.map((b) => b.buf.toString('utf8', 0, b.used)).join(''));
}

describe('Outbox', () => {
  it('groups consecutive lines per file, in order, with the chunk head (last seq and hash)', () => {
    const o = new Outbox();
    for (const [name, text] of [['a', '1'], ['a', '2'], ['b', '3'], ['a', '4']] as const) {
      const { buf, hashAt } = hashed(text, text);
      o.add(name, buf, buf.length, Number(text), hashAt);
    }
    expect(contents(o).map((c) => c.replace(/ \d{64}/g, ''))).toEqual(['a:1\n2\n', 'b:3\n', 'a:4\n']);
    expect(o.chunks.map((c) => [c.count, c.lastSeq, o.lastHash(c)])).toEqual([[2, 2, '2'.repeat(64)], [1, 3, '3'.repeat(64)], [1, 4, '4'.repeat(64)]]);
    expect(o.events).toBe(4);
  });

  it('keeps a chunk\'s last hash once written, after its block is reused for other lines', () => {
    const o = new Outbox();
    const first = hashed('1', 'a');
    o.add('a', first.buf, first.buf.length, 1, first.hashAt);
    const block = o.first!.blocks[0]!.buf;
    const done = o.completeFirst()!;
    const second = hashed('2', 'b');
    o.add('a', second.buf, second.buf.length, 2, second.hashAt);
    expect(o.first!.blocks[0]!.buf).toBe(block);
    expect([done.lastSeq, o.lastHash(done)]).toEqual([1, 'a'.repeat(64)]);
    expect(o.lastHash(o.first!)).toBe('b'.repeat(64));
  });

  it('copies only `length` bytes of the scratch buffer', () => {
    const o = new Outbox();
    const scratch = Buffer.from('abc\nGARBAGE');
    o.add('a', scratch, 4, 1, 0);
    expect(contents(o)).toEqual(['a:abc\n']);
  });

  it('never appends to a chunk that is being written', () => {
    const o = new Outbox();
    o.add('a', line('1'), 2, 1, 0);
    o.first!.writing = true;
    o.add('a', line('2'), 2, 2, 0);
    expect(contents(o)).toEqual(['a:1\n', 'a:2\n']);
  });

  it('completeFirst() removes the oldest chunk and reuses its block for later lines', () => {
    const o = new Outbox();
    o.add('a', line('1'), 2, 1, 0);
    const block = o.first!.blocks[0]!.buf;
    expect(block.length).toBe(BLOCK_BYTES);
    const done = o.completeFirst();
    expect(done?.count).toBe(1);
    expect(o.events).toBe(0);
    expect(o.first).toBeUndefined();
    o.add('b', line('2'), 2, 2, 0);
    expect(o.first!.blocks[0]!.buf).toBe(block);
    expect(contents(o)).toEqual(['b:2\n']);
    expect(o.completeFirst()).toBeDefined();
    expect(o.completeFirst()).toBeUndefined();
  });

  it('starts a new block when a line does not fit, and takes a larger one for a line bigger than a block', () => {
    const o = new Outbox();
    const big = Buffer.alloc(BLOCK_BYTES - 10, 0x61);
    o.add('a', big, big.length, 1, 0);
    o.add('a', line('123456789012'), 13, 2, 0);
    expect(o.first!.blocks.map((b) => b.used)).toEqual([BLOCK_BYTES - 10, 13]);
    const huge = Buffer.alloc(BLOCK_BYTES + 5, 0x62);
    o.add('a', huge, huge.length, 3, 0);
    expect(o.first!.blocks.at(-1)!.buf.length).toBe(BLOCK_BYTES + 5);
  });

  it('starts a new chunk after maxPerChunk lines (one write is at most that many)', () => {
    const o = new Outbox(2);
    for (let i = 1; i <= 5; i++) o.add('a', line(String(i)), 2, i, 0);
    expect(o.chunks.map((c) => c.count)).toEqual([2, 2, 1]);
  });

  it('close() ends a chunk with a last line (its seal): it takes no more lines', () => {
    const o = new Outbox();
    o.add('a', line('1'), 2, 1, 0);
    o.close(o.first!, Buffer.from('seal\n'));
    o.add('a', line('2'), 2, 2, 0);
    expect(contents(o)).toEqual(['a:1\nseal\n', 'a:2\n']);
    expect(o.first!.count).toBe(1);
  });

  it('frees the blocks of a backlog beyond its pool once they are written, without waiting for a collection', () => {
    const o = new Outbox();
    const big = Buffer.alloc(BLOCK_BYTES - 100, 0x61);
    for (let i = 1; i <= 20; i++) o.add('a', big, big.length, i, 0);
    const blocks = o.first!.blocks.map((b) => b.buf);
    expect(blocks).toHaveLength(20);
    const before = process.memoryUsage().arrayBuffers;
    o.completeFirst();
    const freed = before - process.memoryUsage().arrayBuffers;
    // 8 stay pooled for the next lines; the other 12 are detached, their memory gone at once.
    expect(blocks.filter((b) => b.length === 0)).toHaveLength(12);
    expect(blocks.filter((b) => b.length === BLOCK_BYTES)).toHaveLength(8);
    expect(freed).toBeGreaterThanOrEqual(12 * BLOCK_BYTES);
    o.add('b', line('next'), 5, 21, 0);
    expect(blocks.slice(0, 8)).toContain(o.first!.blocks[0]!.buf);
  });

  it('leaves no chunk without lines when no block can be had for a line (out of memory)', () => {
    const o = new Outbox();
    o.add('a', line('1'), 2, 1, 0);
    // Longer than any Buffer can be: taking its block throws, as an allocation failure would.
    expect(() => o.add('b', line('2'), Number.MAX_SAFE_INTEGER, 2, 0)).toThrow(RangeError);
    expect(o.chunks.map((c) => [c.name, c.count])).toEqual([['a', 1]]);
    expect(o.events).toBe(1);
  });

  it('never frees a block it did not allocate (a seal line)', () => {
    const o = new Outbox();
    o.add('a', line('1'), 2, 1, 0);
    const seal = Buffer.from('s'.repeat(BLOCK_BYTES + 1));
    o.close(o.first!, seal);
    o.completeFirst();
    expect(seal.length).toBe(BLOCK_BYTES + 1);
  });
});
