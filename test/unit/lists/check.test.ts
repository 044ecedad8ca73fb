import { describe, expect, it } from 'vitest';
import { checkListDir, checkParsedLists, publicSuffixProblem } from '../../../src/lists/check.ts';
import { parseListFile } from '../../../src/lists/list-file.ts';

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
