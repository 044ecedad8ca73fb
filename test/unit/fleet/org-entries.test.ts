import { describe, expect, it } from 'vitest';
import { type ChangeRecord, changeShapeProblem, inChangeOrder, OrgEntries } from '../../../src/fleet/org-entries.ts';

let seq = 0;
function change(action: 'add' | 'remove', list: string, domain: string): ChangeRecord {
  seq++;
  return { seq, ts: `2026-12-0${seq}T00:00:00.000Z`, instance: 'a', actor: 'alice', action, list, domain, reason: `why ${seq}`, list_version_before: 'v0', list_version_after: 'v1', prev: '0'.repeat(64), hash: 'f'.repeat(64) };
}

describe('OrgEntries', () => {
  it('folds adds and removes in order', () => {
    const entries = new OrgEntries();
    for (const c of [change('add', 'tiktok', 'b.example'), change('add', 'tiktok', 'a.example'), change('add', 'other', 'c.example'), change('remove', 'tiktok', 'b.example'), change('remove', 'other', 'c.example')]) entries.apply(c);
    expect(entries.of('tiktok').map((e) => [e.domain, e.reason])).toEqual([['a.example', 'why 2']]);
    expect(entries.lists()).toEqual(['tiktok']);
    expect(entries.get('tiktok', 'a.example')).toMatchObject({ actor: 'alice', seq: 2 });
    expect(entries.after({ ...change('add', 'tiktok', '0.example'), seq: 99 }).map((e) => e.domain)).toEqual(['0.example', 'a.example']);
    expect(entries.after(change('remove', 'tiktok', 'a.example'))).toEqual([]);
    expect(entries.of('tiktok').length).toBe(1);
  });

  it('checks the shape of a record and orders its members', () => {
    const record = change('add', 'l', 'd.example');
    expect(changeShapeProblem(record)).toBeUndefined();
    expect(changeShapeProblem({ ...record, action: 'drop' })).toBe('action "drop" is not "add" or "remove"');
    const { reason: _reason, ...without } = record;
    expect(changeShapeProblem(without)).toBe('field "reason" is missing');
    expect(changeShapeProblem({ ...record, actor: 5 })).toBe('actor is not a string');
    const { hash, ...rest } = record;
    expect(Object.keys(inChangeOrder({ hash, ...rest }))).toEqual(['seq', 'ts', 'instance', 'actor', 'action', 'list', 'domain', 'reason', 'list_version_before', 'list_version_after', 'prev', 'hash']);
  });
});
