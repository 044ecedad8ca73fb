// A health source for route tests that build an HTTP app without a running replica.
import type { HealthReport } from '../../src/replica/health.ts';

export function readyHealth(ready = true): { report(): HealthReport } {
  return {
    report: () => ({ status: 'ok', ready, instance: 'test', version: '0.0.0', degraded: [], upstreams: [], lists: [], audit: undefined, redis: undefined, policyGeneration: 1 }),
  };
}
