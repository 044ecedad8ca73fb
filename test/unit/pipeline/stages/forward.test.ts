import { describe, expect, it } from 'vitest';
import type { QueryContext } from '../../../../src/pipeline/context.ts';
import { forwardStage } from '../../../../src/pipeline/stages/forward.ts';
import { contextFor, nextSpy } from '../helpers.ts';

describe('forward stage', () => {
  it('hands every query to the forwarder and never to a next stage', () => {
    const forwarded: QueryContext[] = [];
    const next = nextSpy<[QueryContext]>();
    const stage = forwardStage({ forwarder: { forward: (ctx) => void forwarded.push(ctx) } }, next);
    const ctx = contextFor({ name: 'example.org' });
    stage(ctx);
    expect(forwarded).toEqual([ctx]);
    expect(next.calls).toHaveLength(0);
  });
});
