import { mkdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventAppender, MAX_WRITEV_BYTES, MAX_WRITEV_BYTES_BEHIND, advance, nextPiece } from '../../../src/audit/appender.ts';
import { BLOCK_BYTES, Outbox } from '../../../src/audit/outbox.ts';
import { tempDir } from './helpers.ts';

function outboxOf(name: string, texts: string[]): Outbox {
  const o = new Outbox();
  texts.forEach((t, i) => {
    const b = Buffer.from(t + '\n');
    o.add(name, b, b.length, i + 1, 0);
  });
  return o;
}

describe('EventAppender', () => {
  it('appends a chunk to its file (after what is there), and switches files by closing the old handle', async () => {
    const dir = await tempDir();
    const app = new EventAppender(dir, true);
    await app.write(outboxOf('x.jsonl', ['1', '2']).first!);
    await app.write(outboxOf('x.jsonl', ['3']).first!);
    expect(app.openName).toBe('x.jsonl');
    await app.write(outboxOf('y.jsonl', ['4']).first!);
    expect(app.openName).toBe('y.jsonl');
    await app.sync();
    await app.close();
    expect(app.openName).toBe('');
    expect(await readFile(join(dir, 'x.jsonl'), 'utf8')).toBe('1\n2\n3\n');
    expect(await readFile(join(dir, 'y.jsonl'), 'utf8')).toBe('4\n');
  });

  it('keeps a failed chunk intact and writes it once, whole, on the next attempt', async () => {
    const dir = await tempDir();
    const app = new EventAppender(dir, false);
    await mkdir(join(dir, 'x.jsonl')); // open(…, "a") fails with EISDIR
    const chunk = outboxOf('x.jsonl', ['1', '2']).first!;
    await expect(app.write(chunk)).rejects.toThrow(/EISDIR/);
    await rmdir(join(dir, 'x.jsonl'));
    await app.write(chunk);
    await app.close();
    expect(await readFile(join(dir, 'x.jsonl'), 'utf8')).toBe('1\n2\n');
    expect(chunk.writing).toBe(true);
    // Written already: a repeated call writes nothing more.
    await app.write(chunk);
    await app.close();
    expect(await readFile(join(dir, 'x.jsonl'), 'utf8')).toBe('1\n2\n');
  });

  it('close() with nothing open is a no-op', async () => {
    const app = new EventAppender(await tempDir(), true);
    await app.sync();
    await app.close();
    expect(app.openName).toBe('');
  });

  it('writes a chunk of several blocks and its seal, a line longer than a piece included, and appends single lines', async () => {
    const dir = await tempDir();
    const o = new Outbox();
    const big = Buffer.alloc(BLOCK_BYTES - 2, 0x61);
    big[big.length - 1] = 10;
    o.add('x.jsonl', big, big.length, 1, 0);
    o.add('x.jsonl', Buffer.from('second\n'), 7, 2, 0);
    o.close(o.first!, Buffer.from('seal\n'));
    expect(o.first!.blocks).toHaveLength(3);
    const app = new EventAppender(dir, true);
    await app.write(o.first!);
    await app.appendLine('x.jsonl', Buffer.from('shutdown\n'));
    await app.close();
    const text = await readFile(join(dir, 'x.jsonl'), 'utf8');
    expect(text.length).toBe(big.length + 7 + 5 + 9);
    expect(text.endsWith('\nsecond\nseal\nshutdown\n')).toBe(true);
  });
});

describe('EventAppender pieces', () => {
  /** ~1.8 MB of 450-byte lines over two blocks, then a seal: a 4,096-event write. */
  function bigChunk(): { outbox: Outbox; bytes: Buffer } {
    const o = new Outbox();
    const lines: Buffer[] = [];
    for (let i = 0; i < 4096; i++) {
      const line = Buffer.from(`{"seq":${i + 1},"pad":"${'x'.repeat(420 + (i % 17))}"}\n`);
      lines.push(line);
      o.add('x.jsonl', line, line.length, i + 1, 0);
    }
    const seal = Buffer.from(`{"type":"seal","count":4096}\n`);
    o.close(o.first!, seal);
    return { outbox: o, bytes: Buffer.concat([...lines, seal]) };
  }

  it('cuts a write into pieces of whole lines, none over MAX_WRITEV_BYTES, that add up to the chunk', () => {
    const { outbox, bytes } = bigChunk();
    const chunk = outbox.first!;
    expect(chunk.blocks.length).toBeGreaterThanOrEqual(3);
    const pieces: Buffer[] = [];
    while (chunk.blockIndex < chunk.blocks.length) {
      const piece = Buffer.concat(nextPiece(chunk, MAX_WRITEV_BYTES));
      expect(piece.length).toBeGreaterThan(0);
      expect(piece.length).toBeLessThanOrEqual(MAX_WRITEV_BYTES);
      expect(piece.at(-1)).toBe(0x0a);
      pieces.push(piece);
      advance(chunk, piece.length);
    }
    expect(pieces.length).toBeGreaterThanOrEqual(Math.ceil(bytes.length / MAX_WRITEV_BYTES));
    expect(Buffer.concat(pieces).equals(bytes)).toBe(true);
  });

  it('continues a short write from mid-line to a line end, and cuts only a line longer than the limit', () => {
    const { outbox, bytes } = bigChunk();
    const chunk = outbox.first!;
    advance(chunk, 1000); // a short write stopped inside the third line
    const piece = Buffer.concat(nextPiece(chunk, 4096));
    expect(piece.equals(bytes.subarray(1000, 1000 + piece.length))).toBe(true);
    expect(piece.at(-1)).toBe(0x0a);
    expect(piece.length).toBeLessThanOrEqual(4096);
    // A limit shorter than the line left: the piece is the limit, the line is cut.
    expect(Buffer.concat(nextPiece(chunk, 100)).equals(bytes.subarray(1000, 1100))).toBe(true);
  });

  it('writes a 4,096-event chunk in pieces to the same bytes as one write', async () => {
    const dir = await tempDir();
    const { outbox, bytes } = bigChunk();
    const app = new EventAppender(dir, true);
    await app.write(outbox.first!);
    await app.sync();
    await app.close();
    expect((await readFile(join(dir, 'x.jsonl'))).equals(bytes)).toBe(true);
    // One system call per piece, not one for the whole 1.8 MB.
    expect(app.writevCalls).toBeGreaterThanOrEqual(Math.ceil(bytes.length / MAX_WRITEV_BYTES));
  });

  it('writes a chunk in one writev when given MAX_WRITEV_BYTES_BEHIND (the writer is behind), to the same bytes', async () => {
    const dir = await tempDir();
    const { outbox, bytes } = bigChunk();
    expect(bytes.length).toBeLessThan(MAX_WRITEV_BYTES_BEHIND);
    const app = new EventAppender(dir, true);
    await app.write(outbox.first!, MAX_WRITEV_BYTES_BEHIND);
    await app.sync();
    await app.close();
    expect((await readFile(join(dir, 'x.jsonl'))).equals(bytes)).toBe(true);
    expect(app.writevCalls).toBe(1);
  });
});
