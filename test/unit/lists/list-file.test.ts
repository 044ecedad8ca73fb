import { describe, expect, it } from 'vitest';
import { compileSnapshot, listLastModified, loadListDir, parseListFile } from '../../../src/lists/list-file.ts';

const TEXT = `# title: Test
# description: A test list.
# license: CC0-1.0
# last-modified: 2026-11-28T09:30:00Z
# source: AG   AdGuard
# source: HZ   hagezi
# format: not a meta key, a comment
example.com          2026-11-01  AG      main
  www.example.com    2026-11-02  HZ      host: web site
Other.NET.           2026-11-03  AG,HZ
sub.other.net        2026-11-04  HZ      redundant, not marked
# title: after entries, ignored
`;

describe('parseListFile', () => {
  const parsed = parseListFile(TEXT, 'lists/test.list');

  it('reads header keys, source codes and entries with their line numbers', () => {
    expect(parsed.name).toBe('test');
    expect(parsed.meta).toEqual({ title: 'Test', description: 'A test list.', license: 'CC0-1.0', 'last-modified': '2026-11-28T09:30:00Z' });
    expect(parsed.sources).toEqual({ AG: 'AdGuard', HZ: 'hagezi' });
    expect(parsed.entries.map((e) => [e.domain, e.line, e.host, e.sources])).toEqual([
      ['example.com', 8, false, ['AG']],
      ['www.example.com', 9, true, ['HZ']],
      ['other.net', 10, false, ['AG', 'HZ']],
      ['sub.other.net', 11, false, ['HZ']],
    ]);
    expect(parsed.problems).toEqual([]);
  });

  it.each([
    ['bad..name 2026-01-01 AG', /f.list:1: "bad\.\.name" is not a valid domain name/],
    ['*.wild.com 2026-01-01 AG', /is not a valid domain name/],
    ['ok.com 2026-13-45 AG', /f.list:1: missing or malformed date added/],
    ['ok.com', /missing or malformed date added/],
    ['ok.com 2026-01-01', /has no valid source/],
    ['ok.com 2026-01-01 A$G', /has no valid source/],
    ['# source: 1X nope', /"# source:" needs a code/],
  ])('reports %j as file:line', (line, message) => {
    const result = parseListFile(line, 'f.list');
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(message);
  });
});

describe('compileSnapshot', () => {
  const parsed = parseListFile(TEXT, 'lists/test.list');
  const snapshot = compileSnapshot(parsed, listLastModified(parsed));

  it('blocks parents only, keeps every name for exact-name formats, records provenance', () => {
    expect(snapshot.domains).toEqual(['example.com', 'other.net']);
    expect(snapshot.hosts).toEqual(['example.com', 'other.net', 'sub.other.net', 'www.example.com']);
    expect(snapshot.lastModified.toISOString()).toBe('2026-11-28T09:30:00.000Z');
    expect(snapshot.license).toBe('CC0-1.0');
    expect(snapshot.origin).toBe('maintained');
    expect(snapshot.provenance?.[1]).toEqual({ domain: 'www.example.com', added: '2026-11-02', sources: ['HZ'], note: 'host: web site', host: true });
    expect(snapshot.version).toMatch(/^[0-9a-f]{12}$/);
  });

  it('changes version when a name is added or removed, not when a note changes', () => {
    const again = (text: string) => {
      const p = parseListFile(text, 'lists/test.list');
      return compileSnapshot(p, listLastModified(p)).version;
    };
    expect(again(TEXT.replace('main', 'another note'))).toBe(snapshot.version);
    expect(again(TEXT.replace('sub.other.net', 'sub2.other.net'))).not.toBe(snapshot.version);
    expect(again(`${TEXT}added.org 2026-11-05 AG\n`)).not.toBe(snapshot.version);
  });

  it('falls back to the newest date added when last-modified is absent', () => {
    const p = parseListFile(TEXT.replace(/# last-modified.*\n/, ''), 'x.list');
    expect(listLastModified(p).toISOString()).toBe('2026-11-04T00:00:00.000Z');
  });
});

describe('the maintained lists', () => {
  it('load, and tiktok blocks the flagship domains and nothing of the shared CDNs', async () => {
    const lists = await loadListDir('lists');
    expect(lists.map((l) => l.name)).toEqual(['bytedance', 'doh-bypass', 'tiktok']);
    const tiktok = lists.find((l) => l.name === 'tiktok');
    for (const d of ['tiktok.com', 'tiktokv.com', 'tiktokcdn.com', 'tiktokcdn-us.com', 'tiktokcdn-eu.com', 'tiktokv.us', 'tiktokv.eu', 'tiktokw.us', 'tiktokw.eu', 'ttlivecdn.com', 'ttwstatic.com', 'musical.ly', 'muscdn.com', 'byteoversea.com', 'ibyteimg.com', 'ibytedtos.com', 'byteimg.com', 'pstatp.com', 'ipstatp.com', 'snssdk.com', 'isnssdk.com', 'bytecdn.cn', 'byted.org', 'ttdns2.com']) {
      expect(tiktok?.domains, d).toContain(d);
    }
    for (const d of ['akamaized.net', 'fastly.net', 'cloudfront.net', 'edgekey.net', 'edgesuite.net', 'akadns.net', 'amazonaws.com', 'google.com', 'apple.com', 'app-measurement.com', 'taobao.com']) {
      expect(tiktok?.domains, d).not.toContain(d);
    }
    expect(tiktok?.domains).toContain('p16-tiktokcdn-com.akamaized.net');
    expect(tiktok?.hosts?.length).toBeGreaterThan(tiktok?.domains.length ?? 0);
    const bytedance = lists.find((l) => l.name === 'bytedance');
    for (const d of ['douyin.com', 'toutiao.com', 'ixigua.com', 'capcut.com', 'lemon8-app.com', 'larksuite.com', 'feishu.cn', 'picoxr.com', 'dola.com', 'cici.com', 'volcengine.com']) {
      expect(bytedance?.domains, d).toContain(d);
    }
  });
});
