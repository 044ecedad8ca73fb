// The changelog as subscribers read it: JSON (newest version first, every entry with its
// reason and evidence) and an Atom feed (one entry per version) for feed readers. Rendered once
// per list version, like the list files; nothing here depends on a request.
import { blockCounts, type ChangeBlock, type ListChangelog } from './changelog.ts';
import type { ListSnapshot } from './types.ts';

export interface ChangesLinks {
  /** URL (or path) of the JSON and Atom renderings. */
  readonly json: string;
  readonly atom: string;
}

interface JsonChange {
  name: string;
  sources: readonly string[];
  reason: string;
}

/** Codes of the list's header and of the changelog's own declarations. */
function sourceTexts(snapshot: ListSnapshot, log: ListChangelog): Record<string, string> {
  return { ...log.sources, ...snapshot.sourceCodes };
}

export function renderChangesJson(snapshot: ListSnapshot, log: ListChangelog, links: ChangesLinks): string {
  const texts = sourceTexts(snapshot, log);
  const used = new Set<string>();
  const versions = [...log.blocks].reverse().map((block) => {
    const pick = (op: '+' | '-' | '~'): JsonChange[] =>
      block.changes
        .filter((c) => c.op === op)
        .map((c) => {
          for (const s of c.sources) used.add(s);
          return { name: c.name, sources: c.sources, reason: c.reason };
        });
    return { version: block.version, last_modified: block.date, summary: block.summary, added: pick('+'), removed: pick('-'), changed_evidence: pick('~') };
  });
  const body = {
    list: snapshot.name,
    title: snapshot.title,
    served_version: snapshot.version,
    about:
      'Every version of the maintained list, newest first: entries added, removed, and kept with other evidence, each with its reason and source codes (see "sources"). A served_version that differs from the newest version means the operator of this feed added entries of its own.',
    links: { json: links.json, atom: links.atom },
    versions,
    sources: Object.fromEntries([...used].sort().map((code) => [code, texts[code] ?? null])),
  };
  return `${JSON.stringify(body, null, 1)}\n`;
}

/** urn:dnsward:... ids: stable whatever address the feed is served at. */
function feedId(list: string): string {
  return `urn:dnsward:list-changes:${list}`;
}

export function renderChangesAtom(snapshot: ListSnapshot, log: ListChangelog, links: ChangesLinks): string {
  const texts = sourceTexts(snapshot, log);
  const newest = log.blocks.at(-1);
  const updated = newest?.date ?? snapshot.lastModified.toISOString();
  const absolute = (url: string): boolean => /^https?:\/\//.test(url);
  const entries = [...log.blocks].reverse().map((block) => atomEntry(snapshot, block, texts, links));
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>${feedId(snapshot.name)}</id>
  <title>${xml(`${snapshot.title}: list changes`)}</title>
  <subtitle>${xml(`What changed in the ${snapshot.name} list, version by version, and why.`)}</subtitle>
  <updated>${updated}</updated>
  <author><name>dnsward list maintainers</name></author>
${absolute(links.atom) ? `  <link rel="self" type="application/atom+xml" href="${xml(links.atom)}"/>\n` : ''}${absolute(links.json) ? `  <link rel="alternate" type="application/json" href="${xml(links.json)}"/>\n` : ''}${entries.join('')}</feed>
`;
}

function atomEntry(snapshot: ListSnapshot, block: ChangeBlock, texts: Record<string, string>, links: ChangesLinks): string {
  const n = blockCounts(block);
  const title = `${snapshot.name} ${block.version}: ${n.added} added, ${n.removed} removed, ${n.changed} with other evidence`;
  const lines = [block.summary, ''];
  const section = (op: '+' | '-' | '~', heading: string): void => {
    const changes = block.changes.filter((c) => c.op === op);
    if (changes.length === 0) return;
    lines.push(`${heading}:`);
    for (const c of changes) lines.push(`${op} ${c.name} [${c.sources.join(', ') || '-'}] ${c.reason}`.trimEnd());
    lines.push('');
  };
  section('+', 'Added');
  section('-', 'Removed');
  section('~', 'Other evidence');
  const codes = [...new Set(block.changes.flatMap((c) => c.sources))].sort();
  if (codes.length > 0) lines.push('Sources:', ...codes.map((c) => `${c}: ${texts[c] ?? '(not declared)'}`));
  const link = /^https?:\/\//.test(links.json) ? `    <link rel="alternate" type="application/json" href="${xml(links.json)}"/>\n` : '';
  return `  <entry>
    <id>${feedId(snapshot.name)}:${block.version}</id>
    <title>${xml(title)}</title>
    <updated>${block.date}</updated>
${link}    <summary>${xml(block.summary)}</summary>
    <content type="text">${xml(lines.join('\n').trimEnd())}</content>
  </entry>
`;
}

function xml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}
