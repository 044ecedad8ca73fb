import { describe, expect, it } from 'vitest';
import { checkNetworkList, checkNetworkListDir } from '../../../src/lists/network-check.ts';

const HEADER = '# title: T\n# description: d\n# license: CC0-1.0\n# last-modified: 2026-12-02T00:00:00Z\n# source: S  a source\n';
const now = new Date('2026-12-02T12:00:00Z');
const check = (body: string, header = HEADER, options = {}): string[] => checkNetworkList(header + body, 'lists/t.networks', { now, ...options }).problems;

describe('lists check for network lists', () => {
  it('accepts the shipped network lists', async () => {
    const result = await checkNetworkListDir('lists', { now, domainLists: ['tiktok', 'bytedance', 'doh-bypass'] });
    expect(result.problems).toEqual([]);
    expect(result.lists.map((l) => l.name)).toEqual(['bytedance-networks']);
    expect(result.lists[0]).toMatchObject({ entries: 136, v4: 82, v6: 54 });
  });

  it('accepts a good list and reports its counts', () => {
    const result = checkNetworkList(`${HEADER}10.0.0.0/8  2026-12-01  AS64500  S\n2001:db8::/32  2026-12-02  AS64500  S\n`, 'lists/t.networks', { now });
    expect(result.problems).toEqual([]);
    expect(result.summary).toEqual({ file: 'lists/t.networks', name: 't', entries: 2, v4: 1, v6: 1 });
  });

  it('refuses prefixes of shared clouds and CDNs by their origin AS', () => {
    expect(check('23.0.0.0/12  2026-12-01  AS20940  S\n')).toEqual(['lists/t.networks:6: "23.0.0.0/12" is announced by AS20940 (Akamai), shared infrastructure: list only the prefixes of ByteDance\'s own networks']);
    expect(check('101.47.0.0/18  2026-12-01  AS150436  S\n')[0]).toContain('BytePlus (a public cloud)');
  });

  it('reports dates in the future, a stale last-modified, nested prefixes, unused codes, missing headers and a name taken by a domain list', () => {
    expect(check('10.0.0.0/8  2026-12-03  AS64500  S\n')).toEqual([
      'lists/t.networks:1: "# last-modified: 2026-12-02T00:00:00Z" is older than the newest entry (2026-12-03); update it',
      'lists/t.networks:6: date seen 2026-12-03 is in the future',
    ]);
    expect(check('10.0.0.0/8  2026-12-01  AS64500  S\n10.1.0.0/16  2026-12-01  AS64500  S\n')).toEqual(['lists/t.networks:7: "10.1.0.0/16" lies inside "10.0.0.0/8" (line 6); keep one of them']);
    expect(check('10.0.0.0/8  2026-12-01  AS64500  S\n', `${HEADER}# source: X  unused\n`)).toEqual(['lists/t.networks:1: source "X" is declared but no entry uses it; remove its "# source:" line']);
    expect(check('10.0.0.0/8  2026-12-01  AS64500  S\n', '# title: T\n# source: S  a source\n')).toEqual([
      'lists/t.networks:1: header "# description:" is missing; every served format shows it',
      'lists/t.networks:1: header "# license:" is missing; every served format shows it',
      'lists/t.networks:1: header "# last-modified:" is missing; set it on every change (it drives Last-Modified and the RPZ serial)',
    ]);
    expect(check('10.0.0.0/8  2026-12-01  AS64500  S\n', HEADER, { domainLists: ['t'] })).toEqual(['lists/t.networks:1: "t" is also a domain list (t.list); give the network list its own name']);
  });
});
