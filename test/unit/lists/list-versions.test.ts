import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { changelogReasons, resolveListVersion } from '../../../src/lists/list-versions.ts';

let dir: string;
const HEADER = '# title: T\n# description: d\n# license: CC0-1.0\n# last-modified: 2026-12-02T00:00:00Z\n# source: AG AdGuard\n# source: CRT certificate\n';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dnsward-versions-'));
  await writeFile(join(dir, 't.list'), `${HEADER}a.com 2026-11-28 AG apex\nc.com 2026-12-02 CRT cert\n`);
  await writeFile(
    join(dir, 't.changes'),
    '## aaaaaaaaaaaa 2026-11-28T00:00:00Z\nsummary: first\n+ a.com AG apex\n+ b.com AG b\n## bbbbbbbbbbbb 2026-12-02T00:00:00Z\nsummary: second\n- b.com AG not ByteDance\n+ c.com CRT cert\n',
  );
  await writeFile(join(dir, 'old.list'), `${HEADER}a.com 2026-11-28 AG apex\n`);
});

describe('resolveListVersion', () => {
  it('reads a list by name, by file, and an earlier version from the changelog (a prefix will do)', async () => {
    const current = await resolveListVersion('t', dir);
    expect(current).toMatchObject({ name: 't', label: 't', lastModified: new Date('2026-12-02T00:00:00Z') });
    expect([...current.state.keys()]).toEqual(['a.com', 'c.com']);
    const file = await resolveListVersion(join(dir, 'old.list'), dir);
    expect(file.name).toBe('old');
    expect([...file.state.keys()]).toEqual(['a.com']);
    const logged = await resolveListVersion('t@aaaa', dir);
    expect(logged).toMatchObject({ name: 't', version: 'aaaaaaaaaaaa', lastModified: new Date('2026-11-28T00:00:00Z') });
    expect([...logged.state.keys()]).toEqual(['a.com', 'b.com']);
    expect(logged.sources).toMatchObject({ AG: 'AdGuard' });
  });

  it('says which versions exist when asked for another, and names unreadable files', async () => {
    await expect(resolveListVersion('t@ffff', dir)).rejects.toThrow(/has no version "ffff"; its versions, oldest first: aaaaaaaaaaaa, bbbbbbbbbbbb/);
    await expect(resolveListVersion('missing', dir)).rejects.toThrow(/cannot read the list file/);
  });
});

describe('changelogReasons', () => {
  it('gives the changelog\'s reasons for the changes after one version up to another', async () => {
    expect(Object.fromEntries(await changelogReasons('t', dir, 'aaaaaaaaaaaa', 'bbbbbbbbbbbb'))).toEqual({ 'b.com': 'not ByteDance', 'c.com': 'cert' });
    expect((await changelogReasons('t', dir, 'bbbbbbbbbbbb', 'aaaaaaaaaaaa')).size).toBe(0);
    expect((await changelogReasons('none', dir, 'a', 'b')).size).toBe(0);
  });
});
