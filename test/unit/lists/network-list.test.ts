import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DnswardError } from '../../../src/errors.ts';
import { loadNetworkListDir, parseNetworkList } from '../../../src/lists/network-list.ts';

const HEADER = '# title: Test networks\n# description: for tests\n# license: CC0-1.0\n# source: RIPE  RIPEstat announced prefixes\n# source: BGP  a route collector\n';

describe('parseNetworkList', () => {
  it('reads prefixes with their date, origin AS and sources; versions by content', () => {
    const text = `${HEADER}101.45.0.0/16  2026-12-01  AS138699  RIPE  first\n2402:e7c0::/32  2026-12-02  AS138699  RIPE,BGP\n`;
    const { snapshot, problems } = parseNetworkList(text, 'lists/test.networks');
    expect(problems).toEqual([]);
    expect(snapshot).toMatchObject({ name: 'test', title: 'Test networks', license: 'CC0-1.0', networks: ['101.45.0.0/16', '2402:e7c0::/32'] });
    expect(snapshot.entries[1]).toMatchObject({ prefix: '2402:e7c0::/32', seen: '2026-12-02', asn: 'AS138699', sources: ['RIPE', 'BGP'], line: 7 });
    expect(snapshot.lastModified.toISOString()).toBe('2026-12-02T00:00:00.000Z');
    expect(snapshot.version).toMatch(/^[0-9a-f]{12}$/);
    expect(parseNetworkList(`${HEADER}2402:e7c0::/32  2026-12-02  AS1  RIPE\n101.45.0.0/16  2026-12-01  AS2  RIPE\n`, 'x.networks').snapshot.version).toBe(snapshot.version);
  });

  it('reports every bad line as file:line with the fix', () => {
    const text = [
      HEADER.trimEnd(),
      '101.45.0.1/16  2026-12-01  AS1  RIPE',
      '2402:E7C0:0::/32  2026-12-01  AS1  RIPE',
      '101.46.0.0  2026-12-01  AS1  RIPE',
      '2001:db8::/96  2026-12-01  AS1  RIPE',
      '101.47.0.0/16  yesterday  AS1  RIPE',
      '101.48.0.0/16  2026-12-01  138699  RIPE',
      '101.49.0.0/16  2026-12-01  AS1  NOPE',
      '101.50.0.0/16  2026-12-01  AS1  RIPE',
      '101.50.0.0/16  2026-12-01  AS1  RIPE',
    ].join('\n');
    expect(parseNetworkList(text, 'n.networks').problems).toEqual([
      'n.networks:6: write "101.45.0.1/16" as "101.45.0.0/16"',
      'n.networks:7: write "2402:E7C0:0::/32" as "2402:e7c0::/32"',
      'n.networks:8: "101.46.0.0" is not a network; write it as "101.45.0.0/16" or "2402:e7c0::/32"',
      'n.networks:9: "2001:db8::/96" is longer than /64; list the announced prefix',
      'n.networks:10: missing or malformed date seen after "101.47.0.0/16" (write YYYY-MM-DD)',
      'n.networks:11: "138699" is not an origin AS; write e.g. AS138699',
      'n.networks:12: source "NOPE" is not declared in a "# source:" line',
      'n.networks:14: "101.50.0.0/16" is listed twice',
    ]);
  });
});

describe('loadNetworkListDir', () => {
  it('loads every .networks file and ignores domain lists; refuses a directory with bad lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-networks-'));
    writeFileSync(join(dir, 'a.networks'), `${HEADER}101.45.0.0/16  2026-12-01  AS1  RIPE\n`);
    writeFileSync(join(dir, 'tiktok.list'), 'not a network list\n');
    expect((await loadNetworkListDir(dir)).map((l) => l.name)).toEqual(['a']);
    writeFileSync(join(dir, 'b.networks'), `${HEADER}oops  2026-12-01  AS1  RIPE\n`);
    await expect(loadNetworkListDir(dir)).rejects.toBeInstanceOf(DnswardError);
    await expect(loadNetworkListDir(dir)).rejects.toThrow(`${join(dir, 'b.networks')}:6:`);
  });
});
