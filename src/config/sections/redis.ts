// Config section `redis:` (owned by the fleet feature): shared state for a fleet of replicas.
// Absent: one replica on in-memory state. docs/FLEET.md documents every key.
import { z } from 'zod';
import { envName } from '../fields.ts';

export const REDIS_DEFAULTS = {
  key_prefix: 'dnsward:',
  command_timeout_ms: 1000,
  heartbeat_interval_s: 2,
  witness_interval_s: 60,
  stream_max_events: 1_000_000,
  stream_retention_days: 7,
} as const;

export const redisSection = z
  .strictObject({
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'a Redis URL starts with redis:// or rediss://')
      .optional()
      .meta({ description: 'redis:// or rediss:// URL of a single Redis (the database number in the path).', examples: ['redis://127.0.0.1:6379/0'] }),
    sentinels: z
      .array(
        z.strictObject({
          host: z.string().meta({ description: 'Sentinel host name or address.', examples: ['192.0.2.10'] }),
          port: z.number().int().meta({ description: 'Sentinel port.', examples: [26379] }),
        }),
      )
      .min(1)
      .optional()
      .describe('Redis Sentinel hosts (with name: the master group).'),
    name: z.string().optional().meta({ description: 'The Sentinel master group name.', examples: ['mymaster'] }),
    cluster: z
      .array(z.string().regex(/^[^\s:]+:\d+$/, 'a Cluster node is "host:port"'))
      .min(1)
      .optional()
      .meta({ description: 'Redis Cluster start nodes ("host:port").', examples: [['192.0.2.11:6379', '192.0.2.12:6379']] }),
    password_env: envName('DNSWARD_REDIS_PASSWORD')
      .optional()
      .meta({ description: 'The name of an environment variable holding the Redis password (Sentinel and Cluster; with url, used when the URL has none).', examples: ['DNSWARD_REDIS_PASSWORD'] }),
    key_prefix: z
      .string()
      .regex(/^dnsward:([A-Za-z0-9_.-]+:)*$/, 'the prefix starts with "dnsward:" and ends with ":", e.g. "dnsward:" or "dnsward:site-a:"')
      .default(REDIS_DEFAULTS.key_prefix)
      .describe('Every key and the pub/sub channel start with this; two fleets may share one Redis under different prefixes.'),
    command_timeout_ms: z
      .number()
      .int()
      .min(100)
      .max(10_000)
      .default(REDIS_DEFAULTS.command_timeout_ms)
      .describe('A Redis command that has no answer after this long fails (nothing waits on Redis longer; bulk transfers get ten times this).'),
    heartbeat_interval_s: z
      .number()
      .int()
      .min(1)
      .max(60)
      .default(REDIS_DEFAULTS.heartbeat_interval_s)
      .describe('Every replica writes its heartbeat (GET /api/fleet) and looks for missed list changes this often (seconds); a replica silent for three intervals is no longer live.'),
    witness_interval_s: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .default(REDIS_DEFAULTS.witness_interval_s)
      .describe("Every replica records the other replicas' newest signed block-log checkpoints in its witness log at most this often (seconds)."),
    stream_max_events: z
      .number()
      .int()
      .min(1000)
      .max(1_000_000_000)
      .default(REDIS_DEFAULTS.stream_max_events)
      .describe('The fleet-wide block-log stream keeps about this many events (about 60 bytes of Redis memory each, zstd-compressed); the files of each replica keep everything.'),
    stream_retention_days: z
      .number()
      .min(0)
      .max(36_500)
      .default(REDIS_DEFAULTS.stream_retention_days)
      .describe('Events older than this leave the fleet-wide stream (0: only stream_max_events limits it).'),
  })
  .superRefine((redis, ctx) => {
    // Given several, cluster wins over sentinels over url (the log at start says which is used).
    const kinds = [redis.url !== undefined, redis.sentinels !== undefined, redis.cluster !== undefined].filter(Boolean).length;
    if (kinds === 0) ctx.addIssue({ code: 'custom', message: 'give "url" (redis://host:6379/0), "sentinels" with "name", or "cluster"; or remove the redis section to run one replica on in-memory state' });
    if (redis.sentinels !== undefined && redis.name === undefined) ctx.addIssue({ code: 'custom', path: ['name'], message: 'Sentinel needs the master group name, e.g. name: mymaster' });
    if (redis.name !== undefined && redis.sentinels === undefined) ctx.addIssue({ code: 'custom', path: ['name'], message: '"name" is the Sentinel master group: give "sentinels" too, or remove it' });
  })
  .optional()
  .describe('Shared state for a fleet of replicas (docs/FLEET.md); absent: one replica on in-memory state.');

export type RedisConfig = NonNullable<z.infer<typeof redisSection>>;
