// A policy on its way to the DNS workers: what the worker builds answers as the main thread's
// snapshot does, and the lists arrive as the same shared memory, not a copy per worker.
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.ts';
import { DomainSet } from '../../../src/lists/domain-set.ts';
import { QueryCounters } from '../../../src/pipeline/counters.ts';
import { buildPolicySnapshot, policyInputFromConfig } from '../../../src/policy/snapshot.ts';
import { policyForWorkers, policyFromMain, type WirePolicy } from '../../../src/replica/worker-policy.ts';

const config = configSchema.parse({
  upstreams: ['127.0.0.1:9'],
  dns: { allow: ['10.0.0.0/8'], any: 'refuse' },
  segments: [
    { name: 'service', networks: ['10.1.0.0/16'], action: 'block', lists: ['big', 'small'], allowlist: ['ok.big0.com'] },
    { name: 'personal', networks: ['10.2.0.0/16'], action: 'log', lists: ['small'] },
  ],
});
const big = { name: 'big', version: 'v1', domains: [], set: DomainSet.from(Array.from({ length: 2000 }, (_, i) => `big${i}.com`)) };
const small = { name: 'small', version: 'v2', domains: ['small.example'] };
const networks = [{ name: 'nets', version: 'n1', networks: ['192.0.2.0/24'] }];

/** Through a MessagePort, as postMessage to a worker copies (and shares) it. */
function overThePort(wire: WirePolicy): WirePolicy {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(wire);
  const received = receiveMessageOnPort(port2)?.message as WirePolicy;
  port1.close();
  return received;
}

describe('policyForWorkers / policyFromMain', () => {
  const main = buildPolicySnapshot(policyInputFromConfig(config, [big, small], networks), { countsFor: new QueryCounters().forSegment });
  const wire = overThePort(policyForWorkers(main));
  const worker = policyFromMain(wire, { countsFor: new QueryCounters().forSegment });

  it('builds a snapshot that decides as the main thread does', () => {
    expect(wire.generation).toBe(main.generation);
    expect(worker.lists).toEqual(main.lists);
    expect(worker.segments.map((s) => [s.name, s.action, s.mask, s.netMask, [...s.allowlist]])).toEqual(main.segments.map((s) => [s.name, s.action, s.mask, s.netMask, [...s.allowlist]]));
    for (const name of ['big7.com', 'www.big1999.com', 'big2000.com', 'a.small.example', 'small.example.org']) {
      for (const segment of main.segments) expect(worker.matcher.match(name, segment.mask), `${name} ${segment.name}`).toEqual(main.matcher.match(name, segment.mask));
    }
    for (const client of ['10.1.2.3', '10.2.0.1', '10.9.9.9', '192.0.2.1']) {
      const a = main.classifier.classify(client);
      const b = worker.classifier.classify(client);
      expect([b.allowed, b.segment.name], client).toEqual([a.allowed, a.segment.name]);
    }
    expect(worker.networks.lists).toEqual(main.networks.lists);
    expect(worker.anyPolicy).toBe('refuse');
  });

  it('shares the lists: every set, loaded as a set or built from names, is the main thread memory', () => {
    for (const [i, set] of main.matcher.sets.entries()) {
      const parts = set.share();
      const received = wire.lists[i]?.set;
      expect(parts.slots.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(received?.slots.buffer).toBeInstanceOf(SharedArrayBuffer);
      // One memory: a write on the main side shows on the worker's side.
      const before = parts.pool[0] as number;
      parts.pool[0] = 0x7a;
      expect(received?.pool[0]).toBe(0x7a);
      parts.pool[0] = before;
    }
    // The main thread's set is the one it was loaded as (no second copy kept beside it).
    expect(main.matcher.sets[0]).toBe(big.set);
  });
});
