import { describe, expect, it } from 'vitest';
import {
  authProblem,
  chartSeries,
  chooseBucket,
  countCsvRecords,
  csvFileName,
  FilterError,
  type FilterForm,
  filterParams,
  fleetFromContract,
  fleetFromReadyz,
  isoToUtcInput,
  joinCsvPages,
  printable,
  stackBars,
  utcInputToIso,
} from '../../../../../src/http/dashboard/page/model.ts';

const form = (values: Partial<FilterForm>): FilterForm => ({ from: '2026-11-28T10:00', to: '', segment: '', action: '', list: '', qname: '', client: '', ...values });

describe('filter form → API parameters', () => {
  it('reads datetime-local values as UTC and leaves empty fields out', () => {
    expect(filterParams(form({ segment: ' service ', qname: 'tiktok.com' })).toString()).toBe('from=2026-11-28T10%3A00%3A00.000Z&segment=service&qname=tiktok.com');
    expect(utcInputToIso('2026-11-28T10:00:30', 'From')).toBe('2026-11-28T10:00:30.000Z');
    expect(isoToUtcInput(Date.parse('2026-11-28T10:07:59.999Z'))).toBe('2026-11-28T10:07');
    expect(utcInputToIso('', 'To')).toBeUndefined();
  });

  it('refuses a missing start, a bad time and an empty range with a message for the form', () => {
    expect(() => filterParams(form({ from: '' }))).toThrow(new FilterError('From: give the start of the range (UTC)'));
    expect(() => filterParams(form({ to: 'tomorrow' }))).toThrow('To: "tomorrow" is not a time; use YYYY-MM-DDTHH:MM (UTC)');
    expect(() => filterParams(form({ to: '2026-11-28T10:00' }))).toThrow('From must be before To');
  });

  it('charts up to three days per hour, longer ranges per day', () => {
    const now = Date.parse('2026-11-28T12:00:00Z');
    expect(chooseBucket(new URLSearchParams({ from: '2026-11-25T12:00:00.000Z' }), now)).toBe('hour');
    expect(chooseBucket(new URLSearchParams({ from: '2026-11-25T11:59:59.999Z' }), now)).toBe('day');
    expect(chooseBucket(new URLSearchParams({ from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z' }), now)).toBe('hour');
  });
});

describe('authProblem', () => {
  it('says what a 401 and a 403 mean, with the server message', () => {
    expect(authProblem(401, { error: 'unauthorized', message: 'send a valid token' })).toBe('The server did not accept this token (401 Unauthorized): send a valid token. Check it and enter it again.');
    expect(authProblem(403, { message: 'token "x" has role y' })).toBe('This token may not read the block log (403 Forbidden): token "x" has role y. Use a token with role auditor or admin.');
    expect(authProblem(401, 'not json')).toBe('The server did not accept this token (401 Unauthorized). Check it and enter it again.');
  });
});

describe('printable', () => {
  it('escapes control characters and backslashes, keeps markup as the characters it is', () => {
    expect(printable('<b>x</b>.tiktok.com')).toBe('<b>x</b>.tiktok.com');
    expect(printable('bell\u0007\u0000\u007f\u0085.a')).toBe('bell\\007\\000\\127\\133.a');
    expect(printable('a\\007')).toBe('a\\\\007');
    expect(printable('x\u202ey')).toBe('x\\u202ey');
    expect(printable('Segment Zürich')).toBe('Segment Zürich');
  });

  it('in wire names, escapes every byte outside printable ASCII (space included)', () => {
    expect(printable('a b.\u00e9\u00ff.com', true)).toBe('a\\032b.\\233\\255.com');
    expect(printable('<script>.tiktok.com', true)).toBe('<script>.tiktok.com');
  });
});

describe('fleet panel', () => {
  it('reads the /api/fleet contract and groups list versions across replicas', () => {
    const view = fleetFromContract({
      replicas: [
        { instance: 'a', version: '0.1.0', self: true, lists: [{ name: 'tiktok', version: 'v1', entries: 10 }, { name: 'bytedance', version: 'b1', entries: 5 }], last_heartbeat: '2026-11-28T10:00:00Z', redis: 'up', audit: { written: 5, spooled: 0 } },
        { instance: 'b', version: '0.1.0', self: false, lists: [{ name: 'tiktok', version: 'v2', entries: 11 }, { name: 'bytedance', version: 'b1', entries: 5 }], last_heartbeat: '2026-11-28T10:00:01Z', redis: 'down', audit: { written: 3, spooled: 2 } },
      ],
      consistent: false,
    });
    expect(view.source).toBe('/api/fleet');
    expect(view.note).toBe('Source: GET /api/fleet, 2 replicas; the replicas run different list versions.');
    expect(view.consistent).toBe(false);
    expect(view.replicas[1]).toEqual({ instance: 'b', version: '0.1.0', self: false, lists: [{ name: 'tiktok', version: 'v2', entries: 11 }, { name: 'bytedance', version: 'b1', entries: 5 }], lastHeartbeat: '2026-11-28T10:00:01Z', redis: 'down', audit: '3 written, 2 spooled' });
    expect(view.lists).toEqual([
      { name: 'bytedance', versions: [{ version: 'b1', entries: 5, instances: ['a', 'b'] }] },
      { name: 'tiktok', versions: [{ version: 'v1', entries: 10, instances: ['a'] }, { version: 'v2', entries: 11, instances: ['b'] }] },
    ]);
  });

  it('survives a body that is not the contract (shows dashes, never throws)', () => {
    const view = fleetFromContract({ replicas: [{ instance: 7, lists: 'x', audit: null }, null], consistent: 'yes' });
    expect(view.replicas).toEqual([
      { instance: '7', version: '—', self: false, lists: [], lastHeartbeat: '—', redis: '—', audit: '0 written, 0 spooled' },
      { instance: '—', version: '—', self: false, lists: [], lastHeartbeat: '—', redis: '—', audit: '0 written, 0 spooled' },
    ]);
    expect(view.consistent).toBeNull();
    expect(fleetFromContract(null).replicas).toEqual([]);
  });

  it('falls back to /readyz: this replica alone, and says so', () => {
    const view = fleetFromReadyz({
      instance: 'test',
      version: '0.1.0',
      degraded: ['upstream 127.0.0.1:53 down'],
      lists: [{ name: 'tiktok', version: 'be97', entries: 140 }],
      audit: { written: 12, buffered: 0 },
      redis: undefined,
    });
    expect(view).toEqual({
      source: '/readyz',
      note: 'Source: GET /readyz, this replica only (this server has no GET /api/fleet).',
      replicas: [{ instance: 'test', version: '0.1.0', self: true, lists: [{ name: 'tiktok', version: 'be97', entries: 140 }], lastHeartbeat: '—', redis: 'none', audit: '12 written, 0 buffered' }],
      consistent: null,
      lists: [{ name: 'tiktok', versions: [{ version: 'be97', entries: 140, instances: ['test'] }] }],
      degraded: ['upstream 127.0.0.1:53 down'],
    });
    expect(fleetFromReadyz({}, 'this token may not read GET /api/fleet (403)').note).toBe('Source: GET /readyz, this replica only (this token may not read GET /api/fleet (403)).');
  });
});

describe('charts', () => {
  it('adds an "other" series when the API folded some', () => {
    expect(chartSeries({ series: [{ key: 'a', counts: [1], total: 1 }], other: { keys: 4, counts: [2], total: 2 } }).map((s) => s.label)).toEqual(['a', 'other (4)']);
    expect(chartSeries(undefined)).toEqual([]);
  });

  it('stacks bars bucket by bucket, scaled to the tallest stack', () => {
    const { bars, max } = stackBars(
      [
        { label: 'a', counts: [1, 0, 3], total: 4 },
        { label: 'b', counts: [1, 2, 1], total: 4 },
      ],
      3,
      300,
      100,
    );
    expect(max).toBe(4);
    expect(bars.map((b) => [b.series, b.bucket, b.count, b.y, b.height])).toEqual([
      [0, 0, 1, 75, 25],
      [0, 2, 3, 25, 75],
      [1, 0, 1, 50, 25],
      [1, 1, 2, 50, 50],
      [1, 2, 1, 0, 25],
    ]);
    expect(bars[0]).toMatchObject({ x: 1, width: 98 });
    expect(stackBars([{ label: 'a', counts: [0, 0], total: 0 }], 2, 100, 100)).toEqual({ bars: [], max: 0 });
  });
});

describe('CSV export', () => {
  const header = 'ts,qname\r\n';
  it('joins pages under one header and counts records, quoted line breaks included', () => {
    const joined = joinCsvPages([`${header}1,a\r\n2,"b\r\nc"\r\n`, `${header}3,d\r\n`, header]);
    expect(joined).toBe(`${header}1,a\r\n2,"b\r\nc"\r\n3,d\r\n`);
    expect(countCsvRecords(joined)).toBe(3);
    expect(countCsvRecords(header)).toBe(0);
    expect(countCsvRecords('')).toBe(0);
  });

  it('names the file by the time of export', () => {
    expect(csvFileName(Date.parse('2026-11-28T10:00:05.123Z'))).toBe('dnsward-audit-20261128T100005Z.csv');
  });
});
