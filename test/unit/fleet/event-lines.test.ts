import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventLineScanner, readSeq } from '../../../src/fleet/event-lines.ts';
import { tempDir } from '../audit/helpers.ts';

const event = (seq: number, qname = 'a.tiktok.com') => `{"action":"blocked","qname":${JSON.stringify(qname)},"seq":${seq},"ts":"t","hash":"h"}`;
const seal = (seq: number) => `{"type":"seal","schema":1,"reason":"batch","seq":${seq},"count":2}`;

describe('EventLineScanner', () => {
  it('tells events from seals, reads each seq, and stops where asked', async () => {
    const path = join(await tempDir(), 'f.jsonl');
    await writeFile(path, `${event(1)}\n${event(2, 'x\\"seq\\":99.tiktok.com')}\n${seal(2)}\n{"other":1}\n${event(3)}`);
    const seen: string[] = [];
    const scanner = new EventLineScanner();
    const { offset, stopped } = await scanner.scan(path, 0, (kind, seq, buf, start, end, after) => {
      seen.push(`${kind}:${seq}:${buf.toString('utf8', start, end).length}:${after}`);
      return true;
    });
    // The last line has no newline: not complete, not handed on.
    expect(seen.map((s) => s.split(':').slice(0, 2).join(':'))).toEqual(['event:1', 'event:2', 'seal:2', 'other:0']);
    expect(stopped).toBe(false);
    expect(offset).toBe(Number(seen.at(-1)?.split(':').at(-1)));
    const first: number[] = [];
    const stop = await scanner.scan(path, 0, (_kind, seq) => {
      first.push(seq);
      return false;
    });
    expect(first).toEqual([1]);
    expect(stop).toEqual({ offset: event(1).length + 1, stopped: true });
    expect(await scanner.scan(join(path, '..', 'missing.jsonl'), 7, () => true)).toEqual({ offset: 7, stopped: false });
  });

  it('reads lines longer than its buffer, and from an offset', async () => {
    const path = join(await tempDir(), 'long.jsonl');
    const long = event(1, `${'x'.repeat(2_000_000)}.tiktok.com`);
    await writeFile(path, `${long}\n${event(2)}\n`);
    const seqs: number[] = [];
    await new EventLineScanner().scan(path, 0, (_k, seq) => (seqs.push(seq), true));
    expect(seqs).toEqual([1, 2]);
    const fromTwo: number[] = [];
    await new EventLineScanner().scan(path, long.length + 1, (_k, seq) => (fromTwo.push(seq), true));
    expect(fromTwo).toEqual([2]);
  });

  it('readSeq takes the member, not a quoted "seq": in a value', () => {
    const line = Buffer.from(event(42, 'q\\"seq\\":7'));
    expect(readSeq(line, 0, line.length)).toBe(42);
    expect(readSeq(Buffer.from('{"a":1}'), 0, 7)).toBe(0);
  });
});
