// Config section `lists:` (owned by the lists feature). Keep keys snake_case and defaulted.
import { z } from 'zod';
import { configPath } from '../paths.ts';

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
    name: listName.meta({ description: 'The list name segments use in their lists.', examples: ['partner'] }),
    url: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, 'a source url starts with http:// or https://')
      .optional()
      .meta({ description: 'http(s) URL to fetch (give url or file).', examples: ['https://lists.example/partner.txt'] }),
    file: configPath().optional().meta({ description: 'A local file to read (give url or file).', examples: ['partner.txt'] }),
    format: z.enum(['auto', 'hosts', 'domains', 'adblock']).default('auto').describe('The file format; auto: detect hosts, domains or adblock from the content.'),
    refresh: durationSchema.default('6h').describe('How often to look for a new version: seconds, or "90s", "30m", "6h", "1d" (conditional request; a file is re-read when changed).'),
  })
  .refine((s) => (s.url === undefined) !== (s.file === undefined), { message: 'give exactly one of "url" or "file"' });

export const listsSection = z
  .strictObject({
    dir: configPath().default('lists').describe('Directory holding the maintained lists shipped with dnsward (lists/<name>.list).'),
    sources: z.array(listSourceSchema).default([]).describe('Subscribed lists, usable in segments like the built-in ones.'),
    cache_dir: configPath().default('var/lists').describe('Where the last good copy of every source is kept (survives restarts and failed fetches).'),
    max_source_bytes: z
      .number()
      .int()
      .min(1024)
      .max(2 ** 31)
      .default(64 * 1024 * 1024)
      .describe('A source larger than this (bytes) is refused and the previous copy kept.'),
    feed: z.boolean().default(true).describe('Serve the maintained lists over HTTP (/lists, /lists/<name>/<format>, and the page at /).'),
    homepage: absoluteUrl
      .optional()
      .meta({ description: 'The Homepage: header of every served file; absent: public_url + "/", and without either the files carry no Homepage line.', examples: ['https://lists.example.org/'] }),
    public_url: absoluteUrl
      .meta({
        description: 'The address subscribers use: the page at "/", the index and the files\' Source line give absolute URLs under it. Absent: paths only (nothing is taken from a request\'s Host header).',
        examples: ['https://lists.example.org'],
      })
      .transform((u) => u.replace(/\/+$/, ''))
      .optional(),
    expires: z.string().min(1).default('1 day').describe('The Expires: header line of the served files (how often subscribers should update).'),
    cache_max_age_s: z.number().int().min(0).max(7 * 86_400).default(3600).describe('HTTP Cache-Control max-age of the feed responses (seconds).'),
    signing_key_file: configPath()
      .default(LISTS_DEFAULTS.signing_key_file)
      .describe('Ed25519 private key (PEM) signing each list version; created (mode 0600) at first start when missing, its fingerprint logged.'),
  })
  .superRefine((lists, ctx) => {
    const seen = new Set<string>();
    lists.sources.forEach((source, i) => {
      if (seen.has(source.name)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'name'], message: `source name "${source.name}" is used twice; give each source its own name` });
      seen.add(source.name);
    });
  })
  .prefault({})
  .describe('The maintained lists, subscribed sources and the public list feed (docs/LISTS.md).');

export type ListsConfig = z.infer<typeof listsSection>;
export type ListSourceConfig = z.infer<typeof listSourceSchema>;
