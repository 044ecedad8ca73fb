import { describe, expect, it } from 'vitest';
import { compareEventIds, idBeforeTime, parseEventId } from '../../../src/state/stream-ids.ts';

describe('stream event ids', () => {
  it('name an event by its entry and its index in it', () => {
    expect(parseEventId('1767225600000-3/12')).toEqual({ entry: '1767225600000-3', ms: 1767225600000, n: 3, k: 12 });
    expect(parseEventId('1767225600000-3')).toBeUndefined();
    expect(parseEventId('x')).toBeUndefined();
  });

  it('order by time, entry, then index', () => {
    const ids = ['2-0/0', '1-1/0', '1-0/10', '1-0/2'];
    expect([...ids].sort(compareEventIds)).toEqual(['1-0/2', '1-0/10', '1-1/0', '2-0/0']);
  });

  it('an id just before a time comes after every earlier event and before every later one', () => {
    const before = idBeforeTime(1000);
    expect(compareEventIds(before, '999-5/7')).toBeGreaterThan(0);
    expect(compareEventIds(before, '1000-0/0')).toBeLessThan(0);
    expect(idBeforeTime(0)).toBe('');
  });
});
