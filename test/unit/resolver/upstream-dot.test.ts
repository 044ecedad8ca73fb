// DotTransport against DNS over TLS servers on loopback.
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DotTransport } from '../../../src/resolver/upstream-dot.ts';
import type { Attempt } from '../../../src/resolver/upstream-transport.ts';
import { DotUpstream, parseSeen } from '../../helpers/encrypted-upstream.ts';
import { defaultHandler, encodeReply } from '../../helpers/stub-upstream.ts';
import { makeTestCert, type TestCert } from '../../helpers/tls-certs.ts';
import { attempt, RecordingEvents, upstreamFor } from '../../helpers/upstream-attempts.ts';

let cert: TestCert;
const cleanup: (() => Promise<void>)[] = [];

beforeAll(() => {
  cert = makeTestCert(mkdtempSync(`${tmpdir()}/dnsward-dot-`), 'dot');
});

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function upstream(): Promise<DotUpstream> {
  const up = await new DotUpstream(cert).start();
  cleanup.push(() => up.stop());
  return up;
}

/** `ca` null: the default roots. */
function transport(address: string, ca: string[] | null = [readFileSync(cert.cert, 'utf8')]): { dot: DotTransport<Attempt>; events: RecordingEvents; address: string } {
  const events = new RecordingEvents();
  const dot = new DotTransport<Attempt>(upstreamFor(address).target, { events, ca: ca ?? undefined, timeoutMs: 500 });
  cleanup.push(() => dot.close());
  return { dot, events, address };
}

function send(dot: DotTransport<Attempt>, address: string, name: string): Attempt {
  const job = attempt(upstreamFor(address), name);
  dot.send(job);
  return job;
}

const qnameOf = (answer: Buffer | undefined): string | undefined => (answer ? parseSeen(answer)?.qname : undefined);

describe('DotTransport', () => {
  it('matches pipelined answers that come back in another order by ID and question', async () => {
    // A server that waits for three queries, then answers them last first.
    const server: Server = createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (socket) => {
      const queries: Buffer[] = [];
      let pending = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
          queries.push(Buffer.from(pending.subarray(2, 2 + pending.readUInt16BE(0))));
          pending = pending.subarray(2 + (queries.at(-1) as Buffer).length);
        }
        if (queries.length < 3) return;
        for (const q of queries.reverse()) {
          const reply = encodeReply(q, defaultHandler({ ...(parseSeen(q) as NonNullable<ReturnType<typeof parseSeen>>), transport: 'tcp', port: 0 }) as object, false);
          socket.write(Buffer.concat([Buffer.from([reply.length >> 8, reply.length & 0xff]), reply]));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => server.close(() => resolve())));
    const { dot, events, address } = transport(`tls://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const jobs = ['one.example', 'two.example', 'three.example'].map((name) => send(dot, address, name));
    expect(new Set(jobs.map((j) => j.id)).size).toBe(3);
    const outcomes = await events.until(3);
    for (const o of outcomes) expect(qnameOf(o.answer)).toBe(qnameOf(Buffer.concat([Buffer.alloc(12), o.job.question])));
    expect(outcomes.map((o) => qnameOf(o.answer))).toEqual(['three.example', 'two.example', 'one.example']);
  });

  it('fails an attempt whose answer carries another question, and counts it', async () => {
    const up = await upstream();
    up.fault = 'wrong-question';
    const { dot, events, address } = transport(up.address());
    send(dot, address, 'xname.example');
    const [outcome] = await events.until(1);
    expect(outcome?.reason).toBe('dot-mismatch');
    expect(events.mismatches).toBe(1);
  });

  it('sends a query again on a new connection when a server that has answered closes under it', async () => {
    const up = await upstream();
    up.closeAfter = 1;
    const { dot, events, address } = transport(up.address());
    send(dot, address, 'a.example');
    send(dot, address, 'b.example');
    const outcomes = await events.until(2);
    expect(outcomes.map((o) => o.reason)).toEqual([undefined, undefined]);
    expect(outcomes.map((o) => qnameOf(o.answer)).sort()).toEqual(['a.example', 'b.example']);
    expect(up.connections).toBe(2);
  });

  it('fails the attempts of a connection that closes before any answer, without sending them again', async () => {
    const up = await upstream();
    up.fault = 'close';
    const { dot, events, address } = transport(up.address());
    send(dot, address, 'gone.example');
    const [outcome] = await events.until(1);
    expect(outcome?.reason).toBe('dot-closed');
    expect(up.seen).toHaveLength(1);
  });

  it('fails on a certificate it cannot verify, naming the error', async () => {
    const up = await upstream();
    const { dot, events, address } = transport(up.address(), null);
    send(dot, address, 'untrusted.example');
    const [outcome] = await events.until(1);
    expect(outcome?.reason).toMatch(/^dot-error: .*(CERT|SELF_SIGNED)/);
    expect(up.seen).toHaveLength(0);
  });

  it('replaces a connection that stalls: a timed-out query with nothing received since', async () => {
    const up = await upstream();
    up.fault = 'hang';
    const { dot, events, address } = transport(up.address());
    const stuck = send(dot, address, 'stuck.example');
    for (let i = 0; i < 100 && up.seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    dot.cancel(stuck);
    expect(stuck.handle).toBeUndefined();
    up.fault = 'answer';
    send(dot, address, 'fresh.example');
    const [outcome] = await events.until(1);
    expect(qnameOf(outcome?.answer)).toBe('fresh.example');
    expect(up.connections).toBe(2);
    expect(events.outcomes).toHaveLength(1);
  });
});
