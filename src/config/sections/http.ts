// Config sections `http:` (the public list feed) and `api:` (the private listener: auditor and
// admin API, dashboard, health and metrics). Both share the TLS and connection-limit keys.
import { z } from 'zod';
import { listenAddress } from '../fields.ts';
import { configPath } from '../paths.ts';

/** Ports used when a listen address names none ("127.0.0.1" alone). */
export const DEFAULT_PORTS = { http: 8053, api: 8054 } as const;

const tlsSchema = z
  .strictObject({
    cert_file: configPath().meta({ description: 'PEM certificate chain.', examples: ['tls/fullchain.pem'] }),
    key_file: configPath().meta({ description: 'PEM private key of the certificate.', examples: ['tls/privkey.pem'] }),
  })
  .optional()
  .describe('Serve HTTPS with this certificate and key (re-read on SIGHUP and POST /api/reload); absent: plain HTTP.');

/** Limits that keep a connection flood from taking what DNS needs (descriptors, the event loop). */
function limits(defaults: { maxConnections: number; perClient: number }) {
  return {
    max_connections: z.number().int().min(1).max(100_000).default(defaults.maxConnections).describe('Open connections at most; beyond it new ones are closed at once.'),
    max_connections_per_client: z.number().int().min(1).max(10_000).default(defaults.perClient).describe('Open connections per client address at most.'),
    headers_timeout_ms: z.number().int().min(100).max(120_000).default(10_000).describe('A request\'s headers must arrive whole within this time (slowloris).'),
    request_timeout_ms: z.number().int().min(100).max(600_000).default(30_000).describe('A whole request (headers and body) must arrive within this time.'),
    idle_timeout_ms: z.number().int().min(100).max(600_000).default(5_000).describe('A keep-alive connection idle this long is closed.'),
  };
}

export const httpSection = z
  .strictObject({
    listen: listenAddress.default(`127.0.0.1:${DEFAULT_PORTS.http}`).describe('"host:port" of the public list feed (/, /lists, /lists/<name>/<format>).'),
    enabled: z.boolean().default(true).describe('false: no public list feed listener.'),
    thread: z
      .union([z.boolean(), z.literal('auto')], { error: 'write true (the feed in its own thread), false (on the DNS thread) or auto (its own thread with 4 or more CPUs)' })
      .default('auto')
      .describe('Run the feed in its own worker thread (true), so HTTP work never runs on the thread that answers DNS, at about 25-30 MB more resident memory; false: on the DNS thread; auto: its own thread with 4 or more CPUs (on fewer, the thread only competes for the same cores).'),
    tls: tlsSchema,
    ...limits({ maxConnections: 256, perClient: 16 }),
  })
  .prefault({})
  .describe('The public listener: the list feed for subscribers, no token needed and none accepted.');

export const apiSection = z
  .strictObject({
    listen: listenAddress.default(`127.0.0.1:${DEFAULT_PORTS.api}`).describe('"host:port" of the private listener (/api/*, /dashboard, /metrics, /healthz, /readyz); loopback by default.'),
    enabled: z.boolean().default(true).describe('false: no private listener (no API, metrics or health endpoints).'),
    tls: tlsSchema,
    plain_http_tokens: z
      .boolean()
      .default(false)
      .describe('Allow bearer tokens over plain HTTP on a non-loopback listen address (e.g. behind a TLS-terminating proxy); without it such a config is refused.'),
    ...limits({ maxConnections: 64, perClient: 16 }),
  })
  .prefault({})
  .describe('The private listener: auditor and admin API, the dashboard, Prometheus /metrics, /healthz and /readyz.');

export type HttpListenerConfig = z.infer<typeof httpSection> | z.infer<typeof apiSection>;
