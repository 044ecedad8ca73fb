// The YAML config as a zod schema: every key validated, defaulted when optional, and described
// (.describe()/.meta()). The descriptions are the one source of the reference config and the
// JSON Schema in deploy/ (npm run gen:config). Section schemas live in ./sections/.
import { hostname } from 'node:os';
import { z } from 'zod';
import { configPath } from './paths.ts';
import { auditSection } from './sections/audit.ts';
import { authSection } from './sections/auth.ts';
import { dnsSection } from './sections/dns.ts';
import { apiSection, httpSection } from './sections/http.ts';
import { listsSection } from './sections/lists.ts';
import { redisSection } from './sections/redis.ts';
import { segmentsSection } from './sections/segments.ts';
import { upstreamAddress } from './upstreams.ts';

export const configSchema = z
  .strictObject({
    dns: dnsSection,
    upstreams: z
      .array(upstreamAddress)
      .min(1)
      .optional()
      .meta({
        description:
          'Upstream resolvers, tried in order of health: "host:port" is plain DNS (UDP, TCP when truncated); "tls://host[:port]" is DNS over TLS (port 853 by default); "https://host[:port]/path" is DNS over HTTPS (HTTP/2, POST). After "#" an encrypted upstream may name the host its certificate must carry, for an IP address: "tls://192.0.2.53#dns.example". Absent: the nameservers of /etc/resolv.conf.',
        examples: [['192.0.2.53:53']],
      }),
    upstream_tls: z
      .strictObject({
        ca_file: configPath().meta({
          description: 'PEM file of CA certificates that encrypted upstreams may chain to besides the default roots (Node\'s bundled list, plus NODE_EXTRA_CA_CERTS), e.g. a private CA; read at start.',
          examples: ['tls/upstream-ca.pem'],
        }),
      })
      .optional()
      .describe('Extra trust for the certificates of DNS over TLS and DNS over HTTPS upstreams; absent: the default roots only. A certificate that does not verify fails the upstream.'),
    lists: listsSection,
    segments: segmentsSection,
    http: httpSection,
    api: apiSection,
    audit: auditSection,
    auth: authSection,
    redis: redisSection,
    // Optional then filled, so the reference config and JSON Schema show no machine's host name.
    instance: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'This replica\'s name in logs, the block log and metrics; absent: the host name.', examples: ['a'] })
      .transform((name) => name ?? hostname()),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('The lowest level written.'),
      })
      .prefault({})
      .describe('The service log: JSON lines on stdout.'),
  })
  .meta({ title: 'dnsward config', description: 'The YAML config of dnsward; every key with its default and meaning: deploy/dnsward.reference.yaml.' });

export type Config = z.infer<typeof configSchema>;
export type { SegmentConfig } from './sections/segments.ts';
