// DohTransport against an HTTP/2 DNS over HTTPS server on loopback.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DohTransport } from '../../../src/resolver/upstream-doh.ts';
import type { Attempt } from '../../../src/resolver/upstream-transport.ts';
import { DohUpstream, parseSeen } from '../../helpers/encrypted-upstream.ts';
import { makeTestCert, type TestCert } from '../../helpers/tls-certs.ts';
import { attempt, RecordingEvents, upstreamFor } from '../../helpers/upstream-attempts.ts';

let cert: TestCert;
const cleanup: (() => Promise<void>)[] = [];

beforeAll(() => {
  cert = makeTestCert(mkdtempSync(`${tmpdir()}/dnsward-doh-`), 'doh', ['dns.example']);
});

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function upstream(): Promise<DohUpstream> {
  const up = await new DohUpstream(cert).start();
  cleanup.push(() => up.stop());
  return up;
}

/** `ca` null: the default roots. */
function transport(address: string, ca: string[] | null = [readFileSync(cert.cert, 'utf8')]): { doh: DohTransport<Attempt>; events: RecordingEvents; send: (name: string) => Attempt } {
  const events = new RecordingEvents();
  const doh = new DohTransport<Attempt>(upstreamFor(address).target, { events, ca: ca ?? undefined, timeoutMs: 500 });
  cleanup.push(() => doh.close());
  const send = (name: string): Attempt => {
    const job = attempt(upstreamFor(address), name);
    doh.send(job);
    return job;
  };
  return { doh, events, send };
}

const qnameOf = (answer: Buffer | undefined): string | undefined => (answer ? parseSeen(answer)?.qname : undefined);

describe('DohTransport', () => {
  it('POSTs each query with ID 0 and reuses one HTTP/2 session', async () => {
    const up = await upstream();
    const { events, send } = transport(up.url());
    for (let i = 0; i < 5; i++) {
      const job = send(`q${i}.example`);
      expect(job.id).toBe(0);
      const outcomes = await events.until(i + 1);
      expect(qnameOf(outcomes[i]?.answer)).toBe(`q${i}.example`);
    }
    expect(up.methods).toEqual(['POST', 'POST', 'POST', 'POST', 'POST']);
    expect(up.seen.map((q) => q.id)).toEqual([0, 0, 0, 0, 0]);
    expect(up.sessions).toBe(1);
  });

  it('sends the name after "#" as the TLS server name and checks the certificate against it', async () => {
    const up = await upstream();
    const good = transport(`${up.url()}#dns.example`);
    good.send('named.example');
    expect(qnameOf((await good.events.until(1))[0]?.answer)).toBe('named.example');
    const bad = transport(`${up.url()}#nope.example`);
    bad.send('misnamed.example');
    expect((await bad.events.until(1))[0]?.reason).toMatch(/^doh-error: .*ALTNAME/);
  });

  for (const [fault, reason] of [
    ['status', 'doh-status-503'],
    ['media-type', 'doh-media-type'],
    ['wrong-question', 'doh-mismatch'],
  ] as const) {
    it(`fails the attempt on ${fault}: ${reason}`, async () => {
      const up = await upstream();
      up.fault = fault;
      const { events, send } = transport(up.url());
      send('xfault.example');
      const [outcome] = await events.until(1);
      expect(outcome?.answer).toBeUndefined();
      expect(outcome?.reason).toBe(reason);
      expect(events.mismatches).toBe(fault === 'wrong-question' ? 1 : 0);
    });
  }

  it('fails on a certificate it cannot verify, naming the error', async () => {
    const up = await upstream();
    const { events, send } = transport(up.url(), null);
    send('untrusted.example');
    const [outcome] = await events.until(1);
    expect(outcome?.reason).toMatch(/^doh-error: .*(CERT|SELF_SIGNED)/);
    expect(up.seen).toHaveLength(0);
  });

  it('a cancelled attempt reports nothing; the next one is answered', async () => {
    const up = await upstream();
    up.fault = 'hang';
    const { doh, events, send } = transport(up.url());
    const stuck = send('stuck.example');
    for (let i = 0; i < 100 && up.seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    doh.cancel(stuck);
    up.fault = 'answer';
    send('after.example');
    const outcomes = await events.until(1);
    expect(outcomes).toHaveLength(1);
    expect(qnameOf(outcomes[0]?.answer)).toBe('after.example');
  });
});
