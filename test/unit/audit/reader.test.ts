import { appendFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../../src/audit/event.ts';
import { FileAuditReader, decodeCursor, matches, normalizeQname, parseTime } from '../../../src/audit/reader.ts';
import { decision, tempDir, writeLog } from './helpers.ts';

const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

/** Instances a (even minutes) and b (odd minutes), 5 events each, interleaved in time. */
async function twoInstances(): Promise<string> {
  const dir = await tempDir();
  await writeLog(dir, 5, { instance: 'a' }, (i) => decision(i, { ts: T0 + 2 * i * 60_000, segment: 'service' }));
  await writeLog(dir, 5, { instance: 'b' }, (i) => decision(i, { ts: T0 + (2 * i + 1) * 60_000, segment: 'personal', action: 'logged', response: 'answer', list: 'bytedance' }));
  return dir;
}

const label = (e: AuditEvent): string => `${e.instance}${e.seq}`;

describe('parseTime and normalizeQname', () => {
  it('accept ISO 8601 and epoch ms, and nothing else', () => {
    expect(parseTime('2026-11-28')).toBe('2026-11-28T00:00:00.000Z');
    expect(parseTime('2026-11-28T10:00:00+01:00')).toBe('2026-11-28T09:00:00.000Z');
    expect(parseTime(String(T0))).toBe('2026-11-28T10:00:00.000Z');
    expect(parseTime('yesterday')).toBeUndefined();
    expect(normalizeQname(' WWW.TikTok.COM. ')).toBe('www.tiktok.com');
  });
});

describe('matches', () => {
  const e = { ts: '2026-11-28T10:00:00.000Z', segment: 's', action: 'blocked', list: 'l', client: 'c', qname: 'www.tiktok.com' } as AuditEvent;
  it('applies every filter; qname is a suffix on label boundaries', () => {
    expect(matches(e, {})).toBe(true);
    expect(matches(e, { from: '2026-11-28T10:00:00.000Z', to: '2026-11-28T10:00:00.001Z' })).toBe(true);
    expect(matches(e, { to: '2026-11-28T10:00:00.000Z' })).toBe(false);
    expect(matches(e, { qname: 'tiktok.com' })).toBe(true);
    expect(matches(e, { qname: 'www.tiktok.com' })).toBe(true);
    expect(matches(e, { qname: 'ktok.com' })).toBe(false);
    expect(matches(e, { segment: 'x' })).toBe(false);
    expect(matches(e, { action: 'logged' })).toBe(false);
    expect(matches(e, { list: 'x' })).toBe(false);
    expect(matches(e, { client: 'x' })).toBe(false);
  });
});

describe('FileAuditReader', () => {
  it('merges the instances of a directory oldest first, and pages with a cursor without loss or repeats', async () => {
    const reader = new FileAuditReader(await twoInstances());
    const all = await reader.events({ limit: 100 });
    expect(all.events.map(label)).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'b3', 'a4', 'b4', 'a5', 'b5']);
    expect(all.next).toBeNull();
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await reader.events({ limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.events.map(label));
      cursor = page.next ?? undefined;
    } while (cursor);
    expect(seen).toEqual(all.events.map(label));
  });

  it('returns only new events when polled again with the last cursor after the log grew', async () => {
    const dir = await twoInstances();
    const reader = new FileAuditReader(dir);
    const first = await reader.events({ limit: 9 });
    expect(first.next).not.toBeNull();
    await writeLog(dir, 1, { instance: 'a' }, () => decision(9, { ts: T0 + 30 * 60_000 }));
    const rest = await reader.events({ limit: 100, cursor: first.next! });
    expect(rest.events.map(label)).toEqual(['b5', 'a6']);
  });

  it('filters, streams and summarises; skips damaged and incomplete lines', async () => {
    const dir = await twoInstances();
    const file = (await readdir(dir)).find((n) => n.startsWith('audit-a-'))!;
    await appendFile(join(dir, file), 'garbage\n{"ts":');
    const reader = new FileAuditReader(dir);
    const personal: string[] = [];
    for await (const e of reader.stream({ segment: 'personal', from: new Date(T0 + 4 * 60_000).toISOString() })) personal.push(label(e));
    expect(personal).toEqual(['b3', 'b4', 'b5']);
    const summary = await reader.summary({});
    expect(summary).toMatchObject({ total: 10, by_segment: { service: 5, personal: 5 }, by_action: { blocked: 5, logged: 5 }, by_list: { tiktok: 5, bytedance: 5 } });
    expect(summary.rows).toEqual([
      { segment: 'personal', action: 'logged', list: 'bytedance', count: 5 },
      { segment: 'service', action: 'blocked', list: 'tiktok', count: 5 },
    ]);
  });

  it('reads an empty or missing directory as no events', async () => {
    expect(await new FileAuditReader(join(await tempDir(), 'missing')).events({ limit: 10 })).toEqual({ events: [], next: null });
  });

  it('refuses a cursor it did not make', () => {
    for (const bad of ['bm9wZQ', Buffer.from(JSON.stringify({ v: 2, p: {} })).toString('base64url'), Buffer.from(JSON.stringify({ v: 1, p: { a: ['f', -1] } })).toString('base64url')]) {
      expect(() => decodeCursor(bad)).toThrow(/cursor is not valid/);
    }
  });
});
