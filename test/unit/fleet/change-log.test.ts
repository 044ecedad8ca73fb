// The change log copy of a replica over the shared log: it follows it, refills it when the shared
// log lost records, and stops following (saying why) when the two disagree.
import { describe, expect, it } from 'vitest';
import { GENESIS } from '../../../src/audit/event.ts';
import { chainLine } from '../../../src/fleet/chain-file.ts';
import { ChangeLog } from '../../../src/fleet/change-log.ts';
import { MemoryState } from '../../../src/state/memory.ts';
import { KEY, silent, tempDir } from '../audit/helpers.ts';

let n = 0;
function record(seq: number, prev: string, domain = `d${++n}.example`): { line: string; hash: string } {
  return chainLine({ ts: '2026-12-01T00:00:00.000Z', instance: 'x', actor: 'alice', action: 'add', list: 'tiktok', domain, reason: 'r', list_version_before: 'a', list_version_after: 'b' }, seq, prev);
}

async function openLog(dir: string, changed: string[][] = []): Promise<ChangeLog> {
  return ChangeLog.open({ dir, instance: 'a', signingKey: KEY, fsync: false, logger: silent, onChanged: (lists) => changed.push(lists) });
}

describe('ChangeLog', () => {
  it('takes what the shared log has beyond its copy, and tells which lists changed', async () => {
    const state = new MemoryState();
    const one = record(1, GENESIS, 'one.example');
    const two = record(2, one.hash, 'two.example');
    await state.appendChanges({ seq: 0, hash: GENESIS }, [one.line, two.line]);
    const changed: string[][] = [];
    const log = await openLog(await tempDir(), changed);
    await log.sync(state);
    expect(log.head).toEqual({ seq: 2, hash: two.hash });
    expect(changed).toEqual([['tiktok']]);
    expect(log.entries.of('tiktok').map((e) => e.domain)).toEqual(['one.example', 'two.example']);
    expect(Object.keys(log.records()[0] as object)[0]).toBe('seq');
    await log.sync(state);
    expect(changed).toHaveLength(1);
  });

  it('survives a restart, and refills a shared log that lost its records', async () => {
    const dir = await tempDir();
    const first = new MemoryState();
    const one = record(1, GENESIS);
    await first.appendChanges({ seq: 0, hash: GENESIS }, [one.line]);
    const log = await openLog(dir);
    await log.sync(first);
    await log.checkpoint('shutdown');
    // A new, empty shared state (a Redis without persistence restarted): the copy fills it.
    const empty = new MemoryState();
    const again = await openLog(dir);
    expect(again.head.seq).toBe(1);
    expect(again.entries.of('tiktok')).toHaveLength(1);
    await again.sync(empty);
    expect(await empty.changesHead()).toEqual({ seq: 1, hash: one.hash });
  });

  it('stops following a shared log that disagrees with its copy, and says so', async () => {
    const dir = await tempDir();
    const ours = new MemoryState();
    const one = record(1, GENESIS, 'same.example');
    await ours.appendChanges({ seq: 0, hash: GENESIS }, [one.line]);
    const log = await openLog(dir);
    await log.sync(ours);
    const theirs = new MemoryState();
    const other = record(1, GENESIS, 'other.example');
    await theirs.appendChanges({ seq: 0, hash: GENESIS }, [other.line, record(2, other.hash).line]);
    await log.sync(theirs);
    expect(log.problem).toMatch(/seq 2 where seq 2 was expected|prev does not match/);
    expect(log.head.seq).toBe(1);
    // A record in the shared log that was edited is refused the same way.
    const edited = new MemoryState();
    await edited.appendChanges({ seq: 0, hash: GENESIS }, [one.line, record(2, one.hash).line.replace('"reason":"r"', '"reason":"z"')]);
    await log.sync(edited);
    expect(log.problem).toContain('content does not match its hash');
    await log.sync(ours);
    expect(log.problem).toBeUndefined();
  });
});
