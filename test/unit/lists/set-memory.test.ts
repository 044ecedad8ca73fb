// Where a DomainSet's arrays live: ordinary memory until useSharedMemory(), shared after it, so
// that a process with DNS worker threads hands its sets over without a copy. (The switch is
// for the whole process: vitest gives this file a module state of its own.)
import { describe, expect, it } from 'vitest';
import { DomainSet } from '../../../src/lists/domain-set.ts';
import { allocate, copyOf, isShared, resized, sharedMemoryInUse, useSharedMemory } from '../../../src/lists/set-memory.ts';

describe('set memory', () => {
  it('allocates ordinary memory by default, shared memory when asked, and copies exactly', () => {
    expect(sharedMemoryInUse()).toBe(false);
    expect(isShared(allocate(Uint32Array, 4))).toBe(false);
    const shared = allocate(Int32Array, 4, true);
    expect(isShared(shared)).toBe(true);
    expect(shared.length).toBe(4);
    const copy = copyOf(Uint8Array.from([1, 2, 3, 4]), 3, true);
    expect([...copy]).toEqual([1, 2, 3]);
    expect(isShared(copy)).toBe(true);
    expect(isShared(copyOf(copy, 2, false))).toBe(false);
  });

  it('resizes ordinary arrays by transfer (the old buffer is released at once), views by copy', () => {
    const owner = Uint32Array.from([1, 2, 3]);
    const grown = resized(owner, 5, (b) => new Uint32Array(b));
    expect([...grown]).toEqual([1, 2, 3, 0, 0]);
    expect(owner.buffer.detached).toBe(true);
    const whole = Uint8Array.from([1, 2, 3, 4]);
    const view = whole.subarray(1, 3);
    expect([...resized(view, 1, (b) => new Uint8Array(b))]).toEqual([2]);
    expect(whole.buffer.detached).toBe(false);
  });

  it('after useSharedMemory(), sets live in shared memory from the start and share() copies nothing', () => {
    const before = DomainSet.from(['a.example', 'b.example']);
    useSharedMemory();
    expect(sharedMemoryInUse()).toBe(true);
    const set = new DomainSet(4, 16);
    // Past its initial size: grown arrays are shared too.
    for (let i = 0; i < 500; i++) set.add(`h${i}.example`);
    const own = set as unknown as { pool: Uint8Array; slots: Int32Array };
    const [pool, slots] = [own.pool, own.slots];
    expect(isShared(pool) && isShared(slots)).toBe(true);
    const parts = set.share();
    expect(parts.pool).toBe(pool);
    expect(parts.slots).toBe(slots);
    for (const key of ['pool', 'slots'] as const) expect(isShared(parts[key]), key).toBe(true);
    // share() handed out the set's own arrays: a second call returns the same objects, and the bytes are counted once.
    expect(set.share().pool).toBe(parts.pool);
    expect(set.byteSize).toBe(parts.poolUsed + parts.slots.byteLength);
    expect(DomainSet.fromShared(parts).has('x.h499.example')).toBe(false);
    expect(DomainSet.fromShared(parts).has('h499.example')).toBe(true);
    // A set built before the switch still moves over on share(), once.
    expect(isShared(before.share().slots)).toBe(true);
    expect(isShared(set.clone().share().pool)).toBe(true);
  });
});
