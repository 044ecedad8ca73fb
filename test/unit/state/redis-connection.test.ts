import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { type RedisConfig, REDIS_DEFAULTS } from '../../../src/config/sections/redis.ts';
import { clientOptions, createRedisClients, reconnectDelay } from '../../../src/state/redis-connection.ts';

const base: RedisConfig = { ...REDIS_DEFAULTS, url: 'redis://127.0.0.1:1/0' };

describe('Redis client options', () => {
  it('command connections never queue or retry for long; the subscriber waits for its connection', () => {
    const main = clientOptions(base, 'a b', 'main', undefined);
    expect(main).toMatchObject({ enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1000, connectionName: 'dnsward-a_b-main' });
    expect(clientOptions(base, 'a', 'bulk', 'pw')).toMatchObject({ enableOfflineQueue: false, commandTimeout: 10_000, password: 'pw' });
    expect(clientOptions(base, 'a', 'sub', undefined)).toMatchObject({ enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined, autoResubscribe: true });
  });

  it('reconnects for ever, backing off to 5 s', () => {
    expect([1, 2, 3, 7, 8, 100].map(reconnectDelay)).toEqual([100, 200, 400, 5000, 5000, 5000]);
    expect(clientOptions(base, 'a', 'main', undefined).retryStrategy?.(1000)).toBe(5000);
  });

  it('builds url, Sentinel and Cluster clients', () => {
    const url = createRedisClients(base, 'a');
    const sentinel = createRedisClients({ ...REDIS_DEFAULTS, sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'mymaster' }, 'a');
    const cluster = createRedisClients({ ...REDIS_DEFAULTS, cluster: ['127.0.0.1:1', '127.0.0.1:2'] }, 'a');
    try {
      expect(url.mode).toBe('url');
      expect(url.main).toBeInstanceOf(Redis);
      expect(sentinel.mode).toBe('sentinel');
      expect((sentinel.main as Redis).options).toMatchObject({ name: 'mymaster', sentinels: [{ host: '127.0.0.1', port: 1 }], enableOfflineQueue: false });
      expect(cluster.mode).toBe('cluster');
      expect(cluster.main).toBeInstanceOf(Cluster);
      expect((cluster.main as Cluster).options).toMatchObject({ enableOfflineQueue: false, redisOptions: { commandTimeout: 1000, maxRetriesPerRequest: 1 } });
    } finally {
      for (const c of [url, sentinel, cluster]) for (const client of [c.main, c.bulk, c.sub]) client.disconnect();
    }
  });

  it('reads the password from the named environment variable, and says when it is not set', () => {
    const clients = createRedisClients({ ...base, password_env: 'PW' }, 'a', { PW: 's3cret' });
    try {
      expect((clients.main as Redis).options.password).toBe('s3cret');
    } finally {
      for (const client of [clients.main, clients.bulk, clients.sub]) client.disconnect();
    }
    expect(() => createRedisClients({ ...base, password_env: 'PW' }, 'a', {})).toThrow('redis.password_env: environment variable PW is not set');
  });
});
