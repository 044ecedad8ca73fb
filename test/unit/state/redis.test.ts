// RedisState against the real Redis on 127.0.0.1:6379 (a key prefix of its own, deleted after),
// and against a port where nothing listens: every call fails fast, the state says why.
import { Writable } from 'node:stream';
import { zstdDecompressSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_DEFAULTS } from '../../../src/config/sections/redis.ts';
import type { RedisConfig } from '../../../src/config/sections/redis.ts';
import { RedisState } from '../../../src/state/redis.ts';
import { SharedStateUnavailable } from '../../../src/state/types.ts';
import { dropPrefix, freePort, RedisProcess, uniquePrefix, waitFor } from '../../integration/fleet-support.ts';
import { sharedStateContract, span } from './contract.ts';

const silent = pino({ level: 'silent' });
const prefixes: string[] = [];

function config(overrides: Partial<RedisConfig> = {}): RedisConfig {
  const key_prefix = uniquePrefix(`unit${prefixes.length}`);
  prefixes.push(key_prefix);
  return { ...REDIS_DEFAULTS, url: 'redis://127.0.0.1:6379/0', key_prefix, ...overrides };
}

async function connected(c: RedisConfig = config()): Promise<RedisState> {
  const state = new RedisState(c, 'unit', silent);
  await waitFor('redis up', () => state.status().state === 'up');
  return state;
}

afterAll(async () => {
  for (const p of prefixes) await dropPrefix(p);
});

sharedStateContract('RedisState', () => connected());

describe('RedisState', () => {
  it('keys everything under its prefix, the stream and its positions in one Cluster slot', async () => {
    const c = config();
    const state = await connected(c);
    await state.shipEvents('a', span(1, 1));
    await state.putReplica('a', '{}');
    const redis = new Redis('redis://127.0.0.1:6379/0');
    try {
      const keys = (await redis.keys(`${c.key_prefix}*`)).sort();
      expect(keys).toEqual([`${c.key_prefix}replicas`, `${c.key_prefix}{audit}:events`, `${c.key_prefix}{audit}:shipped`, `${c.key_prefix}{audit}:spans`, `${c.key_prefix}{audit}:stream`]);
    } finally {
      redis.disconnect();
      await state.close();
    }
  });

  it('keeps at most stream_max_events events, dropping the oldest spans, and none past retention', async () => {
    const c = config({ stream_max_events: 1000 });
    const state = await connected(c);
    for (let i = 0; i < 30; i++) await state.shipEvents('a', span(i * 100 + 1, i * 100 + 100));
    expect(await state.streamLength()).toBe(1000);
    const events = await state.readStream('', 5000);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => 2001 + i));
    await state.close();
    // Retention: entries older than stream_retention_days go at the next span (never the new one).
    const aged = await connected({ ...c, stream_max_events: 1_000_000, stream_retention_days: 1e-9 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await aged.shipEvents('a', span(3001, 3001));
    expect((await aged.readStream('', 10)).map((e) => e.seq)).toEqual([3001]);
    expect(await aged.streamLength()).toBe(1);
    await aged.close();
  });

  it('stores each span zstd-compressed (field z), and still reads entries shipped plain (field e) before compression', async () => {
    const c = config();
    const state = await connected(c);
    const redis = new Redis('redis://127.0.0.1:6379/0');
    try {
      const plain = span(1, 2);
      await redis.xadd(`${c.key_prefix}{audit}:stream`, '*', 'i', 'old', 'f', '1', 'l', '2', 'e', plain.lines);
      const shipped = span(1, 300);
      await state.shipEvents('a', shipped);
      const [, newest] = (await redis.xrangeBuffer(`${c.key_prefix}{audit}:stream`, '-', '+')) as [[Buffer, Buffer[]], [Buffer, Buffer[]]];
      const fields = newest[1].map((b) => b.toString('latin1'));
      expect(fields.filter((_, i) => i % 2 === 0)).toEqual(['i', 'f', 'l', 'z']);
      const packed = newest[1][7] as Buffer;
      expect(packed.length).toBeLessThan(shipped.lines.length / 4);
      expect(zstdDecompressSync(packed).equals(shipped.lines)).toBe(true);
      const events = await state.readStream('', 1000);
      expect(events.map((e) => `${e.instance}:${e.seq}`)).toEqual(['old:1', 'old:2', ...Array.from({ length: 300 }, (_, i) => `a:${i + 1}`)]);
    } finally {
      redis.disconnect();
      await state.close();
    }
  });

  it('without Redis: fails fast, reports connecting, logs once', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), cb()) }));
    const port = await freePort();
    const state = new RedisState(config({ url: `redis://127.0.0.1:${port}/0` }), 'unit', logger);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(state.status()).toMatchObject({ state: 'connecting', error: expect.stringContaining('ECONNREFUSED') });
    const started = Date.now();
    await expect(state.changesHead()).rejects.toBeInstanceOf(SharedStateUnavailable);
    await expect(state.shipEvents('a', span(1, 1))).rejects.toBeInstanceOf(SharedStateUnavailable);
    expect(Date.now() - started).toBeLessThan(50);
    // Reconnection attempts are not logged one by one.
    expect(lines.filter((l) => l.component === 'redis').length).toBe(0);
    await state.close();
  });

  it('a command that times out marks the state down until one succeeds', async () => {
    const server = new RedisProcess();
    await server.start();
    const state = await connected(config({ url: server.url, command_timeout_ms: 100 }));
    try {
      // Redis stops answering for 500 ms with its connections open: a command fails after 100 ms.
      const frozen = server.freeze(500);
      const started = Date.now();
      await expect(state.putReplica('a', '{}')).rejects.toBeInstanceOf(SharedStateUnavailable);
      expect(Date.now() - started).toBeLessThan(400);
      expect(state.status()).toMatchObject({ state: 'down', error: expect.stringContaining('timed out') });
      await frozen;
      await waitFor('a command to succeed again', async () => {
        await state.putReplica('a', '{}').catch(() => undefined);
        return state.status().state === 'up';
      });
    } finally {
      await state.close();
      await server.kill();
    }
  });
});
