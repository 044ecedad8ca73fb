import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { keysAt, unwrapSchema } from '../../../src/config/schema-walk.ts';
import { configSchema } from '../../../src/config/schema.ts';

describe('unwrapSchema', () => {
  it('sees through optional, default, prefault and transforms', () => {
    const inner = z.strictObject({ a: z.string() });
    expect(unwrapSchema(inner.optional())).toBe(inner);
    expect(unwrapSchema(inner.prefault({ a: 'x' }).optional())).toBe(inner);
    const str = z.string();
    expect(unwrapSchema(str.optional().transform((v) => v ?? ''))).toBe(str);
    const nested = z.number();
    expect(unwrapSchema(z.string().pipe(z.coerce.number()).pipe(nested))).toBe(nested);
  });
});

describe('keysAt', () => {
  it('lists the keys the object at a config path accepts', () => {
    expect(keysAt(configSchema, [])).toContain('segments');
    expect(keysAt(configSchema, ['dns', 'tcp'])).toEqual(['max_connections', 'max_connections_per_client', 'max_inflight_per_connection', 'message_deadline_ms']);
    expect(keysAt(configSchema, ['segments', 3])).toContain('networks');
    expect(keysAt(configSchema, ['lists', 'sources', 0])).toContain('refresh');
    expect(keysAt(configSchema, ['redis'])).toContain('sentinels');
  });

  it('is empty where there is no object', () => {
    expect(keysAt(configSchema, ['dns', 'listen'])).toEqual([]);
    expect(keysAt(configSchema, ['nope'])).toEqual([]);
    expect(keysAt(configSchema, ['segments', 'x'])).toEqual([]);
  });
});
