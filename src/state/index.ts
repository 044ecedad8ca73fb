// The shared state a replica runs on: Redis when the config has a redis section, else memory.
// ioredis is loaded only when Redis is configured.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { MemoryState } from './memory.ts';
import type { SharedState } from './types.ts';

export type { SharedState } from './types.ts';

export async function createSharedState(config: Config, logger: Logger): Promise<SharedState> {
  if (config.redis === undefined) return new MemoryState();
  const { RedisState } = await import('./redis.ts');
  const state = new RedisState(config.redis, config.instance, logger);
  logger.info({ component: 'redis', mode: state.mode, key_prefix: config.redis.key_prefix }, 'redis: connecting in the background; the replica serves from its local lists meanwhile');
  return state;
}
