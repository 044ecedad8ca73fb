import { describe, expect, it } from 'vitest';
import { type Index, renderListsPage } from '../../../../src/http/pages/lists-page.ts';

const list = (prefix: string): Index['lists'][number] => ({
  name: 'tiktok',
  title: 'TikTok <&>',
  description: 'The app',
  license: 'CC0-1.0',
  version: 'abcdef012345',
  entries: 2,
  hosts: 3,
  last_modified: '2026-11-28T00:00:00.000Z',
  formats: { hosts: `${prefix}/lists/tiktok/hosts`, adblock: `${prefix}/lists/tiktok/adblock`, rpz: `${prefix}/lists/tiktok/rpz` },
  sha256: {},
  manifest: `${prefix}/lists/tiktok/sha256sums`,
  signature: `${prefix}/lists/tiktok/sha256sums.sig`,
});

describe('renderListsPage', () => {
  it('links each list\'s changelog (JSON and Atom) and says what the guard did not enforce', () => {
    const html = renderListsPage(
      {
        homepage: null,
        signing_key: null,
        signing_key_sha256: null,
        lists: [{ ...list(''), changes: { json: '/lists/tiktok/changes', atom: '/lists/tiktok/changes.atom' }, guarded: [{ domain: 'akamaized.net', protects: 'akamaized.net' }] }],
      },
      undefined,
    );
    expect(html).toContain('<a href="/lists/tiktok/changes">changes</a> (JSON) · <a href="/lists/tiktok/changes.atom">Atom feed</a>');
    expect(html).toContain('<code>&lt;server&gt;/lists/tiktok/changes.atom</code>');
    expect(html).toContain('not enforced (would block shared infrastructure): <code>akamaized.net</code>');
    expect(renderListsPage({ homepage: null, signing_key: null, signing_key_sha256: null, lists: [list('')] }, undefined)).not.toContain('not enforced');
  });

  it('counts a network list in prefixes, a domain list in domains and hosts', () => {
    const networks = { ...list(''), name: 'bytedance-networks', kind: 'networks' as const, entries: 136, hosts: undefined, formats: { cidr: '/lists/bytedance-networks/cidr' } };
    const html = renderListsPage({ homepage: null, signing_key: null, signing_key_sha256: null, lists: [list(''), networks] }, undefined);
    expect(html).toContain('<td>136 network prefixes</td>');
    expect(html).toContain('<td>2 domains<br>3 names (hosts)</td>');
    expect(html).toContain('<a href="/lists/bytedance-networks/cidr">cidr</a>');
  });

  it('without a public URL: links are paths, copy-paste addresses start with <server>, and the page says so', () => {
    const html = renderListsPage({ homepage: null, signing_key: '/lists/signing-key.pem', signing_key_sha256: 'ab'.repeat(32), lists: [list('')] }, undefined);
    expect(html).toContain('<a href="/lists/tiktok/adblock">adblock</a>');
    expect(html).toContain('<code>&lt;server&gt;/lists/tiktok/adblock</code>');
    expect(html).toContain('stands for this server');
    expect(html).toContain(`<code>${'ab'.repeat(32)}</code>`);
    expect(html).toContain('TikTok &lt;&amp;&gt;');
    expect(html).not.toMatch(/https?:\/\/(?!lists\.example\.org)/);
  });

  it('with a public URL: every address is absolute under it', () => {
    const html = renderListsPage({ homepage: 'https://lists.example.org/', signing_key: 'https://lists.example.org/lists/signing-key.pem', signing_key_sha256: 'cd'.repeat(32), lists: [list('https://lists.example.org')] }, 'https://lists.example.org');
    expect(html).toContain('<code>https://lists.example.org/lists/tiktok/adblock</code>');
    expect(html).toContain('curl -fsSO https://lists.example.org/lists/signing-key.pem');
    expect(html).toContain('<a href="https://lists.example.org/lists">https://lists.example.org/lists</a>');
    expect(html).not.toContain('&lt;server&gt;');
  });

  it('without a signing key: checksums only, no signature steps', () => {
    const html = renderListsPage({ homepage: null, signing_key: null, signing_key_sha256: null, lists: [{ ...list(''), signature: null }] }, undefined);
    expect(html).toContain('sha256sum -c --ignore-missing sha256sums');
    expect(html).not.toContain('pkeyutl');
    expect(html).not.toContain('fingerprint');
  });
});
