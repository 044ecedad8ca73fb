import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.ts';
import { createSharedState } from '../../../src/state/index.ts';
import { silent } from '../audit/helpers.ts';

const base = { segments: [{ name: 'default', networks: ['0.0.0.0/0'], action: 'allow' }] };

describe('createSharedState', () => {
  it('is memory without a redis section, Redis with one', async () => {
    const memory = await createSharedState(configSchema.parse(base), silent);
    expect(memory.kind).toBe('memory');
    await memory.close();
    const redis = await createSharedState(configSchema.parse({ ...base, redis: { url: 'redis://127.0.0.1:6379/0', key_prefix: 'dnsward:unit-index:' } }), silent);
    expect(redis.kind).toBe('redis');
    await redis.close();
  });
});
