import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../src/audit/types.ts';
import { type PackedDecision, unpackDecision } from '../../../src/audit/packed.ts';
import { relayDecisions } from '../../../src/replica/decision-relay.ts';

const decision = (i: number): Decision => ({
  ts: 1_700_000_000_000 + i,
  segment: i % 2 ? 'personal' : 'service',
  client: `10.0.0.${i % 250}`,
  pseudonymize: i % 2 === 1,
  qname: `q${i}.tiktok.com`,
  qtype: 1,
  action: i % 2 ? 'logged' : 'blocked',
  list: 'tiktok',
  rule: 'tiktok.com',
  listVersion: 'abc',
  response: i % 2 ? 'answer' : 'nxdomain',
  transport: 'udp',
});

describe('decision relay (DNS workers to the block log)', () => {
  it('posts every decision exactly once, in order: full batches at once, the rest on close()', async () => {
    const posted: PackedDecision[][] = [];
    const sink = relayDecisions((events) => posted.push(events), pino({ level: 'silent' }));
    for (let i = 0; i < 1100; i++) sink.record(decision(i));
    await new Promise((r) => setImmediate(r));
    expect(posted.length).toBeGreaterThanOrEqual(1);
    await sink.close();
    sink.record(decision(9999));
    await sink.flush();
    const all = posted.flat().map(unpackDecision);
    expect(all).toEqual(Array.from({ length: 1100 }, (_, i) => decision(i)));
  });
});
