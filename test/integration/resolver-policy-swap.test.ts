// The policy snapshot swap under load: 10,000 queries in flight while the policy is swapped
// 100 times between "block tiktok" and "log tiktok" on the client's segment. Every query
// must be answered, each answer must be what one of the two policies gives, and the block
// log must hold exactly one decision per answer that a policy decided (blocked ↔ NXDOMAIN,
// logged ↔ the upstream's answer), so no query saw half of one policy and half of another.
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision, DecisionSink } from '../../src/audit/types.ts';
import { configSchema } from '../../src/config/schema.ts';
import { buildQuery } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { encodeReply, rr, StubUpstream } from '../helpers/stub-upstream.ts';

const QUERIES = 10_000;
const SWAPS = 100;
const UPSTREAM_DELAY_MS = 25;
/** Answered through a CNAME into the tiktok list: the response side decides these. */
const CLOAKED = 'cloaked.example.org';
const LISTED = 'www.tiktok.com';
const EDGE = 'edge.tiktokcdn.com';
const PLAIN = 'plain.example.org';

class MemorySink implements DecisionSink {
  readonly decisions: Decision[] = [];
  record(decision: Decision): void {
    this.decisions.push(decision);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

describe('policy snapshot swap under load', () => {
  let upstream: StubUpstream;
  let server: TestServer;
  const sink = new MemorySink();

  beforeAll(async () => {
    upstream = new StubUpstream();
    // Answers arrive late, so thousands of forwarded queries are in flight across the swaps.
    upstream.handler = (q) => {
      // The listed name answers through a CNAME into the list too: a query decided on the query
      // side by one policy and on the response side by another would be decided twice.
      const answers = q.qname === CLOAKED ? [rr.cname(CLOAKED, LISTED, 1), rr.a(LISTED, '192.0.2.7', 1)] : q.qname === LISTED ? [rr.cname(LISTED, EDGE, 1), rr.a(EDGE, '192.0.2.8', 1)] : [rr.a(q.qname, '192.0.2.1', 1)];
      setTimeout(() => upstream.sendRaw(encodeReply(q.raw, { answers }, true), q.port), UPSTREAM_DELAY_MS);
      return 'drop';
    };
    await upstream.start();
    server = await startTestServer(testConfig(upstream.port, { dns: { query_timeout_ms: 5000 } }), { decisions: sink });
  });

  afterAll(async () => {
    await server?.stop();
    await upstream?.stop();
  });

  it('answers all 10,000 queries, each per the old or the new policy, across 100 swaps', async () => {
    const base = server.app.resolver.currentPolicy;
    const blocking = testConfig(upstream.port);
    const logging = configSchema.parse({ ...blocking, segments: blocking.segments.map((s) => (s.name === 'service' ? { ...s, action: 'log' } : s)) });
    const policies = [server.app.buildPolicy(logging), server.app.buildPolicy(blocking)];

    const names = [LISTED, CLOAKED, PLAIN];
    const sockets: Socket[] = [];
    const answers = new Map<number, Buffer>();
    const sent = new Map<number, string>();
    for (let s = 0; s < 4; s++) {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.2', () => resolve()));
      socket.setRecvBufferSize(8 * 1024 * 1024);
      socket.on('message', (msg) => answers.set(s * 65_536 + msg.readUInt16BE(0), msg));
      sockets.push(socket);
    }
    const allAnswered = new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`${answers.size} of ${QUERIES} answered`)), 15_000);
      const poll = setInterval(() => {
        if (answers.size < QUERIES) return;
        clearInterval(poll);
        clearTimeout(deadline);
        resolve();
      }, 10);
    });

    // Queries and swaps interleave on the event loop the server runs on.
    let swaps = 0;
    const swapping = (async () => {
      for (; swaps < SWAPS; swaps++) {
        await new Promise((r) => setTimeout(r, 1));
        server.app.resolver.install(policies[swaps % 2] as (typeof policies)[number]);
      }
    })();
    for (let i = 0; i < QUERIES; i++) {
      const s = i % 4;
      const id = Math.floor(i / 4);
      const name = names[i % 3] as string;
      sent.set(s * 65_536 + id, name);
      (sockets[s] as Socket).send(buildQuery({ name, id }), server.port, '127.0.0.1');
      if (i % 200 === 199) await new Promise((r) => setImmediate(r));
    }
    await swapping;
    await allAnswered;
    for (const socket of sockets) socket.close();

    expect(swaps).toBe(SWAPS);
    expect(server.app.resolver.currentPolicy.generation).toBeGreaterThan(base.generation);
    const tally = { blocked: new Map<string, number>(), relayed: new Map<string, number>() };
    for (const [key, msg] of answers) {
      const name = sent.get(key) as string;
      const rcode = msg.readUInt16BE(2) & 0xf;
      const answerCount = msg.readUInt16BE(6);
      if (name === PLAIN) {
        expect(rcode, `${name}`).toBe(0);
        expect(answerCount).toBe(1);
        continue;
      }
      // Blocking policy: NXDOMAIN with no answer. Logging policy: the upstream's answer as is.
      if (rcode === 3) {
        expect(answerCount).toBe(0);
        tally.blocked.set(name, (tally.blocked.get(name) ?? 0) + 1);
      } else {
        expect(rcode, `${name} got rcode ${rcode}`).toBe(0);
        expect(answerCount).toBe(2);
        tally.relayed.set(name, (tally.relayed.get(name) ?? 0) + 1);
      }
    }
    // Both policies were really seen, on both the query side and the response side.
    for (const name of [LISTED, CLOAKED]) {
      expect(tally.blocked.get(name) ?? 0, `${name} blocked`).toBeGreaterThan(0);
      expect(tally.relayed.get(name) ?? 0, `${name} relayed`).toBeGreaterThan(0);
    }
    // One decision per decided answer, with the matching action: nothing decided twice or half.
    const decided = (name: string, action: Decision['action']): number => sink.decisions.filter((d) => d.qname === name && d.action === action).length;
    for (const name of [LISTED, CLOAKED]) {
      expect(decided(name, 'blocked')).toBe(tally.blocked.get(name));
      expect(decided(name, 'logged')).toBe(tally.relayed.get(name));
    }
    expect(sink.decisions.filter((d) => d.qname === PLAIN)).toHaveLength(0);
    expect(server.app.resolver.stats().internalErrors).toBe(0);
  });
});
