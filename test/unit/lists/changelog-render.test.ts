import { describe, expect, it } from 'vitest';
import { parseChangelog } from '../../../src/lists/changelog.ts';
import { renderChangesAtom, renderChangesJson } from '../../../src/lists/changelog-render.ts';
import type { ListSnapshot } from '../../../src/lists/types.ts';

const log = parseChangelog(
  `# source: OLD  retired code
## aaaaaaaaaaaa 2026-11-28T00:00:00Z
summary: first <version> & more
+ a.com  AG,OLD  apex
+ b.com  AG      b
## bbbbbbbbbbbb 2026-12-02T00:00:00Z
summary: second
- b.com  AG      not ByteDance
~ a.com  AG,CSPT evidence +CSPT -OLD
+ c.com  CRT     served on a "TikTok" certificate
`,
  'lists/t.changes',
);
const snapshot: ListSnapshot = {
  name: 't',
  title: 'T & Co',
  description: 'd',
  version: 'bbbbbbbbbbbb',
  lastModified: new Date('2026-12-02T00:00:00Z'),
  domains: ['a.com', 'c.com'],
  sourceCodes: { AG: 'AdGuard', CSPT: 'tiktok.com CSP', CRT: 'certificate' },
  changes: log,
};

describe('renderChangesJson', () => {
  it('lists versions newest first with added, removed and re-sourced entries, and the codes they use', () => {
    const body = JSON.parse(renderChangesJson(snapshot, log, { json: '/lists/t/changes', atom: '/lists/t/changes.atom' })) as Record<string, unknown> & {
      versions: { version: string; added: unknown[]; removed: unknown[]; changed_evidence: unknown[] }[];
    };
    expect(body).toMatchObject({ list: 't', title: 'T & Co', served_version: 'bbbbbbbbbbbb', links: { json: '/lists/t/changes', atom: '/lists/t/changes.atom' } });
    expect(body.versions.map((v) => v.version)).toEqual(['bbbbbbbbbbbb', 'aaaaaaaaaaaa']);
    expect(body.versions[0]).toMatchObject({
      added: [{ name: 'c.com', sources: ['CRT'], reason: 'served on a "TikTok" certificate' }],
      removed: [{ name: 'b.com', sources: ['AG'], reason: 'not ByteDance' }],
      changed_evidence: [{ name: 'a.com', sources: ['AG', 'CSPT'], reason: 'evidence +CSPT -OLD' }],
    });
    expect(body.sources).toEqual({ AG: 'AdGuard', CRT: 'certificate', CSPT: 'tiktok.com CSP', OLD: 'retired code' });
  });
});

describe('renderChangesAtom', () => {
  it('is an Atom feed with one entry per version, text escaped, self link only for absolute addresses', () => {
    const relative = renderChangesAtom(snapshot, log, { json: '/lists/t/changes', atom: '/lists/t/changes.atom' });
    expect(relative).toContain('<title>T &amp; Co: list changes</title>');
    expect(relative).toContain('<updated>2026-12-02T00:00:00.000Z</updated>');
    expect(relative).not.toContain('rel="self"');
    expect(relative.match(/<entry>/g)).toHaveLength(2);
    expect(relative.indexOf('urn:dnsward:list-changes:t:bbbbbbbbbbbb')).toBeLessThan(relative.indexOf('urn:dnsward:list-changes:t:aaaaaaaaaaaa'));
    expect(relative).toContain('<title>t bbbbbbbbbbbb: 1 added, 1 removed, 1 with other evidence</title>');
    expect(relative).toContain('+ c.com [CRT] served on a &quot;TikTok&quot; certificate');
    expect(relative).toContain('<summary>first &lt;version&gt; &amp; more</summary>');
    expect(relative).toContain('CSPT: tiktok.com CSP');
    const absolute = renderChangesAtom(snapshot, log, { json: 'https://l.example/lists/t/changes', atom: 'https://l.example/lists/t/changes.atom' });
    expect(absolute).toContain('<link rel="self" type="application/atom+xml" href="https://l.example/lists/t/changes.atom"/>');
  });
});
