// A decision survives packing into a flat tuple and back, whatever its fields.
import { describe, expect, it } from 'vitest';
import { packDecision, unpackDecision } from '../../../src/audit/packed.ts';
import type { Decision } from '../../../src/audit/types.ts';

const decision = (i: number): Decision => ({
  ts: 1_700_000_000_000 + i,
  segment: i % 2 ? 'guest' : 'service',
  client: `192.0.2.${i}`,
  pseudonymize: i % 2 === 1,
  qname: `host${i}.tiktok.com`,
  qtype: i % 2 ? 28 : 1,
  action: i % 2 ? 'logged' : 'blocked',
  list: 'tiktok',
  rule: 'tiktok.com',
  listVersion: 'abc',
  response: i % 2 ? 'answer' : 'nxdomain',
  transport: i % 3 ? 'udp' : 'doh',
});

describe('packDecision / unpackDecision', () => {
  it('packs and unpacks a decision unchanged', () => {
    for (let i = 0; i < 6; i++) {
      const packed = packDecision(decision(i));
      expect(packed[3]).toBe(i % 2 === 1 ? 1 : 0);
      expect(unpackDecision(packed)).toEqual(decision(i));
    }
  });
});
