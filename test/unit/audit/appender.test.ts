import { mkdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventAppender } from '../../../src/audit/appender.ts';
import { BLOCK_BYTES, Outbox } from '../../../src/audit/outbox.ts';
import { tempDir } from './helpers.ts';

function outboxOf(name: string, texts: string[]): Outbox {
  const o = new Outbox();
  texts.forEach((t, i) => {
    const b = Buffer.from(t + '\n');
    o.add(name, b, b.length, i + 1, `h${i + 1}`);
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

  it('writes a chunk of several blocks and its seal together, and appends single lines', async () => {
    const dir = await tempDir();
    const o = new Outbox();
    const big = Buffer.alloc(BLOCK_BYTES - 2, 0x61);
    big[big.length - 1] = 10;
    o.add('x.jsonl', big, big.length, 1, 'h1');
    o.add('x.jsonl', Buffer.from('second\n'), 7, 2, 'h2');
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
