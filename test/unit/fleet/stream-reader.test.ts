// The auditor API's reader over the stream: pages in arrival order with a stream-id cursor,
// filters, bounded work, summaries; this replica's own files while Redis is away.
import { describe, expect, it } from 'vitest';
import { encodeEvent, type EventBody } from '../../../src/audit/event.ts';
import { FileAuditReader } from '../../../src/audit/reader.ts';
import { REDIS_DEFAULTS } from '../../../src/config/sections/redis.ts';
import { StreamAuditReader } from '../../../src/fleet/stream-reader.ts';
import { MemoryState } from '../../../src/state/memory.ts';
import { RedisState } from '../../../src/state/redis.ts';
import type { EventSpan } from '../../../src/state/types.ts';
import { freePort } from '../../integration/fleet-support.ts';
import { silent, tempDir, writeLog } from '../audit/helpers.ts';

function line(instance: string, seq: number, qname: string, minute: number, action: 'blocked' | 'logged' = 'blocked'): string {
  const body: EventBody = { ts: `2026-12-01T10:${String(minute).padStart(2, '0')}:00.000Z`, instance, segment: 'service', client: '10.0.0.1', qname, qtype: 'A', action, list: 'tiktok', rule: 'tiktok.com', list_version: 'v', response: action === 'blocked' ? 'nxdomain' : 'answer' };
  return encodeEvent(body, seq, '0'.repeat(64)).line.trimEnd();
}

function spanOf(lines: string[]): EventSpan {
  const seqs = lines.map((l) => Number(/"seq":(\d+)/.exec(l)?.[1]));
  return { first: seqs[0] as number, last: seqs.at(-1) as number, lines: Buffer.from(lines.map((l) => `${l}\n`).join('')) };
}

async function fleetStream(): Promise<MemoryState> {
  const state = new MemoryState();
  await state.shipEvents('a', spanOf([line('a', 1, 'one.tiktok.com', 1), line('a', 2, 'two.tiktok.com', 2)]));
  await state.shipEvents('b', spanOf([line('b', 1, 'www.tiktok.com', 3, 'logged')]));
  await state.shipEvents('a', spanOf([line('a', 3, 'three.tiktok.com', 4), line('a', 4, 'www.tiktok.com', 5)]));
  return state;
}

describe('StreamAuditReader', () => {
  it('pages through every replica\'s events in arrival order', async () => {
    const reader = new StreamAuditReader(await fleetStream(), new FileAuditReader(await tempDir()));
    const first = await reader.events({ limit: 2 });
    expect(first.scope).toBe('fleet');
    expect(first.events.map((e) => `${e.instance}${e.seq}`)).toEqual(['a1', 'a2']);
    expect(first.next).toMatch(/^s\.\d+-\d+\/\d+$/);
    const second = await reader.events({ limit: 10, cursor: first.next as string });
    expect(second.events.map((e) => `${e.instance}${e.seq}`)).toEqual(['b1', 'a3', 'a4']);
    expect(second.next).toBeNull();
    // A full last page: nothing after it.
    expect((await reader.events({ limit: 5 })).next).toBeNull();
    expect(Object.keys(second.events[0] as object).slice(0, 3)).toEqual(['ts', 'instance', 'segment']);
  });

  it('filters, and bounds the work of one request', async () => {
    const state = await fleetStream();
    const reader = new StreamAuditReader(state, new FileAuditReader(await tempDir()));
    expect((await reader.events({ limit: 10, qname: 'www.tiktok.com' })).events.map((e) => e.instance)).toEqual(['b', 'a']);
    expect((await reader.events({ limit: 10, action: 'logged' })).events).toHaveLength(1);
    expect((await reader.events({ limit: 10, from: '2026-12-01T10:04:00.000Z' })).events.map((e) => e.seq)).toEqual([3, 4]);
    const bounded = new StreamAuditReader(state, new FileAuditReader(await tempDir()), { maxScan: 2 });
    const page = await bounded.events({ limit: 10, qname: 'www.tiktok.com' });
    expect(page.events).toEqual([]);
    expect(page.next).not.toBeNull();
    const second = await bounded.events({ limit: 10, qname: 'www.tiktok.com', cursor: page.next as string });
    expect(second.events.map((e) => e.instance)).toEqual(['b']);
    const third = await bounded.events({ limit: 10, qname: 'www.tiktok.com', cursor: second.next as string });
    expect(third.events.map((e) => e.instance)).toEqual(['a']);
    expect(third.next).toBeNull();
    await expect(reader.events({ limit: 1, cursor: 's.nonsense' })).rejects.toThrow('cursor is not valid');
  });

  it('summarises the fleet, and says when it stopped early', async () => {
    const state = await fleetStream();
    const summary = await new StreamAuditReader(state, new FileAuditReader(await tempDir())).summary({});
    expect(summary).toMatchObject({ scope: 'fleet', truncated: false, total: 5, by_action: { blocked: 4, logged: 1 } });
    await state.shipEvents('c', spanOf(Array.from({ length: 2500 }, (_, i) => line('c', i + 1, 'x.tiktok.com', 6))));
    const capped = await new StreamAuditReader(state, new FileAuditReader(await tempDir()), { maxSummaryScan: 1000 }).summary({});
    expect(capped).toMatchObject({ truncated: true, total: 1000 });
    const all: unknown[] = [];
    for await (const e of new StreamAuditReader(state, new FileAuditReader(await tempDir())).stream({ action: 'logged' })) all.push(e);
    expect(all).toHaveLength(1);
  });

  it('reads this replica\'s files while Redis is away', async () => {
    const dir = await tempDir();
    await writeLog(dir, 3);
    const state = new RedisState({ ...REDIS_DEFAULTS, url: `redis://127.0.0.1:${await freePort()}/0` }, 'a', silent);
    try {
      const reader = new StreamAuditReader(state, new FileAuditReader(dir));
      const page = await reader.events({ limit: 10 });
      expect(page.scope).toBe('local');
      expect(page.events.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect((await reader.summary({})).scope).toBe('local');
      await expect(reader.events({ limit: 1, cursor: 's.1-0' })).rejects.toThrow('the fleet-wide stream, which is unreachable now');
    } finally {
      await state.close();
    }
  });
});
