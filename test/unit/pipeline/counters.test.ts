import { describe, expect, it } from 'vitest';
import { OUTCOMES, TRANSPORTS } from '../../../src/pipeline/context.ts';
import { countQuery, QueryCounters } from '../../../src/pipeline/counters.ts';

describe('QueryCounters', () => {
  it('hands out one array per segment name, the same one again for the same name', () => {
    const counters = new QueryCounters();
    const a = counters.forSegment('service');
    expect(counters.forSegment('service')).toBe(a);
    expect(counters.forSegment('personal')).not.toBe(a);
    expect(a.length).toBe(OUTCOMES.length * TRANSPORTS.length);
  });

  it('reports every non-zero count by segment, outcome and transport', () => {
    const counters = new QueryCounters();
    const service = counters.forSegment('service');
    countQuery(service, 'blocked', 'udp');
    countQuery(service, 'blocked', 'udp');
    countQuery(service, 'logged', 'tcp');
    countQuery(counters.forSegment('default'), 'forwarded', 'udp');
    countQuery(counters.forSegment('default'), 'forwarded', 'doh');
    counters.forSegment('idle');
    expect(counters.stats()).toEqual([
      { segment: 'service', outcome: 'blocked', transport: 'udp', count: 2 },
      { segment: 'service', outcome: 'logged', transport: 'tcp', count: 1 },
      { segment: 'default', outcome: 'forwarded', transport: 'udp', count: 1 },
      { segment: 'default', outcome: 'forwarded', transport: 'doh', count: 1 },
    ]);
  });

  it('gives each outcome and transport its own slot', () => {
    const counts = new QueryCounters().forSegment('s');
    for (const outcome of OUTCOMES) for (const transport of TRANSPORTS) countQuery(counts, outcome, transport);
    expect([...counts].every((c) => c === 1)).toBe(true);
  });
});
