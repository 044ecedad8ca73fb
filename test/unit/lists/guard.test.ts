import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DomainSet } from '../../../src/lists/domain-set.ts';
import { applyNeverBlock, CollateralGuard, EMPTY_NEVER_BLOCK, guardedEntries, guardedVersion, loadNeverBlock, neverBlockFrom, recordSubtreeScan } from '../../../src/lists/guard.ts';
import { parseListFile } from '../../../src/lists/list-file.ts';
import type { ListSnapshot } from '../../../src/lists/types.ts';

const NEVER = neverBlockFrom(
  parseListFile(
    '# source: T x\naliyuncs.com 2026-12-02 T Alibaba\nakamaized.net 2026-12-02 T Akamai\nplay.google.com 2026-12-02 T store\nawsdns-55.com 2026-12-02 T subtree: AWS name servers\n',
    'never-block.txt',
  ),
);

const maintained: ListSnapshot = {
  name: 'm',
  title: 'M',
  description: 'd',
  version: 'aaaaaaaaaaaa',
  lastModified: new Date('2026-12-02T00:00:00Z'),
  domains: ['akamaized.net', 'google.com', 'tiktok.com'],
  hosts: ['akamaized.net', 'p16.akamaized.net', 'google.com', 'tiktok.com', 'www.tiktok.com'],
  provenance: [
    { domain: 'akamaized.net', added: '2026-12-02', sources: ['X'] },
    { domain: 'p16.akamaized.net', added: '2026-12-02', sources: ['X'], host: true },
    { domain: 'tiktok.com', added: '2026-12-02', sources: ['X'] },
  ],
  origin: 'maintained',
};

function subscribed(names: string[], version = 'bbbbbbbbbbbb'): ListSnapshot {
  const set = DomainSet.from(names);
  return {
    name: 'hostile',
    title: 'hostile',
    description: 'subscribed',
    version,
    lastModified: new Date(0),
    set,
    origin: 'subscribed',
    get domains(): readonly string[] {
      throw new Error('the guard must not materialise a big list');
    },
  };
}

describe('guardedEntries', () => {
  it('finds entries equal to or above a protected name, and entries at or under a subtree: name', () => {
    const list = subscribed(['aliyuncs.com', 'com', 'google.com', 'tiktok.com', 'p16-tiktokcdn-com.akamaized.net', 'ns-440.awsdns-55.com', 'awsdns-55.com']);
    expect(guardedEntries(list, NEVER)).toEqual([
      { domain: 'aliyuncs.com', protects: 'aliyuncs.com' },
      { domain: 'awsdns-55.com', protects: 'awsdns-55.com' },
      { domain: 'com', protects: 'aliyuncs.com' },
      { domain: 'google.com', protects: 'play.google.com' },
      { domain: 'ns-440.awsdns-55.com', protects: 'awsdns-55.com' },
    ]);
    expect(guardedEntries(list, EMPTY_NEVER_BLOCK)).toEqual([]);
  });
});

describe('recordSubtreeScan', () => {
  it('lets the guard take the names a parser found under the roots instead of scanning the set again', () => {
    const list = subscribed(['ns-1.awsdns-55.com', 'tiktok.com']);
    if (!list.set) throw new Error('no set');
    recordSubtreeScan(list.set, NEVER.subtrees, ['tiktok.com']);
    expect(guardedEntries(list, NEVER).map((g) => g.domain)).toEqual(['tiktok.com']);
    recordSubtreeScan(list.set, ['other.example'], []);
    expect(guardedEntries(list, NEVER).map((g) => g.domain)).toEqual(['ns-1.awsdns-55.com']);
  });
});

