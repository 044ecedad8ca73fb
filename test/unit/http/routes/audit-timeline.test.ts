import { describe, expect, it } from 'vitest';
import {
  bucketCount,
  bucketStart,
  KNOWN_PARAMETERS,
  MAX_BUCKETS,
  MAX_SERIES,
  parseTimelineQuery,
  TimelineCounter,
  TimelineRequestError,
} from '../../../../src/http/routes/audit-timeline.ts';

const T = (iso: string): number => Date.parse(iso);
const NOW = T('2026-11-28T12:34:56.789Z');

function event(ts: string, segment = 'service', list = 'tiktok', action = 'blocked'): { ts: string; segment: string; list: string; action: string } {
  return { ts, segment, list, action };
}

describe('parseTimelineQuery', () => {
  it('defaults: the last 24 hours to now, hourly, by segment', () => {
    expect(parseTimelineQuery({}, NOW)).toEqual({ filter: { from: '2026-11-27T12:34:56.789Z', to: '2026-11-28T12:34:56.789Z' }, bucket: 'hour', by: ['segment'] });
  });

  it('takes every filter the events API takes, normalising the domain', () => {
    const q = parseTimelineQuery({ from: '2026-11-28', to: '1795867200000', bucket: 'day', by: 'list,segment,list', segment: 'service', action: 'logged', list: 'tiktok', qname: 'WWW.TikTok.com.', client: 'anon:0123456789abcdef' }, NOW);
    expect(q).toEqual({
      filter: { from: '2026-11-28T00:00:00.000Z', to: new Date(1795867200000).toISOString(), segment: 'service', action: 'logged', list: 'tiktok', qname: 'www.tiktok.com', client: 'anon:0123456789abcdef' },
      bucket: 'day',
      by: ['list', 'segment'],
    });
  });

  it('400s: an unknown parameter names every known one', () => {
    expect(() => parseTimelineQuery({ from: '2026-11-28', limit: '5', Segment: 'x' }, NOW)).toThrow(new TimelineRequestError(`unknown parameter "limit", "Segment"; known: ${KNOWN_PARAMETERS.join(', ')}`));
  });

  it.each([
    [{ from: 'yesterday' }, 'from: "yesterday" is not a time'],
    [{ to: '2026-13-01' }, 'to: "2026-13-01" is not a time'],
    [{ from: '2026-11-28T10:00:00Z', to: '2026-11-28T10:00:00Z' }, 'from must be before to'],
    [{ bucket: 'minute' }, 'bucket: "minute" is not valid; use hour or day'],
    [{ by: 'segment,qname' }, 'by: "qname" is not valid; use segment, list, action'],
    [{ action: 'allowed' }, 'action: "allowed" is not valid; use blocked or logged'],
    [{ segment: ['a', 'b'] }, 'segment: give it once'],
    [{ bucket: ['hour', 'day'] }, 'bucket: give it once'],
  ])('400s on %j', (query, message) => {
    expect(() => parseTimelineQuery(query, NOW)).toThrow(message);
  });

  it(`caps the buckets at ${MAX_BUCKETS}, and says how to ask for fewer`, () => {
    const from = '2026-01-01T00:00:00.000Z';
    const atCap = new Date(T(from) + MAX_BUCKETS * 3_600_000).toISOString();
    expect(parseTimelineQuery({ from, to: atCap }, NOW).bucket).toBe('hour');
    const over = new Date(T(from) + MAX_BUCKETS * 3_600_000 + 1).toISOString();
    expect(() => parseTimelineQuery({ from, to: over }, NOW)).toThrow(`from..to spans ${MAX_BUCKETS + 1} hour buckets; at most ${MAX_BUCKETS}: narrow the range or use bucket=day`);
    expect(parseTimelineQuery({ from, to: over, bucket: 'day' }, NOW).bucket).toBe('day');
    expect(() => parseTimelineQuery({ from: '2000-01-01', to: '2026-01-01', bucket: 'day' }, NOW)).toThrow(/day buckets; at most 1000: narrow the range$/);
  });
});

