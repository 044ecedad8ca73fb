import { describe, expect, it } from 'vitest';
import { diffSize, diffStates, diffSummary, evidenceChange, sameSources, stateOf } from '../../../src/lists/list-diff.ts';

const entry = (domain: string, sources: string, host = false, note = '') => ({ domain, sources: sources.split(','), host, note });

describe('diffStates', () => {
  it('finds added, removed and re-sourced entries, sorted by name, hosts included', () => {
    const before = stateOf([entry('b.com', 'AG'), entry('a.com', 'AG,HZ'), entry('x.a.com', 'HZ', true, 'host: x'), entry('gone.com', 'DH')]);
    const after = stateOf([entry('a.com', 'HZ,AG'), entry('b.com', 'AG,CSPT'), entry('x.a.com', 'HZ'), entry('new.com', 'CRT', false, 'certificate')]);
    const diff = diffStates(before, after);
    expect(diff.added).toEqual([{ name: 'new.com', sources: ['CRT'], reason: 'certificate', host: false }]);
    expect(diff.removed).toEqual([{ name: 'gone.com', sources: ['DH'], reason: '', host: false }]);
    expect(diff.changed).toEqual([
      { name: 'b.com', sources: ['AG', 'CSPT'], before: ['AG'], reason: 'evidence +CSPT', host: false },
      { name: 'x.a.com', sources: ['HZ'], before: ['HZ'], reason: 'unchanged evidence; now a blocking entry of its own', host: false },
    ]);
    expect(diffSize(diff)).toBe(4);
    expect(diffSummary(diff)).toBe('1 added, 1 removed, 2 with other evidence');
  });

  it('keeps the first of duplicate names and compares sources as sets', () => {
    expect(stateOf([entry('a.com', 'AG'), entry('a.com', 'HZ')]).get('a.com')?.sources).toEqual(['AG']);
    expect(sameSources(['AG', 'HZ'], ['HZ', 'AG'])).toBe(true);
    expect(sameSources(['AG'], ['AG', 'HZ'])).toBe(false);
  });

  it('says what evidence came and went, and keeps "host:" first for known hosts', () => {
    expect(evidenceChange({ sources: ['AG', 'ND'], host: true, reason: '' }, { sources: ['AG', 'APP'], host: true, reason: '' })).toBe('host: evidence +APP -ND');
    expect(evidenceChange({ sources: ['V2b'], host: false, reason: '' }, { sources: ['V2b'], host: true, reason: '' })).toBe('host: unchanged evidence; now a known host under a listed parent');
  });
});
