import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSourceBody, parseSourceChunks, parseSourceFile } from '../../../src/lists/source-parser.ts';

describe('parseSourceBody', () => {
  it('detects hosts, domains and adblock lines, also mixed, and ignores what it cannot represent', async () => {
    const body = Buffer.from(
      [
        '! Title: Mixed',
        '[Adblock Plus]',
        '||ads.example.com^',
        '||important.example.com^$important',
        '||third.example.com^$third-party',
        '@@||allowed.example.com^',
        '||wild*.example.com^',
        '0.0.0.0 hosts.example.com',
        'plain.example.com',
        '*.wild.example.org',
        'not a domain!',
        '',
      ].join('\n'),
    );
    const parsed = await parseSourceBody(body);
    expect(parsed.title).toBe('Mixed');
    expect(parsed.formats).toEqual({ hosts: 1, domains: 2, adblock: 2 });
    expect(parsed.ignored).toBe(3);
    expect(parsed.invalid).toBe(1);
    expect(parsed.set.toSortedArray()).toEqual(['ads.example.com', 'hosts.example.com', 'important.example.com', 'plain.example.com', 'wild.example.org']);
  });

  it('reports the names at or below watched roots as it parses, once each, and not look-alikes', async () => {
    const body = Buffer.from('0.0.0.0 ns-440.awsdns-55.com\n||AWSDNS-55.com^\nns-440.awsdns-55.com\nxawsdns-55.com\na.akam.net\ntiktok.com\n');
    const parsed = await parseSourceBody(body, 'auto', { watch: ['awsdns-55.com', 'akam.net'] });
    expect(parsed.under).toEqual(['ns-440.awsdns-55.com', 'awsdns-55.com', 'a.akam.net']);
    expect((await parseSourceBody(body)).under).toEqual([]);
  });

  it('with an explicit format, other lines are invalid', async () => {
    const parsed = await parseSourceBody(Buffer.from('||a.com^\nb.com\n0.0.0.0 c.com\n'), 'adblock');
    expect(parsed.formats.adblock).toBe(1);
    expect(parsed.invalid).toBe(2);
  });

  it.each([
    ['<!DOCTYPE html><html><body>Rate limited</body></html>', /HTML/],
    ['  <html>oops', /HTML/],
    ['a.com\n\u0000\u0001binary', /control byte/],
  ])('refuses %j', async (text, message) => {
    await expect(parseSourceBody(Buffer.from(text))).rejects.toThrow(message);
  });
});

describe('parseSourceChunks and parseSourceFile', () => {
  const text = '# Title: Split\r\n0.0.0.0 first.example.com\r\n||second.example.org^\r\nbad..name\r\nthird.example.net\r\n0.0.0.0 last.example.com';
  const summary = (p: Awaited<ReturnType<typeof parseSourceBody>>): unknown => [p.title, p.formats, p.invalid, p.invalidSamples, p.set.toSortedArray()];

  it('gives the same result wherever the body is cut into chunks (CRLF, last line without a newline)', async () => {
    const whole = await parseSourceBody(Buffer.from(text), 'auto', { where: 'http://127.0.0.1/l.txt' });
    expect(whole.set.toSortedArray()).toEqual(['first.example.com', 'last.example.com', 'second.example.org', 'third.example.net']);
    expect(whole.invalidSamples).toEqual(['http://127.0.0.1/l.txt:4: bad..name']);
    const body = Buffer.from(text);
    for (let a = 0; a <= body.length; a++) {
      for (const b of [a, Math.min(body.length, a + 1), Math.min(body.length, a + 17)]) {
        const parts = [body.subarray(0, a), body.subarray(a, b), body.subarray(b)].filter((c) => c.length > 0);
        expect(summary(await parseSourceChunks(parts, body.length, 'auto', { where: 'http://127.0.0.1/l.txt' })), `${a}/${b}`).toEqual(summary(whole));
      }
    }
  });

  it('reads a file in 1 MB chunks into one buffer: a big body parses like one in memory, bad lines named file:line', async () => {
    const lines: string[] = [];
    for (let i = 0, bytes = 0; bytes < 3.5 * 1024 * 1024; i++) {
      lines.push(i === 70_000 ? 'not a name!' : `0.0.0.0 host${i}.example${i % 13}.com`);
      bytes += (lines[i] as string).length + 2;
    }
    const body = Buffer.from(`${lines.join('\r\n')}\r\n`);
    const file = join(await mkdtemp(join(tmpdir(), 'dnsward-parser-')), 'big.txt');
    await writeFile(file, body);
    const hashed: number[] = [];
    const fromFile = await parseSourceFile(file, 'auto', { hash: { update: (chunk) => hashed.push(chunk.length) } });
    expect(hashed.length).toBeGreaterThan(3);
    expect(hashed.reduce((a, b) => a + b, 0)).toBe(body.length);
    expect(fromFile.invalidSamples).toEqual([`${file}:70001: not a name!`]);
    expect(fromFile.set.size).toBe(lines.length - 1);
    const inMemory = await parseSourceBody(body, 'auto', { where: file });
    expect(summary(fromFile)).toEqual(summary(inMemory));
    await expect(parseSourceFile(file, 'auto', { where: 'http://x/l' }, 1000)).rejects.toThrow(`http://x/l is ${body.length} bytes, over lists.max_source_bytes (1000)`);
  });

  it('refuses control bytes anywhere in the first 64 KB, also past the first chunk', async () => {
    const head = Buffer.from('a.example.com\n'.repeat(10));
    await expect(parseSourceChunks([head, Buffer.from('b.com\n\u0001')], 200)).rejects.toThrow(/control byte 0x1 at offset 146/);
  });
});
