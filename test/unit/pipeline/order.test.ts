import { describe, expect, it } from 'vitest';
import { chain, QUERY_STAGES, RESPONSE_STAGES } from '../../../src/pipeline/order.ts';

describe('pipeline order', () => {
  it('pins the query side: ACL first, policy before ANY, cache and forward last', () => {
    expect(QUERY_STAGES.map((s) => s.name)).toEqual(['acl', 'qclass', 'bypass', 'policy', 'any', 'cache', 'forward']);
  });

  it('pins the response side: inspection before the relay, which is last', () => {
    expect(RESPONSE_STAGES.map((s) => s.name)).toEqual(['cname', 'response-ip', 'relay']);
  });

  it('gives every stage a reason and a unique name', () => {
    for (const stage of [...QUERY_STAGES, ...RESPONSE_STAGES]) expect(stage.why.length).toBeGreaterThan(20);
    const names = [...QUERY_STAGES, ...RESPONSE_STAGES].map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('chains factories so the first listed runs first and each gets the next', () => {
    const seen: string[] = [];
    type H = (trail: string[]) => void;
    const stage = (name: string) => ({ name, why: `stage ${name} for the ordering test`, factory: (_deps: unknown, next: H): H => (trail) => (seen.push(name), next([...trail, name])) });
    let final: string[] = [];
    const head = chain([stage('a'), stage('b'), stage('c')], {}, (trail: string[]) => void (final = trail));
    head([]);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(final).toEqual(['a', 'b', 'c']);
  });
});
