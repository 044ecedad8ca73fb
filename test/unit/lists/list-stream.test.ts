import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { streamListFile } from '../../../src/lists/list-stream.ts';
import { DomainMatcher } from '../../../src/policy/domain-matcher.ts';

async function listFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dnsward-stream-'));
  const file = join(dir, `${name}.list`);
  await writeFile(file, text);
  return file;
}

describe('streamListFile', () => {
  it('loads entries into a set, with header metadata and the newest date as last-modified', async () => {
    const lines = ['# title: Big', '# description: generated', ...Array.from({ length: 50_000 }, (_, i) => `Host${i}.Example.COM.  2026-0${1 + (i % 9)}-15  gen`)];
    const file = await listFile('big', lines.join('\n'));
    const snapshot = await streamListFile(file, 1_000_000);
    expect(snapshot.name).toBe('big');
    expect(snapshot.title).toBe('Big');
    expect(snapshot.set?.size).toBe(50_000);
    expect(snapshot.set?.has('host49999.example.com')).toBe(true);
    expect(snapshot.lastModified.toISOString()).toBe('2026-09-15T00:00:00.000Z');
    const matcher = DomainMatcher.build([snapshot]);
    expect(matcher.match('www.host123.example.com', 1)?.rule).toBe('host123.example.com');
  });

  it('versions by content: same names give the same version, a change gives another', async () => {
    const a = await streamListFile(await listFile('a', 'x.com 2026-01-01 s\ny.com 2026-01-01 s\n'), 100);
    const b = await streamListFile(await listFile('a', 'x.com  2026-02-02  t  note\ny.com 2026-01-01 s'), 100);
    const c = await streamListFile(await listFile('a', 'x.com 2026-01-01 s\nz.com 2026-01-01 s\n'), 100);
    expect(a.version).toBe(b.version);
    expect(a.version).not.toBe(c.version);
  });

  it('reports bad lines as file:line and refuses the file', async () => {
    const file = await listFile('bad', 'good.com 2026-01-01 s\nbad..com 2026-01-01 s\n-x.com 2026-01-01 s\n');
    await expect(streamListFile(file, 100)).rejects.toThrow(`${file}:2: "bad..com" is not a valid domain name`);
    await expect(streamListFile(file, 100)).rejects.toThrow(`${file}:3:`);
  });

  it('materialises domains only on demand', async () => {
    const snapshot = await streamListFile(await listFile('m', 'b.com 2026-01-01 s\na.com 2026-01-01 s\n'), 100);
    expect(snapshot.domains).toEqual(['a.com', 'b.com']);
  });
});