describe('buckets', () => {
  it('align to UTC hours and days', () => {
    expect(new Date(bucketStart(T('2026-11-28T10:59:59.999Z'), 'hour')).toISOString()).toBe('2026-11-28T10:00:00.000Z');
    expect(new Date(bucketStart(T('2026-11-28T23:59:59.999Z'), 'day')).toISOString()).toBe('2026-11-28T00:00:00.000Z');
    expect(bucketCount(T('2026-11-28T10:30:00Z'), T('2026-11-28T12:00:00Z'), 'hour')).toBe(2);
    expect(bucketCount(T('2026-11-28T10:30:00Z'), T('2026-11-28T12:00:00.001Z'), 'hour')).toBe(3);
    expect(bucketCount(T('2026-11-28T00:00:00Z'), T('2026-11-29T00:00:00Z'), 'day')).toBe(1);
  });
});

describe('TimelineCounter', () => {
  const query = parseTimelineQuery({ from: '2026-11-28T10:30:00Z', to: '2026-11-28T13:00:00Z', by: 'segment,list,action' }, NOW);

  it('counts each event into its bucket per dimension; from inclusive, to exclusive', () => {
    const counter = new TimelineCounter(query);
    expect(counter.add(event('2026-11-28T10:29:59.999Z'))).toBe(false);
    expect(counter.add(event('2026-11-28T10:30:00.000Z'))).toBe(true);
    expect(counter.add(event('2026-11-28T10:59:59.999Z', 'personal', 'bytedance', 'logged'))).toBe(true);
    expect(counter.add(event('2026-11-28T11:00:00.000Z'))).toBe(true);
    expect(counter.add(event('2026-11-28T12:59:59.999Z', 'personal', 'tiktok', 'logged'))).toBe(true);
    expect(counter.add(event('2026-11-28T13:00:00.000Z'))).toBe(false);
    expect(counter.add(event('not a time'))).toBe(false);
    const result = counter.result();
    expect(result.buckets).toEqual(['2026-11-28T10:00:00.000Z', '2026-11-28T11:00:00.000Z', '2026-11-28T12:00:00.000Z']);
    expect(result.total).toBe(4);
    expect(result.truncated).toBe(false);
    expect(result.by.segment).toEqual({
      series: [
        { key: 'personal', counts: [1, 0, 1], total: 2 },
        { key: 'service', counts: [1, 1, 0], total: 2 },
      ],
      other: null,
    });
    expect(result.by.list?.series).toEqual([
      { key: 'tiktok', counts: [1, 1, 1], total: 3 },
      { key: 'bytedance', counts: [1, 0, 0], total: 1 },
    ]);
    expect(result.by.action?.series.map((s) => [s.key, s.total])).toEqual([
      ['blocked', 2],
      ['logged', 2],
    ]);
  });

  it(`keeps the ${MAX_SERIES} biggest series and sums the rest as "other"`, () => {
    const counter = new TimelineCounter(parseTimelineQuery({ from: '2026-11-28T10:00:00Z', to: '2026-11-28T12:00:00Z' }, NOW));
    for (let s = 0; s < MAX_SERIES + 3; s++) {
      for (let n = 0; n <= s; n++) counter.add(event(`2026-11-28T1${n % 2}:00:00.000Z`, `seg${String(s).padStart(2, '0')}`));
    }
    const { by, total } = counter.result();
    const segment = by.segment;
    expect(segment?.series).toHaveLength(MAX_SERIES);
    expect(segment?.series[0]?.key).toBe(`seg${MAX_SERIES + 2}`);
    expect(segment?.other).toEqual({ keys: 3, counts: [1 + 1 + 2, 0 + 1 + 1], total: 1 + 2 + 3 });
    const summed = (segment?.series.reduce((a, s) => a + s.total, 0) ?? 0) + (segment?.other?.total ?? 0);
    expect(summed).toBe(total);
  });

  it('says where counting stopped when truncated', () => {
    const counter = new TimelineCounter(query);
    counter.add(event('2026-11-28T11:15:00.000Z'));
    expect(counter.result(true)).toMatchObject({ truncated: true, counted_to: '2026-11-28T11:15:00.000Z', total: 1 });
  });
});
