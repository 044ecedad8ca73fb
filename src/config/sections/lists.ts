// Config section `lists:` (owned by the lists feature). Keep keys snake_case and defaulted.
import { z } from 'zod';

export const LISTS_DEFAULTS = {
  signing_key_file: 'var/list-keys/signing.key',
} as const;

const absoluteUrl = z.string().regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, 'write an absolute http(s) URL such as "https://lists.example.org"');

const listName = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'list names are lowercase letters, digits, "-" and "_"');

/** A duration: seconds as a number, or "90s", "30m", "6h", "1d". */
export const durationSchema = z.union([
  z.number().int().min(1),
  z.string().regex(/^\d+\s*(s|m|h|d)$/, 'write a duration such as "30m", "6h" or "1d", or a number of seconds'),
]);

export function durationSeconds(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+)\s*(s|m|h|d)$/.exec(value);
  if (!m) throw new Error(`not a duration: ${value}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

export const listSourceSchema = z
  .strictObject({
    /** The list name segments use in `lists:`. */
    name: listName,
    /** http(s) URL to fetch, or ... */
    url: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, 'a source url starts with http:// or https://')
      .optional(),
    /** ... a local file to read. */
    file: z.string().min(1).optional(),
    /** auto: detect hosts, domains or adblock from the content. */
    format: z.enum(['auto', 'hosts', 'domains', 'adblock']).default('auto'),
    /** How often to look for a new version (conditional request; a file is re-read when changed). */
    refresh: durationSchema.default('6h'),
  })
  .refine((s) => (s.url === undefined) !== (s.file === undefined), { message: 'give exactly one of "url" or "file"' });

export const listsSection = z
  .strictObject({
    /** Directory holding the maintained lists shipped with dnsward. */
    dir: z.string().min(1).default('lists'),
    /** External lists loaded into segments like the built-in ones. */
    sources: z.array(listSourceSchema).default([]),
    /** Where the last good copy of every source is kept (survives restarts and failed fetches). */
    cache_dir: z.string().min(1).default('var/lists'),
    /** A source larger than this is refused and the previous copy kept. */
    max_source_bytes: z
      .number()
      .int()
      .min(1024)
      .max(2 ** 31)
      .default(64 * 1024 * 1024),
    /** Serve the maintained lists over HTTP (/lists, /lists/<name>/<format>, and the page at /). */
    feed: z.boolean().default(true),
    /** The Homepage: header of every served file. Default: public_url + "/"; without either, files carry no Homepage line. */
    homepage: absoluteUrl.optional(),
    /**
     * The address subscribers use (e.g. "https://lists.example.org"): the page at "/", the index
     * and the files' Source line give absolute URLs under it. Without it they give paths only:
     * nothing is taken from a request's Host header.
     */
    public_url: absoluteUrl.transform((u) => u.replace(/\/+$/, '')).optional(),
    /** The Expires: header line of the files (how often subscribers should update). */
    expires: z.string().min(1).default('1 day'),
    /** HTTP Cache-Control max-age of the feed responses. */
    cache_max_age_s: z.number().int().min(0).max(7 * 86_400).default(3600),
    /** PEM Ed25519 private key signing each list version; created (mode 0600) at first start when missing. */
    signing_key_file: z.string().min(1).default(LISTS_DEFAULTS.signing_key_file),
  })
  .superRefine((lists, ctx) => {
    const seen = new Set<string>();
    lists.sources.forEach((source, i) => {
      if (seen.has(source.name)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'name'], message: `source name "${source.name}" is used twice; give each source its own name` });
      seen.add(source.name);
    });
  })
  .prefault({});

export type ListsConfig = z.infer<typeof listsSection>;
export type ListSourceConfig = z.infer<typeof listSourceSchema>;
