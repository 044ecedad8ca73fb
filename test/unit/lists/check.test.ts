import { describe, expect, it } from 'vitest';
import { checkListDir, checkParsedLists, publicSuffixProblem } from '../../../src/lists/check.ts';
import { parseChangelog } from '../../../src/lists/changelog.ts';
import { compileSnapshot, listLastModified, parseListFile } from '../../../src/lists/list-file.ts';

const HEADER = `# title: T
# description: d
# license: CC0-1.0
# last-modified: 2026-11-28T00:00:00Z
# source: AG  AdGuard
`;
const NEVER = parseListFile(`# source: T4 cdn\nakamaized.net 2026-11-28 T4 Akamai\nplay.google.com 2026-11-28 T4 store\n`, 'lists/never-block.txt');
const now = new Date('2026-11-28T12:00:00Z');

function check(body: string, options: Parameters<typeof checkParsedLists>[2] = {}, header = HEADER): string[] {
  return checkParsedLists([parseListFile(header + body, 'lists/t.list')], NEVER, { now, ...options }).problems;
}

describe('checkParsedLists', () => {
  it('passes a clean list', () => {
    expect(check('tiktok.com 2026-11-28 AG\n  www.tiktok.com 2026-11-28 AG host: web\n')).toEqual([]);
  });

  it.each([
    ['a.com 2026-11-28 AG\na.com 2026-11-28 AG\n', 'lists/t.list:7: "a.com" is a duplicate of line 6'],
    ['a.com 2026-11-28 AG\nx.a.com 2026-11-28 AG\n', 'lists/t.list:7: "x.a.com" is already covered by "a.com" (line 6)'],
    ['x.a.com 2026-11-28 AG host: orphan\n', 'lists/t.list:6: "x.a.com" is marked "host:" but no listed entry covers it'],
    ['co.uk 2026-11-28 AG\n', 'lists/t.list:6: "co.uk" is a public suffix'],
    ['web.app 2026-11-28 AG\n', 'lists/t.list:6: "web.app" is a public suffix (private section of the PSL)'],
    ['tiktok.com.localdomain 2026-11-28 AG\n', 'lists/t.list:6: "tiktok.com.localdomain" has an unknown top-level domain'],
    ['akamaized.net 2026-11-28 AG\n', 'lists/t.list:6: "akamaized.net" would block "akamaized.net", which lists/never-block.txt:2 says must never be blocked'],
    ['google.com 2026-11-28 AG\n', 'lists/t.list:6: "google.com" would block "play.google.com"'],
    ['a.com 2026-11-28 XX\n', 'lists/t.list:6: source "XX" is not declared'],
    ['a.com 2026-12-25 AG\n', 'lists/t.list:6: date added 2026-12-25 is in the future'],
    ['a..com 2026-11-28 AG\n', 'lists/t.list:6: "a..com" is not a valid domain name'],
  ])('reports %j', (body, expected) => {
    const problems = check(body);
    expect(problems.some((p) => p.startsWith(expected)), problems.join('\n')).toBe(true);
  });

  it('allows a specific host below a never-block name (a TikTok host on a shared CDN)', () => {
    expect(check('p16-tiktokcdn-com.akamaized.net 2026-11-28 AG\n')).toEqual([]);
  });

  it('wants a host on a shared CDN (never-block code T4) to carry a TikTok or ByteDance name in its own labels', () => {
    expect(check('p16-other.akamaized.net 2026-11-28 AG\n')).toEqual([
      'lists/t.list:6: "p16-other.akamaized.net" is a host on shared infrastructure (akamaized.net) without a TikTok or ByteDance name in its own labels; list only the CDN names that carry one (e.g. p16-tiktokcdn-com.akamaized.net)',
    ]);
    // Hosts below other never-block names (iCloud's relay hosts in doh-bypass) need no such name.
    const ops = parseListFile('# source: OPS service\nicloud.com 2026-11-28 OPS Apple\n', 'lists/never-block.txt');
    expect(checkParsedLists([parseListFile(`${HEADER}mask.icloud.com 2026-11-28 AG\n`, 'lists/t.list')], ops, { now }).problems).toEqual([]);
  });

  it('wants the header that every served format shows, and a current last-modified', () => {
    const problems = check('a.com 2026-11-28 AG\n', {}, '# source: AG x\n');
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('header "# title:" is missing'),
        expect.stringContaining('header "# license:" is missing'),
        expect.stringContaining('header "# last-modified:" is missing'),
      ]),
    );
    expect(check('a.com 2026-11-28 AG\n', {}, HEADER.replace('2026-11-28T00', '2026-11-01T00'))[0]).toMatch(/older than the newest entry \(2026-11-28\)/);
  });

  it('reports entries a segment allowlist contradicts', () => {
    const segments = [{ name: 'service', action: 'block', lists: ['t'], allowlist: ['cdn.a.com', 'b.com'] }];
    const problems = check('a.com 2026-11-28 AG\nx.b.com 2026-11-28 AG\n', { segments });
    expect(problems).toEqual(['lists/t.list:7: "x.b.com" is never blocked on segment "service": its allowlist has "b.com"; remove one of them']);
  });

  it('reports a name kept in two lists', () => {
    const a = parseListFile(`${HEADER}a.com 2026-11-28 AG\n`, 'lists/a.list');
    const b = parseListFile(`${HEADER}a.com 2026-11-28 AG\n`, 'lists/b.list');
    expect(checkParsedLists([a, b], undefined, { now }).problems).toEqual(['lists/b.list:6: "a.com" is also listed in lists/a.list:6; keep each name in one list']);
  });
});

