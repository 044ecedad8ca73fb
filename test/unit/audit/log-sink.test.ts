import { describe, expect, it } from 'vitest';
import { createLogDecisionSink } from '../../../src/audit/log-sink.ts';
import { captureLogs, decision } from './helpers.ts';

describe('log decision sink', () => {
  it('writes one info line per decision, with the decision fields', async () => {
    const { logger, lines } = captureLogs();
    const sink = createLogDecisionSink(logger);
    sink.record(decision(0));
    sink.record(decision(1, { action: 'logged', response: 'answer' }));
    await sink.flush();
    expect(lines.map((l) => [l.level, l.component, l.msg, l.qname, l.client])).toEqual([
      [30, 'decision', 'query blocked', 'host0.tiktok.com', '10.10.0.5'],
      [30, 'decision', 'query logged', 'host1.tiktok.com', '10.10.0.5'],
    ]);
    expect(lines[0]).toMatchObject({ segment: 'service', qtype: 1, action: 'blocked', list: 'tiktok', rule: 'tiktok.com', list_version: '2026.11.28.1-3f2a9c1b', response: 'nxdomain' });
  });

  it('leaves the client out on pseudonymised segments, and ignores decisions after close()', async () => {
    const { logger, lines } = captureLogs();
    const sink = createLogDecisionSink(logger);
    sink.record(decision(0, { client: '10.20.0.7', pseudonymize: true }));
    await sink.close();
    sink.record(decision(1));
    expect(lines).toHaveLength(1);
    expect('client' in lines[0]!).toBe(false);
    expect(JSON.stringify(lines)).not.toContain('10.20.0.7');
  });
});
