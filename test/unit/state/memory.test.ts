import { describe, expect, it } from 'vitest';
import { compareIds, headOf, MemoryState } from '../../../src/state/memory.ts';
import { sharedStateContract } from './contract.ts';

sharedStateContract('MemoryState', async () => new MemoryState());

describe('MemoryState', () => {
  it('is always up', () => {
    expect(new MemoryState().status().state).toBe('up');
  });

  it('caps the stream, dropping the oldest', async () => {
    const state = new MemoryState({ streamMaxEvents: 3 });
    await state.shipEvents('a', 1, ['1', '2', '3', '4', '5']);
    expect((await state.readStream('', 10)).map((e) => e.line)).toEqual(['3', '4', '5']);
  });

  it('makes increasing stream ids within a millisecond', async () => {
    const state = new MemoryState({ now: () => 1000 });
    await state.shipEvents('a', 1, ['x', 'y']);
    const [first, second] = await state.readStream('', 10);
    expect([first?.id, second?.id]).toEqual(['1000-0', '1000-1']);
    expect(compareIds('1000-1', '1000-0')).toBeGreaterThan(0);
    expect(compareIds('999-5', '1000-0')).toBeLessThan(0);
  });

  it('reads the head of a log of JSON lines', () => {
    expect(headOf([])).toEqual({ seq: 0, hash: '0'.repeat(64) });
    expect(headOf(['{"seq":4,"hash":"ab"}'])).toEqual({ seq: 4, hash: 'ab' });
  });
});
