import { describe, expect, it } from 'vitest';
import { headOf, MemoryState } from '../../../src/state/memory.ts';
import { sharedStateContract, span } from './contract.ts';

sharedStateContract('MemoryState', async () => new MemoryState());

describe('MemoryState', () => {
  it('is always up', () => {
    expect(new MemoryState().status().state).toBe('up');
  });

  it('caps the stream, dropping the oldest', async () => {
    const state = new MemoryState({ streamMaxEvents: 3 });
    await state.shipEvents('a', span(1, 5));
    expect((await state.readStream('', 10)).map((e) => e.seq)).toEqual([3, 4, 5]);
  });

  it('makes increasing ids within a millisecond', async () => {
    const state = new MemoryState({ now: () => 1000 });
    await state.shipEvents('a', span(1, 2));
    await state.shipEvents('a', span(3, 3));
    expect((await state.readStream('', 10)).map((e) => e.id)).toEqual(['1000-0/0', '1000-0/1', '1000-1/0']);
  });

  it('reads the head of a log of JSON lines', () => {
    expect(headOf([])).toEqual({ seq: 0, hash: '0'.repeat(64) });
    expect(headOf(['{"seq":4,"hash":"ab"}'])).toEqual({ seq: 4, hash: 'ab' });
  });
});
