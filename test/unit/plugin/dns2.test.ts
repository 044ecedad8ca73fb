import dns2, { type DnsServer, type Packet } from 'dns2';
import { mkdtempSync } from 'node:fs';
import { type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision, DecisionSink } from '../../../src/audit/types.ts';
import { EDE, RCODE, TYPE } from '../../../src/dns/constants.ts';
import { clientOf, dnswardHandler, guardDns2Server } from '../../../src/plugin/dns2.ts';
import { createPolicyEngine, type PolicyEngine } from '../../../src/plugin/engine.ts';
import { buildQuery, decode, exchangeTcp, extendedError, sendUdp } from '../../helpers/dns-client.ts';

const { Packet: PacketClass } = dns2;

const decisions: Decision[] = [];
const sink: DecisionSink = { record: (d) => void decisions.push(d), flush: async () => undefined, close: async () => undefined };
const errors: unknown[] = [];
let engine: PolicyEngine;
let server: DnsServer;
let doh: DnsServer;
let udpPort = 0;
let tcpPort = 0;
let dohPort = 0;

/** The host's own resolution: A 192.0.2.1 for every name, a CNAME into a listed domain for one, failures for two. */
function resolveLikeTheHost(request: Packet, send: (response: Packet | Buffer) => unknown): unknown {
  const [question] = request.questions;
  const name = question?.name ?? '';
  if (name === 'throws.example') throw new Error('host resolution threw');
  if (name === 'rejects.example') return Promise.reject(new Error('host resolution rejected'));
  // An answer the client's advertised size allows but no UDP datagram can carry: dns2's send() rejects (EMSGSIZE).
  if (name === 'huge.example') return send(Buffer.concat([request.toBuffer().subarray(0, 12), Buffer.alloc(65_520 - 12)]));
  const response = PacketClass.createResponseFromRequest(request);
  if (name === 'cloaked.example') {
    response.answers.push({ name, type: PacketClass.TYPE.CNAME, class: PacketClass.CLASS.IN, ttl: 300, domain: 'edge.tiktokcdn.com' } as never);
  } else {
    response.answers.push({ name, type: PacketClass.TYPE.A, class: PacketClass.CLASS.IN, ttl: 300, address: '192.0.2.1' } as never);
  }
  return send(response);
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-dns2-'));
  engine = await createPolicyEngine({
    config: {
      dns: { allow: ['127.0.0.0/8'] },
      lists: { dir: resolve('lists') },
      segments: [
        { name: 'service', networks: ['127.0.0.2/32'], action: 'block', lists: ['tiktok'] },
        { name: 'personal', networks: ['127.0.0.3/32'], action: 'log', lists: ['tiktok'] },
      ],
      audit: { enabled: false },
    },
    baseDir: dir,
    decisions: sink,
    logger: pino({ level: 'silent' }),
  });
  const handle = dnswardHandler(engine, { resolve: resolveLikeTheHost, onError: (error) => void errors.push(error) });
  server = dns2.createServer({ udp: true, tcp: true, handle });
  guardDns2Server(server);
  const bound = await server.listen({ udp: { port: 0, address: '127.0.0.1' }, tcp: { port: 0, host: '127.0.0.1' } as never });
  udpPort = bound.udp?.port ?? 0;
  tcpPort = bound.tcp?.port ?? 0;
  doh = dns2.createServer({ doh: true, handle });
  dohPort = (await doh.listen({ doh: { port: 0, host: '127.0.0.1' } as never })).doh?.port ?? 0;
});

afterAll(async () => {
  await Promise.all([server?.close(), doh?.close()]);
  await engine?.close();
});

async function udp(name: string, from: string, extra: { type?: number; edns?: number } = {}): Promise<Buffer> {
  const raw = await sendUdp(udpPort, buildQuery({ name, from, ...extra }), { from });
  if (raw === undefined) throw new Error(`no answer for ${name}`);
  return raw;
}

