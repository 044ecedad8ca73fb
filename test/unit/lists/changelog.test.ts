import { describe, expect, it } from 'vitest';
import { blockCounts, changelogFileOf, formatChangeBlock, parseChangelog, replay } from '../../../src/lists/changelog.ts';
import { diffStates, stateOf } from '../../../src/lists/list-diff.ts';

const LOG = `# comment
# source: OLD  a code only the history uses
## aaaaaaaaaaaa 2026-11-28T00:00:00Z
summary: first
+ a.com      AG,OLD  apex
+ www.a.com  AG      host: web
+ b.com      AG      b
## bbbbbbbbbbbb 2026-12-02T00:00:00Z
summary: second
- b.com      AG      not ByteDance
~ a.com      AG,CSPT evidence +CSPT -OLD
`;

describe('parseChangelog', () => {
  it('reads blocks, changes with line numbers, and the history-only source declarations', () => {
    const log = parseChangelog(LOG, 'lists/t.changes');
    expect(log.problems).toEqual([]);
    expect(log.sources).toEqual({ OLD: 'a code only the history uses' });
    expect(log.blocks.map((b) => [b.version, b.date, b.summary, b.line])).toEqual([
      ['aaaaaaaaaaaa', '2026-11-28T00:00:00.000Z', 'first', 3],
      ['bbbbbbbbbbbb', '2026-12-02T00:00:00.000Z', 'second', 8],
    ]);
    expect(log.blocks[1]?.changes).toEqual([
      { op: '-', name: 'b.com', sources: ['AG'], reason: 'not ByteDance', line: 10 },
      { op: '~', name: 'a.com', sources: ['AG', 'CSPT'], reason: 'evidence +CSPT -OLD', line: 11 },
    ]);
    expect(blockCounts(log.blocks[0]!)).toEqual({ added: 3, removed: 0, changed: 0 });
  });

  it.each([
    ['## nope!\n', 'lists/t.changes:1: a version block starts "## <version> <last-modified>"'],
    ['+ a.com AG x\n', 'lists/t.changes:1: a change before the first'],
    ['## aaaaaaaaaaaa 2026-11-28T00:00:00Z\n* a.com AG x\n', 'lists/t.changes:2: write "+ name SOURCES reason"'],
    ['## aaaaaaaaaaaa 2026-11-28T00:00:00Z\n+ a.com A$G x\n', 'lists/t.changes:2: "A$G" is not a comma-separated list of source codes'],
  ])('reports %j', (text, expected) => {
    expect(parseChangelog(text, 'lists/t.changes').problems[0]).toMatch(new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  });
});

describe('replay', () => {
  it('rebuilds each version, up to the one asked for', () => {
    const log = parseChangelog(LOG, 'lists/t.changes');
    const first = replay(log, log.file, 'aaaaaaaaaaaa');
    expect([...first.state.keys()]).toEqual(['a.com', 'www.a.com', 'b.com']);
    expect(first.state.get('www.a.com')?.host).toBe(true);
    const last = replay(log, log.file);
    expect(last.problems).toEqual([]);
    expect(Object.fromEntries([...last.state].map(([n, e]) => [n, e.sources]))).toEqual({ 'a.com': ['AG', 'CSPT'], 'www.a.com': ['AG'] });
  });

  it('reports changes that do not apply to the version before them', () => {
    const log = parseChangelog('## aaaaaaaaaaaa 2026-11-28T00:00:00Z\n+ a.com AG x\n+ a.com AG x\n- c.com AG gone\n~ d.com AG y\n- a.com HZ gone\n', 'lists/t.changes');
    expect(replay(log, log.file).problems).toEqual([
      'lists/t.changes:3: "a.com" is added but is already in the list (line of an earlier block); use "~" for other evidence',
      'lists/t.changes:4: "c.com" is removed but is not in the list at that version',
      'lists/t.changes:5: "d.com" changes evidence but is not in the list at that version; use "+"',
      'lists/t.changes:6: "a.com" had the sources AG, not HZ',
    ]);
  });
});

describe('formatChangeBlock', () => {
  it('writes a block that parses back to the same changes (removals without a reason for the maintainer to fill in)', () => {
    const before = stateOf([{ domain: 'a.com', sources: ['AG'], host: false, note: 'apex' }, { domain: 'b.com', sources: ['AG'], host: false, note: 'b' }]);
    const after = stateOf([{ domain: 'a.com', sources: ['AG', 'CSPT'], host: false, note: 'apex' }, { domain: 'c.com', sources: ['CRT'], host: false, note: 'certificate' }]);
    const text = formatChangeBlock('cccccccccccc', new Date('2026-12-02T00:00:00Z'), 'third', diffStates(before, after));
    expect(text).toBe('## cccccccccccc 2026-12-02T00:00:00Z\nsummary: third\n+ c.com  CRT  certificate\n- b.com  AG\n~ a.com  AG,CSPT  evidence +CSPT\n');
    expect(parseChangelog(text, 'x').blocks[0]?.changes.map((c) => [c.op, c.name, c.sources.join(','), c.reason])).toEqual([
      ['+', 'c.com', 'CRT', 'certificate'],
      ['-', 'b.com', 'AG', ''],
      ['~', 'a.com', 'AG,CSPT', 'evidence +CSPT'],
    ]);
  });

  it('names the changelog beside a list file', () => {
    expect(changelogFileOf('lists/tiktok.list')).toBe('lists/tiktok.changes');
  });
});
