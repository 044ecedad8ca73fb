import { describe, expect, it } from 'vitest';
import { BLOCK_BYTES, Outbox } from '../../../src/audit/outbox.ts';

const line = (text: string): Buffer => Buffer.from(text + '\n');

function contents(o: Outbox): string[] {
  return o.chunks.map((c) => c.name + ':' + c.blocks.map((b) => b.buf.toString('utf8', 0, b.used)).join(''));
}

describe('Outbox', () => {
  it('groups consecutive lines per file, in order, with the chunk head (last seq and hash)', () => {
    const o = new Outbox();
    o.add('a', line('1'), 2, 1, 'h1');
    o.add('a', line('2'), 2, 2, 'h2');
    o.add('b', line('3'), 2, 3, 'h3');
    o.add('a', line('4'), 2, 4, 'h4');
    expect(contents(o)).toEqual(['a:1\n2\n', 'b:3\n', 'a:4\n']);
    expect(o.chunks.map((c) => [c.count, c.lastSeq, c.lastHash])).toEqual([[2, 2, 'h2'], [1, 3, 'h3'], [1, 4, 'h4']]);
    expect(o.events).toBe(4);
  });

  it('copies only `length` bytes of the scratch buffer', () => {
    const o = new Outbox();
    const scratch = Buffer.from('abc\nGARBAGE');
    o.add('a', scratch, 4, 1, 'h');
    expect(contents(o)).toEqual(['a:abc\n']);
  });

  it('never appends to a chunk that is being written', () => {
    const o = new Outbox();
    o.add('a', line('1'), 2, 1, 'h1');
    o.first!.writing = true;
    o.add('a', line('2'), 2, 2, 'h2');
    expect(contents(o)).toEqual(['a:1\n', 'a:2\n']);
  });

  it('completeFirst() removes the oldest chunk and reuses its block for later lines', () => {
    const o = new Outbox();
    o.add('a', line('1'), 2, 1, 'h1');
    const block = o.first!.blocks[0]!.buf;
    expect(block.length).toBe(BLOCK_BYTES);
    const done = o.completeFirst();
    expect(done?.count).toBe(1);
    expect(o.events).toBe(0);
    expect(o.first).toBeUndefined();
    o.add('b', line('2'), 2, 2, 'h2');
    expect(o.first!.blocks[0]!.buf).toBe(block);
    expect(contents(o)).toEqual(['b:2\n']);
    expect(o.completeFirst()).toBeDefined();
    expect(o.completeFirst()).toBeUndefined();
  });

  it('starts a new block when a line does not fit, and takes a larger one for a line bigger than a block', () => {
    const o = new Outbox();
    const big = Buffer.alloc(BLOCK_BYTES - 10, 0x61);
    o.add('a', big, big.length, 1, 'h1');
    o.add('a', line('123456789012'), 13, 2, 'h2');
    expect(o.first!.blocks.map((b) => b.used)).toEqual([BLOCK_BYTES - 10, 13]);
    const huge = Buffer.alloc(BLOCK_BYTES + 5, 0x62);
    o.add('a', huge, huge.length, 3, 'h3');
    expect(o.first!.blocks.at(-1)!.buf.length).toBe(BLOCK_BYTES + 5);
  });

  it('starts a new chunk after maxPerChunk lines (one write is at most that many)', () => {
    const o = new Outbox(2);
    for (let i = 1; i <= 5; i++) o.add('a', line(String(i)), 2, i, `h${i}`);
    expect(o.chunks.map((c) => c.count)).toEqual([2, 2, 1]);
  });

  it('close() ends a chunk with a last line (its seal): it takes no more lines', () => {
    const o = new Outbox();
    o.add('a', line('1'), 2, 1, 'h1');
    o.close(o.first!, Buffer.from('seal\n'));
    o.add('a', line('2'), 2, 2, 'h2');
    expect(contents(o)).toEqual(['a:1\nseal\n', 'a:2\n']);
    expect(o.first!.count).toBe(1);
  });
});
