// The YAML config as a zod schema: every key validated, every optional key defaulted.
// Section schemas owned by a feature live in ./sections/.
import { hostname } from 'node:os';
import { z } from 'zod';
import { normalizeDomain } from '../dns/domain-name.ts';
import { parseCidr, parseHostPort } from '../util/address.ts';
import { auditSection } from './sections/audit.ts';
import { listsSection } from './sections/lists.ts';

const listenAddress = z.string().superRefine((value, ctx) => {
  const parsed = parseHostPort(value, 53);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: `${parsed}; write "127.0.0.1:1053" or "[::1]:1053"` });
});

const upstreamAddress = z.string().superRefine((value, ctx) => {
  const parsed = parseHostPort(value, 53);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: `${parsed}; write "192.0.2.53:53" or "[2001:db8::53]:53"` });
  else if (parsed.port === 0) ctx.addIssue({ code: 'custom', message: 'an upstream needs a real port (usually 53), e.g. "192.0.2.53:53"' });
});

const domainName = z.string().superRefine((value, ctx) => {
  if (normalizeDomain(value) === undefined) ctx.addIssue({ code: 'custom', message: 'not a domain name; write e.g. "example.org" (it covers its subdomains too)' });
});

const cidr = z.string().superRefine((value, ctx) => {
  const parsed = parseCidr(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: `${parsed}; write "10.0.0.0/8" or "fd00::/48"` });
});

const listName = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'list names are lowercase letters, digits, "-" and "_"');

const SEGMENT_HINT = 'define at least one segment, e.g. { name: default, networks: ["0.0.0.0/0", "::/0"], action: allow }';

export const segmentSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'segment names are letters, digits, ".", "-" and "_"'),
  networks: z.array(cidr).min(1, 'a segment needs at least one network, e.g. ["10.10.0.0/16"]'),
  action: z.enum(['block', 'log', 'allow']),
  lists: z.array(listName).default([]),
  /** Names that are never blocked on this segment (a rule blocks the name and its subdomains). */
  allowlist: z.array(domainName).default([]),
  block_response: z.enum(['nxdomain', 'null', 'refused']).default('nxdomain'),
  /** NXDOMAIN for browser DoH canaries and iCloud Private Relay names (blocking segments only). */
  bypass_prevention: z.boolean().default(true),
  /** Replace client addresses by a keyed pseudonym in the block log. */
  pseudonymize: z.boolean().default(false),
});

const tokenSchema = z
  .strictObject({
    name: z.string().min(1),
    role: z.enum(['auditor', 'admin']),
    token: z.string().min(1).optional(),
    token_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
  })
  .refine((t) => (t.token === undefined) !== (t.token_env === undefined), {
    message: 'give exactly one of "token" or "token_env" (the name of an environment variable)',
  });

export const configSchema = z.strictObject({
  dns: z
    .strictObject({
      listen: z.array(listenAddress).min(1).default(['127.0.0.1:1053']),
      /** Client networks that may query; everyone else gets REFUSED. */
      allow: z.array(cidr).default(['127.0.0.0/8', '::1/128']),
      /** Per-upstream wait before trying the next one (ms). */
      upstream_timeout_ms: z.number().int().min(50).max(10_000).default(1000),
      /** Overall budget for one client query before SERVFAIL (ms). */
      query_timeout_ms: z.number().int().min(100).max(10_000).default(2500),
      /** Queries in flight to upstreams at once; beyond it new misses get SERVFAIL. */
      max_inflight_upstream: z.number().int().min(1).max(1_000_000).default(4096),
      /** Random 0x20 case on upstream queries; the reply must echo it exactly. */
      upstream_0x20: z.boolean().default(false),
      /** Maximum cached answers (entries; about 1 KB of memory each when full). */
      cache_size: z.number().int().min(0).max(10_000_000).default(50_000),
      /** TCP connections idle longer than this are closed (ms). */
      tcp_idle_timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
      tcp: z
        .strictObject({
          max_connections: z.number().int().min(1).max(100_000).default(1024),
          max_connections_per_client: z.number().int().min(1).max(10_000).default(16),
          max_inflight_per_connection: z.number().int().min(1).max(1024).default(32),
          /** A message must arrive whole within this time once started (slowloris). */
          message_deadline_ms: z.number().int().min(100).max(60_000).default(5000),
        })
        .prefault({}),
      /** Per-client token bucket (clients grouped by prefix). */
      rate_limit: z
        .strictObject({
          enabled: z.boolean().default(true),
          qps: z.number().min(1).max(1_000_000).default(100),
          burst: z.number().min(1).max(10_000_000).default(200),
          ipv4_prefix: z.number().int().min(8).max(32).default(32),
          ipv6_prefix: z.number().int().min(16).max(128).default(56),
          /**
           * drop (default): answer nothing, which costs a flood the least and keeps other clients
           * answered; slip: answer some over-limit queries TC=1 so real clients retry over TCP.
           */
          action: z.enum(['slip', 'drop']).default('drop'),
          /** With slip: one over-limit query in this many gets the TC=1 reply, the rest are dropped (BIND's "slip 2"). */
          slip_every: z.number().int().min(1).max(100).default(2),
          exempt: z.array(cidr).default([]),
        })
        .prefault({}),
      /** QTYPE ANY: a minimal HINFO answer (RFC 8482) or REFUSED; never forwarded. */
      any: z.enum(['hinfo', 'refuse']).default('hinfo'),
      /** RFC 8767: answer from expired cache when the upstreams fail. */
      serve_stale: z
        .strictObject({
          enabled: z.boolean().default(true),
          max_stale_s: z.number().int().min(0).max(7 * 86_400).default(86_400),
          client_timeout_ms: z.number().int().min(100).max(10_000).default(1800),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Upstream resolvers, tried in order of health. Absent: the nameservers of /etc/resolv.conf. */
  upstreams: z.array(upstreamAddress).min(1).optional(),
  lists: listsSection,
  segments: z
    .array(segmentSchema, { error: (issue) => (issue.input === undefined ? `required: ${SEGMENT_HINT}` : undefined) })
    .min(1, SEGMENT_HINT),
  http: z
    .strictObject({
      listen: listenAddress.default('127.0.0.1:8053'),
      enabled: z.boolean().default(true),
    })
    .prefault({}),
  audit: auditSection,
  auth: z.strictObject({ tokens: z.array(tokenSchema).default([]) }).prefault({}),
  redis: z
    .strictObject({
      url: z.string().regex(/^rediss?:\/\//, 'a Redis URL starts with redis:// or rediss://').optional(),
      sentinels: z.array(z.strictObject({ host: z.string(), port: z.number().int() })).optional(),
      name: z.string().optional(),
      cluster: z.array(z.string()).optional(),
    })
    .optional(),
  instance: z.string().min(1).default(() => hostname()),
  log: z
    .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type SegmentConfig = z.infer<typeof segmentSchema>;