describe('dns2 handler', () => {
  it('answers blocked names with dnsward\'s bytes, exactly those engine.decide() gives, over UDP and TCP', async () => {
    const query = buildQuery({ id: 0x1111, name: 'WWW.tiktok.com', edns: 1232 });
    const expected = engine.decide(query, '127.0.0.2', 'udp');
    if (expected.action !== 'block') throw new Error('expected a block');
    expect(await sendUdp(udpPort, query, { from: '127.0.0.2' })).toEqual(expected.answer);
    const [overTcp] = await exchangeTcp(tcpPort, [query], { from: '127.0.0.2' });
    expect(overTcp).toEqual(expected.answer);
    expect(extendedError(expected.answer)).toEqual({ code: EDE.BLOCKED, text: 'blocked by dnsward: segment service, list tiktok' });
    expect(decisions.slice(-2).map((d) => [d.qname, d.transport])).toEqual([
      ['www.tiktok.com', 'udp'],
      ['www.tiktok.com', 'tcp'],
    ]);
  });

  it('hands other names to the host\'s resolution, and logs listed names on log-only segments', async () => {
    const before = decisions.length;
    const other = decode(await udp('example.org', '127.0.0.2'));
    expect(other.rcode).toBe(RCODE.NOERROR);
    expect(other.packet.answers[0]).toMatchObject({ address: '192.0.2.1' });
    const logged = decode(await udp('tiktok.com', '127.0.0.3'));
    expect(logged.packet.answers[0]).toMatchObject({ address: '192.0.2.1' });
    expect(decisions.slice(before)).toEqual([expect.objectContaining({ segment: 'personal', action: 'logged', qname: 'tiktok.com', transport: 'udp' })]);
  });

  it('checks the host\'s answer: a CNAME into a listed domain gets the block answer instead', async () => {
    const answer = decode(await udp('cloaked.example', '127.0.0.2'));
    expect(answer.rcode).toBe(RCODE.NXDOMAIN);
    expect(decisions.at(-1)).toMatchObject({ rule: 'cname:tiktokcdn.com', action: 'blocked' });
    // Other clients are in the implicit default segment (allow): the host's answer goes out.
    expect(decode(await udp('cloaked.example', '127.0.0.9')).packet.answers[0]).toMatchObject({ domain: 'edge.tiktokcdn.com' });
  });

  it('answers SERVFAIL when the host\'s resolution throws or rejects, and reports the error', async () => {
    const before = errors.length;
    expect(decode(await udp('throws.example', '127.0.0.9')).rcode).toBe(RCODE.SERVFAIL);
    expect(decode(await udp('rejects.example', '127.0.0.9')).rcode).toBe(RCODE.SERVFAIL);
    expect(errors.slice(before).map((e) => (e as Error).message)).toEqual(['host resolution threw', 'host resolution rejected']);
  });

  it('catches a send() that fails (EMSGSIZE) instead of letting it end the process, and answers SERVFAIL', async () => {
    const before = errors.length;
    const answer = await sendUdp(udpPort, buildQuery({ name: 'huge.example', edns: 65_535 }), { from: '127.0.0.9' });
    // The host's resolution returned send()'s promise, so its failure is the resolution's: SERVFAIL.
    expect(answer && decode(answer).rcode).toBe(RCODE.SERVFAIL);
    expect(errors.slice(before)).toContainEqual(expect.objectContaining({ code: 'EMSGSIZE' }));
  });

  it('takes the client address as dns2 gives it, an IPv4 client of a dual-stack socket as IPv4', () => {
    expect(clientOf({ address: '::ffff:10.10.0.7', family: 'IPv6', port: 5353, size: 40 })).toEqual({ address: '10.10.0.7', transport: 'udp' });
    expect(clientOf({ address: '2001:db8::1', family: 'IPv6', port: 5353, size: 40 })).toEqual({ address: '2001:db8::1', transport: 'udp' });
  });

  it('refuses clients outside dns.allow and answers ANY minimally, as the resolver does', async () => {
    const any = decode(await udp('example.org', '127.0.0.9', { type: TYPE.ANY }));
    expect(any.packet.answers[0]).toMatchObject({ type: 13 });
    const engineOutside = engine.decide(buildQuery({ name: 'example.org' }), '192.0.2.7', 'udp');
    expect(engineOutside).toMatchObject({ action: 'answer', outcome: 'refused' });
  });

  it('serves DoH with the same bytes, through a Packet of the host\'s dns2, and says "doh" in the block log', async () => {
    const query = buildQuery({ id: 0, name: 'tiktok.com', edns: 1232 });
    const expected = engine.decide(query, '127.0.0.2', 'doh');
    if (expected.action !== 'block') throw new Error('expected a block');
    const { status, headers, body } = await postDoh(query, '127.0.0.2');
    expect(status).toBe(200);
    expect(body).toEqual(expected.answer);
    // dns2 derives Cache-Control from the records' TTLs: the SOA of the block answer (60 s).
    expect(headers['cache-control']).toBe('max-age=60');
    expect(decisions.at(-1)).toMatchObject({ qname: 'tiktok.com', transport: 'doh' });
    const allowed = await postDoh(buildQuery({ id: 0, name: 'example.org' }), '127.0.0.2');
    expect(decode(allowed.body).packet.answers[0]).toMatchObject({ address: '192.0.2.1' });
  });
});

function postDoh(query: Buffer, from: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((done, fail) => {
    const request = httpRequest({ host: '127.0.0.1', port: dohPort, path: '/dns-query', method: 'POST', localAddress: from, headers: { 'content-type': 'application/dns-message' } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => done({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    request.on('error', fail);
    request.end(query);
  });
}
