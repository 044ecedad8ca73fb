// Config section `dns:`: listeners, who may query, timeouts, cache, TCP and rate limits.
import { z } from 'zod';
import { cidr, listenAddress } from '../fields.ts';
import { checkEncryptedDns, encryptedDnsKeys } from './dns-encrypted.ts';

const tcpSection = z
  .strictObject({
    max_connections: z.number().int().min(1).max(100_000).default(1024).describe('TCP connections open at once, all clients together.'),
    max_connections_per_client: z.number().int().min(1).max(10_000).default(16).describe('TCP connections open at once from one client address.'),
    max_inflight_per_connection: z.number().int().min(1).max(1024).default(32).describe('Queries answered concurrently on one TCP connection (pipelining).'),
    message_deadline_ms: z.number().int().min(100).max(60_000).default(5000).describe('A message must arrive whole within this time once it has started (ms; defeats slowloris).'),
  })
  .prefault({})
  .describe('Limits on DNS over TCP.');

const rateLimitSection = z
  .strictObject({
    enabled: z.boolean().default(true).describe('false: no rate limit.'),
    qps: z.number().min(1).max(1_000_000).default(100).describe('Queries per second one client prefix may send, sustained.'),
    burst: z.number().min(1).max(10_000_000).default(200).describe('Queries one client prefix may send at once (the bucket size).'),
    ipv4_prefix: z.number().int().min(8).max(32).default(32).describe('IPv4 clients in one network of this prefix length share a bucket.'),
    ipv6_prefix: z.number().int().min(16).max(128).default(56).describe('IPv6 clients in one network of this prefix length share a bucket (a /56 is usually one site).'),
    action: z
      .enum(['slip', 'drop'])
      .default('drop')
      .describe('drop: answer nothing over the limit (costs a flood the least); slip: answer some with TC=1 so real clients retry over TCP.'),
    slip_every: z.number().int().min(1).max(100).default(2).describe('With action slip: one over-limit query in this many gets the TC=1 reply, the rest are dropped (BIND\'s "slip 2").'),
    exempt: z.array(cidr).default([]).describe('Client networks never rate limited.'),
  })
  .prefault({})
  .describe('A token bucket per client prefix (docs/SECURITY.md).');

const serveStaleSection = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Answer from expired cache entries when the upstreams fail.'),
    max_stale_s: z.number().int().min(0).max(7 * 86_400).default(86_400).describe('How long past its TTL an answer may still be served (seconds).'),
    client_timeout_ms: z.number().int().min(100).max(10_000).default(1800).describe('How long a client waits for the upstreams before it gets the stale answer (ms).'),
  })
  .prefault({})
  .describe('RFC 8767 serve-stale.');

export const dnsSection = z
  .strictObject({
    listen: z
      .array(listenAddress)
      .min(1)
      .default(['127.0.0.1:1053'])
      .describe('Addresses to serve DNS on, UDP and TCP on each: "host:port", IPv6 as "[::1]:53".'),
    allow: z.array(cidr).default(['127.0.0.0/8', '::1/128']).describe('Client networks that may query; everyone else gets REFUSED.'),
    open_resolver: z
      .boolean()
      .default(false)
      .describe('true: allow may let every address query a listener other hosts can reach (an open resolver, abused for DNS amplification); dnsward refuses that otherwise.'),
    upstream_timeout_ms: z.number().int().min(50).max(10_000).default(1000).describe('Wait per upstream before the next one is tried (ms).'),
    query_timeout_ms: z.number().int().min(100).max(10_000).default(2500).describe('Overall budget for one client query before SERVFAIL (ms).'),
    max_inflight_upstream: z.number().int().min(1).max(1_000_000).default(4096).describe('Queries in flight to the upstreams at once; beyond it new cache misses get SERVFAIL.'),
    upstream_0x20: z.boolean().default(false).describe('Random letter case on upstream queries (0x20); the reply must echo it exactly.'),
    cache_size: z.number().int().min(0).max(10_000_000).default(50_000).describe('Cached answers at most (about 1 KB of memory each when full; 0 = no cache).'),
    datagram: z.enum(['auto', 'addon', 'dgram']).default('auto').describe('UDP I/O, of the listeners and of queries to UDP upstreams: addon = batches of datagrams per system call (recvmmsg/sendmmsg, Linux, built by npm ci), dgram = node:dgram, auto = the addon where it is built. The environment variable DNSWARD_DATAGRAM overrides this.'),
    workers: z
      .union([z.number().int().min(1, 'at least 1 (1 = everything on the main thread)').max(64, 'at most 64; auto = one per CPU'), z.literal('auto')], { error: 'write a number of threads from 1 to 64, or auto (one per CPU)' })
      .default(1)
      .describe(
        'UDP answered by this many threads, each with its own socket on every dns.listen address (SO_REUSEPORT), its own cache (memory: workers × cache_size) and upstream sockets, and one shared copy of the lists; auto = the CPUs available. 1 = everything on the main thread. TCP stays on the main thread. Needs a restart.',
      ),
    background_nice: z
      .number({ error: 'write a nice value for the background threads, from 0 (leave them alone) to 19' })
      .int('write a whole number from 0 to 19')
      .min(0, 'at least 0 (0 leaves the background threads at the default priority)')
      .max(19, 'at most 19 (the lowest priority Linux has)')
      .default(10)
      .describe(
        "Nice value of the threads that never answer DNS (V8's garbage-collector and compiler helpers, libuv's file I/O pool that writes the block log, the list feed and renderers): under load the threads that answer queries get the CPU first; idle CPUs still run the others at once. The value is absolute: threads already nicer (a systemd Nice= above it) are left as they are. 0 leaves them at the default priority. Linux only. The block-log thread (audit.worker_thread), which encodes and signs, keeps the default. Needs a restart (a raised nice value cannot be lowered without privileges).",
      ),
    tcp_idle_timeout_ms: z.number().int().min(100).max(120_000).default(10_000).describe('TCP connections idle longer than this are closed (ms).'),
    tcp: tcpSection,
    rate_limit: rateLimitSection,
    any: z.enum(['hinfo', 'refuse']).default('hinfo').describe('QTYPE ANY: a minimal HINFO answer (RFC 8482) or REFUSED; never forwarded.'),
    serve_stale: serveStaleSection,
    ...encryptedDnsKeys,
  })
  .superRefine(checkEncryptedDns)
  .prefault({})
  .describe('The DNS service.');

export type DnsConfig = z.infer<typeof dnsSection>;