describe('applyNeverBlock', () => {
  it('returns the same snapshot when nothing is dropped', () => {
    const clean = { ...maintained, domains: ['tiktok.com'], hosts: ['tiktok.com'] };
    expect(applyNeverBlock(clean, NEVER)).toBe(clean);
  });

  it('drops guarded entries and the known hosts only they covered, with a new version that says so', () => {
    const out = applyNeverBlock(maintained, NEVER);
    expect(out.domains).toEqual(['tiktok.com']);
    expect(out.hosts).toEqual(['tiktok.com', 'www.tiktok.com']);
    expect(out.provenance?.map((p) => p.domain)).toEqual(['tiktok.com']);
    expect(out.guarded).toEqual([
      { domain: 'akamaized.net', protects: 'akamaized.net' },
      { domain: 'google.com', protects: 'play.google.com' },
    ]);
    expect(out.version).toBe(guardedVersion('aaaaaaaaaaaa', out.guarded ?? []));
    expect(out.version).not.toBe(maintained.version);
    expect(out).toMatchObject({ name: 'm', title: 'M', origin: 'maintained' });
    expect(maintained.domains).toHaveLength(3);
  });

  it('drops from a copy of a big list\'s set without materialising its names; the set in force is untouched', () => {
    const list = subscribed(['aliyuncs.com', 'tiktok.com', 'x.tiktok.com']);
    const out = applyNeverBlock(list, NEVER);
    expect(out.set?.has('aliyuncs.com')).toBe(false);
    expect(out.set?.has('tiktok.com')).toBe(true);
    expect(list.set?.has('aliyuncs.com')).toBe(true);
    expect(out.domains).toEqual(['tiktok.com', 'x.tiktok.com']);
    expect(out.origin).toBe('subscribed');
  });
});

describe('CollateralGuard', () => {
  it('logs what it drops once per list version', () => {
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    const guard = new CollateralGuard(NEVER, { warn: (fields, message) => lines.push({ fields: fields as Record<string, unknown>, message }) });
    guard.apply(subscribed(['aliyuncs.com', 'tiktok.com']));
    guard.apply(subscribed(['aliyuncs.com', 'tiktok.com']));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.message).toBe('list "hostile": 1 entry not enforced: they would block names in never-block.txt (shared infrastructure)');
    expect(lines[0]?.fields).toMatchObject({ list: 'hostile', origin: 'subscribed', base_version: 'bbbbbbbbbbbb', dropped: 1, entries: [{ domain: 'aliyuncs.com', protects: 'aliyuncs.com' }] });
    guard.apply(subscribed(['aliyuncs.com', 'taobao.com'], 'cccccccccccc'));
    expect(lines).toHaveLength(2);
    guard.apply(subscribed(['tiktok.com']));
    expect(lines).toHaveLength(2);
    // A reload's guard keeps what was logged: the same version does not log again; the same input gives the same output.
    const next = guard.withNeverBlock(NEVER);
    const input = subscribed(['aliyuncs.com', 'taobao.com'], 'cccccccccccc');
    const once = next.apply(input);
    expect(next.apply(input)).toBe(once);
    expect(lines).toHaveLength(2);
    expect(next.withNeverBlock(EMPTY_NEVER_BLOCK).apply(input)).toBe(input);
  });
});

describe('loadNeverBlock', () => {
  it('reads DIR/never-block.txt, treats a missing file as no guard, and refuses a malformed one with file:line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dnsward-guard-'));
    expect(await loadNeverBlock(dir)).toEqual(EMPTY_NEVER_BLOCK);
    await writeFile(join(dir, 'never-block.txt'), '# source: T x\nakam.net 2026-12-02 T subtree: Akamai DNS\n');
    expect(await loadNeverBlock(dir)).toEqual({ names: ['akam.net'], subtrees: ['akam.net'] });
    await writeFile(join(dir, 'never-block.txt'), 'not a domain!\n');
    await expect(loadNeverBlock(dir)).rejects.toThrow(/never-block\.txt:1: "not" is not a valid domain name/);
  });

  it('reads the shipped never-block.txt: shared CDNs, name servers as subtrees', async () => {
    const shipped = await loadNeverBlock('lists');
    expect(shipped.names).toEqual(expect.arrayContaining(['akamaized.net', 'aliyuncs.com', 'taobao.com', 'awsdns-55.com', 'gifshow.com']));
    expect(shipped.subtrees).toEqual(expect.arrayContaining(['awsdns-55.com', 'akam.net']));
    expect(shipped.subtrees).not.toContain('akamaized.net');
  });
});
