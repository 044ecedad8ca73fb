import { describe, expect, it } from 'vitest';
import type { AnswerSource, QueryContext } from '../../../../src/pipeline/context.ts';
import { cacheStage } from '../../../../src/pipeline/stages/cache.ts';
import { AnswerCache } from '../../../../src/resolver/answer-cache.ts';
import { contextFor, nextSpy } from '../helpers.ts';
import { aRecord, upstreamAnswer } from './answers.ts';

describe('cache stage', () => {
  it('hands a stored answer to the response side with its age in whole seconds', () => {
    const cache = new AnswerCache(10);
    const ctx = contextFor({ name: 'example.org' });
    const { buf, scan } = upstreamAnswer(ctx, aRecord(ctx));
    cache.set(ctx.q.cacheKey, buf, scan, ctx.receivedAt - 2_500);
    const respond = nextSpy<[QueryContext, Buffer, unknown, number, AnswerSource]>();
    const next = nextSpy<[QueryContext]>();
    cacheStage({ cache, respond }, next)(ctx);
    expect(next.calls).toHaveLength(0);
    expect(respond.calls).toHaveLength(1);
    const [, answer, , age, source] = respond.calls[0] as [QueryContext, Buffer, unknown, number, AnswerSource];
    // The cache keeps its own copy of the bytes (a view into a shared chunk), not the caller's buffer.
    expect(answer.equals(buf)).toBe(true);
    expect(age).toBe(2);
    expect(source).toBe('cached');
  });

  it('passes a miss (and an expired entry) to the next stage', () => {
    const cache = new AnswerCache(10);
    const ctx = contextFor({ name: 'example.org' });
    const { buf, scan } = upstreamAnswer(ctx, aRecord(ctx));
    const respond = nextSpy<[QueryContext, Buffer, unknown, number, AnswerSource]>();
    const next = nextSpy<[QueryContext]>();
    const stage = cacheStage({ cache, respond }, next);
    stage(ctx);
    cache.set(ctx.q.cacheKey, buf, scan, ctx.receivedAt - 301_000); // TTL 300 s
    stage(ctx);
    expect(next.calls).toHaveLength(2);
    expect(respond.calls).toHaveLength(0);
  });
});
