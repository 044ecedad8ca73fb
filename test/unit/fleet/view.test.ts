import { describe, expect, it } from 'vitest';
import { buildFleetView, forgotten, type Heartbeat } from '../../../src/fleet/view.ts';

const NOW = Date.parse('2026-12-01T10:00:00.000Z');

function beat(instance: string, ageMs: number, version = 'v1', changes = 3): Heartbeat {
  return {
    instance,
    version: '0.1.0',
    run: 'r',
    started: '2026-12-01T09:00:00.000Z',
    ts: new Date(NOW - ageMs).toISOString(),
    interval_s: 2,
    status: 'ok',
    degraded: [],
    policy_generation: 4,
    lists: [{ name: 'tiktok', version, entries: 140, org_entries: 1 }],
    changes: { seq: changes, hash: `h${changes}` },
    redis: { state: 'up', since: '2026-12-01T09:00:00.000Z' },
    audit: { written: 10, dropped: 0, buffered: 0, seq: 10, shipped_seq: 8, spooled: 2 },
  };
}

const up = { state: 'up' as const, since: '2026-12-01T09:00:00.000Z' };

describe('buildFleetView', () => {
  it('lists live replicas by name, the one asked marked self; stale ones as gone', () => {
    const beats = { b: JSON.stringify(beat('b', 1000)), c: JSON.stringify(beat('c', 7000)), d: JSON.stringify(beat('d', 5 * 3_600_000)) };
    const view = buildFleetView(beat('a', 0), beats, up, NOW);
    expect(view.replicas.map((r) => [r.instance, r.self, r.age_s, r.redis, r.last_heartbeat])).toEqual([
      ['a', true, 0, 'up', '2026-12-01T10:00:00.000Z'],
      ['b', false, 1, 'up', '2026-12-01T09:59:59.000Z'],
    ]);
    expect(view.replicas[0]?.audit).toMatchObject({ written: 10, spooled: 2 });
    expect(view.gone).toEqual([{ instance: 'c', last_heartbeat: '2026-12-01T09:59:53.000Z', version: '0.1.0' }]);
    expect(view.consistent).toBe(true);
    expect(view.lists).toEqual({ tiktok: { v1: ['a', 'b'] } });
  });

  it('is not consistent when versions or the change log differ', () => {
    expect(buildFleetView(beat('a', 0), { b: JSON.stringify(beat('b', 0, 'v2')) }, up, NOW)).toMatchObject({ consistent: false, lists: { tiktok: { v1: ['a'], v2: ['b'] } } });
    const behind = buildFleetView(beat('a', 0), { b: JSON.stringify(beat('b', 0, 'v1', 2)) }, up, NOW);
    expect(behind.consistent).toBe(false);
    expect(behind.notes[0]).toContain('different points of the admin change log');
  });

  it('without Redis shows this replica and says so', () => {
    const view = buildFleetView(beat('a', 0), undefined, { state: 'down', since: 'x' }, NOW);
    expect(view.replicas.map((r) => r.instance)).toEqual(['a']);
    expect(view.notes).toContain('redis is unreachable: only this replica is shown');
  });

  it('forgets heartbeats older than an hour', () => {
    expect(forgotten({ a: JSON.stringify(beat('a', 1000)), b: JSON.stringify(beat('b', 2 * 3_600_000)), c: 'garbage' }, NOW)).toEqual(['b', 'c']);
  });
});
