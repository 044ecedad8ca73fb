import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { AUTO_THREAD_MIN_CPUS, threadWanted } from '../../../src/util/cpus.ts';

describe('threadWanted', () => {
  it('takes true and false as they are, whatever the CPUs', () => {
    for (const cpus of [1, 2, 4, 64]) {
      expect(threadWanted(true, cpus)).toBe(true);
      expect(threadWanted(false, cpus)).toBe(false);
    }
  });

  it('starts an auto thread from 4 CPUs on, not on 1 to 3', () => {
    expect(AUTO_THREAD_MIN_CPUS).toBe(4);
    expect([1, 2, 3, 4, 8].map((cpus) => threadWanted('auto', cpus))).toEqual([false, false, false, true, true]);
  });

  it('reads the CPUs available to this process by default', () => {
    expect(threadWanted('auto')).toBe(availableParallelism() >= 4);
  });
});
