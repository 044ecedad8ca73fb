// The network formats as a set (cidr and json are checked here; rpz-ip and adguard have their own tests).
import { describe, expect, it } from 'vitest';
import { NETWORK_RENDERERS, networkRendererFor, type NetworkRenderSource } from '../../../../src/lists/render/networks.ts';

const list: NetworkRenderSource = {
  name: 'nets',
  title: 'Nets',
  description: 'test  networks',
  license: 'CC0-1.0',
  version: '0123456789ab',
  lastModified: new Date('2026-12-02T00:00:00Z'),
  networks: ['10.0.0.0/8', '2001:db8::/32'],
  entries: [
    { prefix: '10.0.0.0/8', seen: '2026-12-01', asn: 'AS64500', sources: ['T'], note: '' },
    { prefix: '2001:db8::/32', seen: '2026-12-02', asn: 'AS64501', sources: ['T', 'U'], note: 'a note' },
  ],
  sourceCodes: { T: 'a test source', U: 'another' },
};
const options = { homepage: 'https://lists.example.org/', expires: '1 day' };

describe('network renderers', () => {
  it('are cidr, rpz, adguard and json, each with its own file name', () => {
    expect(NETWORK_RENDERERS.map((r) => r.format)).toEqual(['cidr', 'rpz', 'adguard', 'json']);
    expect(NETWORK_RENDERERS.map((r) => r.fileName('nets'))).toEqual(['nets.cidr.txt', 'nets.rpz.zone', 'nets.adguard.txt', 'nets.json']);
    expect(networkRendererFor('hosts')).toBeUndefined();
  });

  it('cidr: the header as # comments, then one prefix per line', () => {
    const text = networkRendererFor('cidr')?.render(list, options) ?? '';
    expect(text.split('\n').slice(0, 10)).toEqual([
      '# Title: Nets',
      '# Description: test networks',
      '# Homepage: https://lists.example.org/',
      '# License: CC0-1.0',
      '# Version: 0123456789ab',
      '# Last modified: 2026-12-02T00:00:00Z',
      '# Expires: 1 day',
      '# Number of entries: 2',
      '# Syntax: CIDR (one IPv4 or IPv6 prefix per line; lines starting with # are comments)',
      '#',
    ]);
    expect(text.endsWith('#\n10.0.0.0/8\n2001:db8::/32\n')).toBe(true);
  });

  it('json: the header as properties, the prefixes, and each prefix with its provenance', () => {
    const body = JSON.parse(networkRendererFor('json')?.render(list, options) ?? '') as Record<string, unknown>;
    expect(body).toMatchObject({ name: 'nets', kind: 'networks', title: 'Nets', version: '0123456789ab', numberOfEntries: 2, networks: list.networks, sources: list.sourceCodes });
    expect(body.entries).toEqual([
      { prefix: '10.0.0.0/8', seen: '2026-12-01', asn: 'AS64500', sources: ['T'] },
      { prefix: '2001:db8::/32', seen: '2026-12-02', asn: 'AS64501', sources: ['T', 'U'], note: 'a note' },
    ]);
  });
});
