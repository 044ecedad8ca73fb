import { describe, expect, it } from 'vitest';
import { FileRotation } from '../../../src/audit/rotation.ts';

describe('FileRotation', () => {
  it('names the file by instance and UTC date, index 000, and counts the bytes placed', () => {
    const r = new FileRotation('a/b', 1000);
    expect(r.current).toBeUndefined();
    expect(r.place('2026-11-28', 100)).toBe('audit-a_b-2026-11-28-000.jsonl');
    expect(r.place('2026-11-28', 100)).toBe('audit-a_b-2026-11-28-000.jsonl');
    expect(r.current).toMatchObject({ date: '2026-11-28', index: 0, bytes: 200 });
  });

  it('starts the next index when a line would exceed the size, and a new date at index 000', () => {
    const r = new FileRotation('a', 250);
    expect(r.place('2026-11-28', 200)).toBe('audit-a-2026-11-28-000.jsonl');
    expect(r.place('2026-11-28', 100)).toBe('audit-a-2026-11-28-001.jsonl');
    expect(r.place('2026-11-28', 100)).toBe('audit-a-2026-11-28-001.jsonl');
    expect(r.place('2026-11-29', 100)).toBe('audit-a-2026-11-29-000.jsonl');
  });

  it('puts a line larger than the limit alone in a file rather than nowhere', () => {
    const r = new FileRotation('a', 100);
    expect(r.place('2026-11-28', 500)).toBe('audit-a-2026-11-28-000.jsonl');
    expect(r.place('2026-11-28', 10)).toBe('audit-a-2026-11-28-001.jsonl');
  });

  it('never goes back to an earlier date (clock stepped back)', () => {
    const r = new FileRotation('a', 1000);
    r.place('2026-11-29', 10);
    expect(r.place('2026-11-28', 10)).toBe('audit-a-2026-11-29-000.jsonl');
  });

  it('continues in the existing newest file, counting its size', () => {
    const r = new FileRotation('a', 1000, { date: '2026-11-28', index: 3, name: 'audit-a-2026-11-28-003.jsonl', bytes: 950 });
    expect(r.place('2026-11-28', 40)).toBe('audit-a-2026-11-28-003.jsonl');
    expect(r.place('2026-11-28', 40)).toBe('audit-a-2026-11-28-004.jsonl');
  });

  it('keeps room for seal lines, and counts lines that are not events', () => {
    const r = new FileRotation('a', 1000, undefined, 300);
    expect(r.place('2026-11-28', 600)).toBe('audit-a-2026-11-28-000.jsonl');
    expect(r.place('2026-11-28', 200)).toBe('audit-a-2026-11-28-001.jsonl');
    r.account('audit-a-2026-11-28-001.jsonl', 300);
    r.account('audit-a-2026-11-28-000.jsonl', 999);
    expect(r.current).toMatchObject({ index: 1, bytes: 500 });
    expect(r.placeOther('2026-11-30', 100)).toBe('audit-a-2026-11-28-001.jsonl');
    const empty = new FileRotation('a', 1000);
    expect(empty.placeOther('2026-11-30', 100)).toBe('audit-a-2026-11-30-000.jsonl');
    expect(empty.current).toMatchObject({ bytes: 100 });
  });
});