describe('source codes and the never-block subtree rule', () => {
  it('reports a source code declared in the header that no entry uses', () => {
    expect(check('a.com 2026-11-28 AG\n', {}, `${HEADER}# source: ND  NextDNS\n`)).toEqual(['lists/t.list:1: source "ND" is declared but no entry uses it; remove its "# source:" line']);
  });

  it('reports an entry under a never-block name whose note starts "subtree:", and only such names protect their subtree', () => {
    const never = parseListFile(`# source: T5 ns\nawsdns-55.com 2026-11-28 T5 subtree: AWS name servers\nakamaized.net 2026-11-28 T5 Akamai\n`, 'lists/never-block.txt');
    const list = parseListFile(`${HEADER}ns-440.awsdns-55.com 2026-11-28 AG\np16-tiktokcdn-com.akamaized.net 2026-11-28 AG\n`, 'lists/t.list');
    expect(checkParsedLists([list], never, { now }).problems).toEqual([
      'lists/t.list:6: "ns-440.awsdns-55.com" lies under "awsdns-55.com", which lists/never-block.txt:2 protects with everything below it (subtree: AWS name servers)',
    ]);
  });
});

describe('the changelog check', () => {
  const list = parseListFile(`${HEADER}a.com 2026-11-28 AG\n  www.a.com 2026-11-28 AG host: web\n`, 'lists/t.list');
  const version = compileSnapshot(list, listLastModified(list)).version;
  const withLog = (text: string): string[] =>
    checkParsedLists([list], undefined, { now, changelogs: new Map([[list.file, parseChangelog(text, 'lists/t.changes')]]) }).problems;

  it('passes a changelog that replays to the list, and requires one', () => {
    expect(withLog(`## ${version} 2026-11-28T00:00:00Z\nsummary: first\n+ a.com AG apex\n+ www.a.com AG host: web\n`)).toEqual([]);
    expect(checkParsedLists([list], undefined, { now, changelogs: new Map([[list.file, undefined]]) }).problems).toEqual([
      'lists/t.list:1: no changelog lists/t.changes; every version needs a block there (dnsward lists diff --changes)',
    ]);
  });

  it('reports a list edited without a new block: other version, missing and extra names, other sources and host: flags', () => {
    const problems = withLog(`# source: HZ hagezi (history only)\n## 000000000000 2026-11-27T00:00:00Z\nsummary: old\n+ a.com AG,HZ apex\n+ www.a.com AG web\n+ gone.com AG x\n`);
    expect(problems).toEqual([
      `lists/t.changes:2: the newest block is version 000000000000, the list is version ${version}; add a block for it (dnsward lists diff --changes)`,
      'lists/t.changes:2: the newest block is dated 2026-11-27T00:00:00.000Z, the list\'s last-modified is 2026-11-28T00:00:00.000Z',
      'lists/t.changes:2: "a.com" has the sources AG in lists/t.list, AG,HZ in the changelog',
      'lists/t.changes:2: "www.a.com" is a "host:" entry in lists/t.list, the changelog says otherwise',
      'lists/t.changes:2: "gone.com" is not in lists/t.list but no block removes it',
    ]);
  });

  it('wants a reason for every removal, a summary per version, and declared sources', () => {
    const problems = withLog(
      `## 111111111111 2026-11-27T00:00:00Z\nsummary: first\n+ a.com AG apex\n+ b.com ZZ x\n## ${version} 2026-11-28T00:00:00Z\n- b.com ZZ\n+ www.a.com AG host: web\n`,
    );
    expect(problems).toEqual([
      'lists/t.changes:4: source "ZZ" is declared neither in lists/t.list nor in this file ("# source: ZZ ..." before the first block)',
      'lists/t.changes:5: version ' + version + ' has no "summary:" line',
      'lists/t.changes:6: say why "b.com" is removed (subscribers read it)',
      'lists/t.changes:6: source "ZZ" is declared neither in lists/t.list nor in this file ("# source: ZZ ..." before the first block)',
    ]);
  });
});

describe('publicSuffixProblem', () => {
  it.each(['com', 'com.cn', 'github.io', 'blogspot.com'])('flags %s', (d) => expect(publicSuffixProblem(d)).toBeDefined());
  it.each(['tiktok.com', 'dns.google', 'musical.ly', 'x.web.app'])('accepts %s', (d) => expect(publicSuffixProblem(d)).toBeUndefined());
});

describe('the maintained lists', () => {
  it('pass lists check', async () => {
    const result = await checkListDir('lists');
    expect(result.problems).toEqual([]);
    expect(result.lists.map((l) => l.name)).toEqual(['bytedance', 'doh-bypass', 'tiktok']);
  });
});
