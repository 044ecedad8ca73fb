// The header every rendered format starts with, as [field, value] pairs; each renderer writes
// them in its own comment syntax. Nothing here depends on the request: renders are cached.
import type { ListSnapshot } from '../types.ts';

export interface RenderOptions {
  /** Where subscribers read about the lists (config lists.homepage, else public_url + "/"); absent: no Homepage line. */
  homepage?: string | undefined;
  /** How long consumers may keep a copy, e.g. "1 day" (config lists.expires). */
  expires: string;
  /** The absolute URL of this rendered file when known (config lists.public_url). */
  url?: string | undefined;
  /** Where the list's changelog is served (absolute with lists.public_url, else a path on this feed). */
  changes?: string | undefined;
  /** RPZ SOA timers (seconds). */
  rpz?: { refresh: number; retry: number; expire: number; minimum: number };
}

export interface Renderer {
  /** URL path segment: /lists/<name>/<format>. */
  readonly format: string;
  /** File name used in sha256sums and by `lists build`. */
  readonly fileName: (list: string) => string;
  readonly contentType: string;
  /** The "Syntax:" header value: which consumers take this file. */
  readonly syntax: string;
  render(snapshot: ListSnapshot, options: RenderOptions): string;
}

/** What a network renderer reads: the list as network-list.ts parses it. */
export interface NetworkRenderSource extends HeaderSource {
  readonly name: string;
  /** Sorted, unique prefixes ("71.18.1.0/24", "2605:340::/47"). */
  readonly networks: readonly string[];
  readonly entries: readonly { prefix: string; seen: string; asn: string; sources: readonly string[]; note: string }[];
  readonly sourceCodes: Readonly<Record<string, string>>;
}

export interface NetworkRenderer {
  /** URL path segment: /lists/<name>/<format>. */
  readonly format: string;
  /** File name used by `lists build` and in sha256sums. */
  readonly fileName: (list: string) => string;
  readonly contentType: string;
  /** The "Syntax:" header value: which consumers take this file. */
  readonly syntax: string;
  render(list: NetworkRenderSource, options: RenderOptions): string;
}

/** Names for exact-match consumers: the blocking domains plus known hosts under them. */
export function exactNames(snapshot: ListSnapshot): readonly string[] {
  return snapshot.hosts ?? snapshot.domains;
}

/** What a header shows of a list: domain lists and network lists both have these. */
export type HeaderSource = Pick<ListSnapshot, 'title' | 'description' | 'license' | 'version' | 'lastModified'>;

export function headerFields(snapshot: HeaderSource, options: RenderOptions, syntax: string, entries: number): [string, string][] {
  // Without a configured address the file cannot name its homepage: a relative "/" would
  // point at nothing on the subscriber's machine, so the line is left out.
  const fields: [string, string][] = [
    ['Title', snapshot.title],
    ['Description', oneLine(snapshot.description)],
    ...(options.homepage ? [['Homepage', options.homepage] as [string, string]] : []),
    ['License', snapshot.license ?? (options.homepage ? 'see Homepage' : 'not stated')],
    ['Version', snapshot.version],
    ['Last modified', snapshot.lastModified.toISOString().replace(/\.\d{3}Z$/, 'Z')],
    ['Expires', options.expires],
    ['Number of entries', String(entries)],
    ['Syntax', syntax],
  ];
  if (options.url) fields.push(['Source', options.url]);
  if (options.changes) fields.push(['Changes', /^https?:\/\//.test(options.changes) ? options.changes : `${options.changes} (on the server this file came from)`]);
  return fields;
}

/** Writes the header with a comment marker ("#", "!", ";"), one field per line, then a bare marker line. */
export function commentHeader(marker: string, fields: readonly [string, string][]): string {
  return `${fields.map(([k, v]) => `${marker} ${k}: ${v}`).join('\n')}\n${marker}\n`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
