import { describe, expect, it } from 'vitest';
import { FORMATS, RENDERERS, rendererFor } from '../../../src/lists/render/index.ts';
import { rpzSerial } from '../../../src/lists/render/rpz.ts';
import type { ListSnapshot } from '../../../src/lists/types.ts';

const snapshot: ListSnapshot = {
  name: 'demo',
  title: 'Demo',
  description: 'Two   domains\nand a host.',
  version: 'abcdef012345',
  lastModified: new Date('2026-11-28T09:30:00Z'),
  domains: ['example.com', 'example.net'],
  hosts: ['example.com', 'example.net', 'www.example.com'],
  license: 'CC0-1.0',
  origin: 'maintained',
};
const options = { homepage: 'https://lists.example.org/', expires: '1 day' };
const render = (format: string): string => rendererFor(format)?.render(snapshot, options) ?? '';

const HEADER = (m: string, entries: number, syntax: string): string =>
  [
    `${m} Title: Demo`,
    `${m} Description: Two domains and a host.`,
    `${m} Homepage: https://lists.example.org/`,
    `${m} License: CC0-1.0`,
    `${m} Version: abcdef012345`,
    `${m} Last modified: 2026-11-28T09:30:00Z`,
    `${m} Expires: 1 day`,
    `${m} Number of entries: ${entries}`,
    `${m} Syntax: ${syntax}`,
    m,
    '',
  ].join('\n');

describe('renderers', () => {
  it('cover every format of the issue, plus the legacy dnsmasq form and json', () => {
    expect(FORMATS).toEqual(['hosts', 'domains', 'wildcard', 'adblock', 'dnsmasq', 'dnsmasq-legacy', 'unbound', 'rpz', 'json']);
  });

  it('hosts: 0.0.0.0 lines for every exact name, known hosts included', () => {
    expect(render('hosts')).toBe(`${HEADER('#', 3, rendererFor('hosts')?.syntax ?? '')}0.0.0.0 example.com\n0.0.0.0 example.net\n0.0.0.0 www.example.com\n`);
  });

  it('domains: one exact name per line', () => {
    expect(render('domains')).toBe(`${HEADER('#', 3, rendererFor('domains')?.syntax ?? '')}example.com\nexample.net\nwww.example.com\n`);
  });

  it('wildcard, adblock, dnsmasq: one rule per blocking domain', () => {
    expect(render('wildcard').split('#\n')[1]).toBe('*.example.com\n*.example.net\n');
    expect(render('adblock')).toBe(`${HEADER('!', 2, rendererFor('adblock')?.syntax ?? '')}||example.com^\n||example.net^\n`);
    expect(render('dnsmasq').split('#\n')[1]).toBe('local=/example.com/\nlocal=/example.net/\n');
    expect(render('dnsmasq-legacy').split('#\n')[1]).toBe('server=/example.com/\nserver=/example.net/\n');
  });

  it('unbound: a server: clause of always_nxdomain local zones', () => {
    expect(render('unbound').split('#\n')[1]).toBe('server:\n  local-zone: "example.com." always_nxdomain\n  local-zone: "example.net." always_nxdomain\n');
  });

  it('rpz: SOA and NS, then name and *.name CNAME . for each domain; serial from the last change', () => {
    const body = render('rpz').split(';\n')[1];
    expect(body).toBe(
      [
        '$TTL 300',
        `@ IN SOA localhost. root.localhost. ${Math.floor(Date.parse('2026-11-28T09:30:00Z') / 1000)} 3600 600 604800 300`,
        '@ IN NS localhost.',
        'example.com CNAME .',
        '*.example.com CNAME .',
        'example.net CNAME .',
        '*.example.net CNAME .',
        '',
      ].join('\n'),
    );
    expect(rpzSerial(new Date('2026-11-29T00:00:00Z'))).toBeGreaterThan(rpzSerial(snapshot.lastModified));
  });

  it('json: header fields as properties, domains, hosts', () => {
    const data = JSON.parse(render('json')) as Record<string, unknown>;
    expect(data).toMatchObject({ name: 'demo', title: 'Demo', version: 'abcdef012345', lastModified: '2026-11-28T09:30:00Z', numberOfEntries: 2, domains: ['example.com', 'example.net'] });
    expect(data.hosts).toEqual(snapshot.hosts);
  });

  it.each(RENDERERS.filter((r) => r.format !== 'json').map((r) => [r.format, r] as const))('%s starts with the header in its comment syntax and ends with a newline', (_f, renderer) => {
    const text = renderer.render(snapshot, options);
    const marker = text[0];
    for (const field of ['Title', 'Description', 'Homepage', 'License', 'Version', 'Last modified', 'Expires', 'Number of entries', 'Syntax']) {
      expect(text).toContain(`\n${marker} ${field}: `.slice(field === 'Title' ? 1 : 0));
    }
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toMatch(/\r/);
  });

  it('falls back to the blocking domains when a snapshot has no known hosts', () => {
    const plain = { ...snapshot, hosts: undefined };
    expect(rendererFor('hosts')?.render(plain, options).split('#\n')[1]).toBe('0.0.0.0 example.com\n0.0.0.0 example.net\n');
  });
});
