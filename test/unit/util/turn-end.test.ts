import { describe, expect, it } from 'vitest';
import { afterTurn, beginTurn, endTurn } from '../../../src/util/turn-end.ts';

describe('afterTurn', () => {
  it('outside a bracket, runs the task once in a microtask, however often it was asked', async () => {
    let runs = 0;
    const task = (): void => void runs++;
    afterTurn(task);
    afterTurn(task);
    expect(runs).toBe(0);
    await Promise.resolve();
    expect(runs).toBe(1);
  });

  it('inside beginTurn/endTurn, waits for endTurn (not the microtask) and runs each task once there', async () => {
    const order: string[] = [];
    const a = (): void => void order.push('a');
    const b = (): void => void order.push('b');
    beginTurn();
    afterTurn(a);
    afterTurn(b);
    afterTurn(a);
    await Promise.resolve();
    expect(order).toEqual([]);
    endTurn();
    expect(order).toEqual(['a', 'b']);
    await Promise.resolve();
    expect(order).toEqual(['a', 'b']);
  });

  it('a nested bracket runs the tasks only when the outer one ends', () => {
    let runs = 0;
    const task = (): void => void runs++;
    beginTurn();
    beginTurn();
    afterTurn(task);
    endTurn();
    expect(runs).toBe(0);
    endTurn();
    expect(runs).toBe(1);
  });

  it('a task asked for during a microtask that finds a bracket open runs at that bracket\'s end', async () => {
    let runs = 0;
    const task = (): void => void runs++;
    afterTurn(task); // queues the microtask
    beginTurn(); // a batch starts before it ran
    await Promise.resolve();
    expect(runs).toBe(0);
    endTurn();
    expect(runs).toBe(1);
  });

  it('a task that throws leaves the others for the next turn end', () => {
    const order: string[] = [];
    const bad = (): void => {
      order.push('bad');
      throw new Error('boom');
    };
    const good = (): void => void order.push('good');
    beginTurn();
    afterTurn(bad);
    afterTurn(good);
    expect(() => endTurn()).toThrow('boom');
    expect(order).toEqual(['bad']);
    beginTurn();
    endTurn();
    expect(order).toEqual(['bad', 'good']);
  });
});
