// Config section `segments:`: the policy per client network.
import { z } from 'zod';
import { cidr, domainName, listName } from '../fields.ts';

export const SEGMENT_HINT = 'define at least one segment, e.g. { name: default, networks: ["0.0.0.0/0", "::/0"], action: allow }';

export const segmentSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'segment names are letters, digits, ".", "-" and "_"')
    .meta({ description: 'The segment\'s name in the block log, metrics and Extended DNS Errors.', examples: ['service'] }),
  networks: z
    .array(cidr)
    .min(1, 'a segment needs at least one network, e.g. ["10.10.0.0/16"]')
    .meta({ description: 'Client networks (CIDR, IPv4 and IPv6) that belong to this segment.', examples: [['10.10.0.0/16', 'fd00:10::/48']] }),
  action: z
    .enum(['block', 'log', 'allow'])
    .meta({ description: 'block: answer locally and log; log: answer normally, log what would have been blocked; allow: no list applies.', examples: ['block'] }),
  lists: z.array(listName).default([]).meta({ description: 'Lists applied here: lists/<name>.list files or lists.sources names.', examples: [['tiktok']] }),
  allowlist: z.array(domainName).default([]).describe('Names never blocked here (with their subdomains); allowlists beat blocklists.'),
  block_response: z.enum(['nxdomain', 'null', 'refused']).default('nxdomain').describe('What a blocked name gets: NXDOMAIN, a null address (0.0.0.0 / ::) or REFUSED.'),
  bypass_prevention: z.boolean().default(true).describe('NXDOMAIN for browser DoH canaries and iCloud Private Relay names (blocking segments only).'),
  pseudonymize: z.boolean().default(false).describe('Replace client addresses by a keyed pseudonym in the block log.'),
});

export const segmentsSection = z
  .array(segmentSchema, { error: (issue) => (issue.input === undefined ? `required: ${SEGMENT_HINT}` : undefined) })
  .min(1, SEGMENT_HINT)
  .meta({
    description: 'Policy per client network; a client belongs to the most specific network that contains it (longest prefix).',
    examples: [[{ name: 'default', networks: ['0.0.0.0/0', '::/0'], action: 'allow' }]],
  });

export type SegmentConfig = z.infer<typeof segmentSchema>;
