import { describe, expect, it } from 'vitest';
import { ThrottledLog } from '../../../src/audit/throttled-log.ts';
import { captureLogs } from './helpers.ts';

describe('ThrottledLog', () => {
  it('logs the first line, then at most one per interval, building no fields for a suppressed one', () => {
    const { logger, lines } = captureLogs();
    let now = 1_000_000;
    const log = new ThrottledLog(logger, 10_000, () => now);
    let built = 0;
    const fields = (): Record<string, unknown> => ({ n: ++built });
    expect(log.error(fields, 'disk full')).toBe(true);
    now += 9_999;
    expect(log.error(fields, 'disk full')).toBe(false);
    expect(built).toBe(1);
    now += 1;
    expect(log.error(fields, 'disk full')).toBe(true);
    expect(lines.map((l) => [l.level, l.msg, l.n])).toEqual([
      [50, 'disk full', 1],
      [50, 'disk full', 2],
    ]);
  });
});
