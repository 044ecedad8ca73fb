import { mkdir, readFile, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventAppender } from '../../../src/audit/appender.ts';
import { Outbox } from '../../../src/audit/outbox.ts';
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
});
