// Issue 4, protocol strictness: EDNS (RFC 6891), header rules, name rules, ANY (RFC 8482)
// and non-IN classes, checked with hand-crafted packets over real UDP and TCP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendUdp } from '../helpers/dns-client.ts';
import { startTestServer, type TestServer, testConfig } from '../helpers/dnsward-server.ts';
import { CLASS, craft, FLAGS, inspect, labels, OPCODE, pointer, query, RC, T, TcpSession, tcpOnce, udpCollect, u16, wireName } from '../helpers/packet-craft.ts';
import { defaultHandler, encodeReply, rr, StubUpstream, type StubHandler } from '../helpers/stub-upstream.ts';

const TRANSPORTS = ['udp', 'tcp'] as const;
type Transport = (typeof TRANSPORTS)[number];

/** `a<N>.size.test` answers N A records (each 29 octets with an uncompressed owner). */
const handler: StubHandler = (q) => {
  const size = /^a(\d+)\.size\.test$/.exec(q.qname);
  if (size) return { answers: Array.from({ length: Number(size[1]) }, (_, i) => rr.a(q.qname, `192.0.2.${(i % 250) + 1}`)) };
  if (q.qname === 'aa.example') {
    const reply = Buffer.from(encodeReply(q.raw, { answers: [rr.a(q.qname, '192.0.2.10')] }, q.transport === 'udp'));
    // An authoritative-looking answer without RA: the resolver must relay it with RA=1, AA=0.
    reply.writeUInt16BE((reply.readUInt16BE(2) | FLAGS.AA) & ~FLAGS.RA & 0xffff, 2);
    return [reply];
  }
  if (q.qname === 'ednsflags.example') {
    const reply = Buffer.from(encodeReply(q.raw, { answers: [rr.a(q.qname, '192.0.2.11')] }, q.transport === 'udp'));
    // The stub's OPT is the last record (no other additional records): set every EDNS flag bit.
    if (reply.readUInt16BE(10) === 1) reply.writeUInt16BE(0xffff, reply.length - 4);
    return [reply];
  }
  return defaultHandler(q);
};

let upstream: StubUpstream;
let server: TestServer;
let refuseAny: TestServer;

beforeAll(async () => {
  upstream = await new StubUpstream(handler).start();
  server = await startTestServer(testConfig(upstream.port, { dns: { listen: ['127.0.0.1:0'], allow: ['127.0.0.0/8', '::1/128'], rate_limit: { enabled: false } } }));
  refuseAny = await startTestServer(testConfig(upstream.port, { dns: { listen: ['127.0.0.1:0'], allow: ['127.0.0.0/8', '::1/128'], rate_limit: { enabled: false }, any: 'refuse' } }));
});
afterAll(async () => {
  await server?.stop();
  await refuseAny?.stop();
  await upstream?.stop();
});

async function ask(transport: Transport, message: Buffer, options: { from?: string; port?: number } = {}): Promise<Buffer | undefined> {
  const port = options.port ?? server.port;
  return transport === 'udp' ? sendUdp(port, message, { from: options.from, timeoutMs: 1500 }) : tcpOnce(port, message, { from: options.from, timeoutMs: 1500 });
}

async function must(transport: Transport, message: Buffer, options: { from?: string; port?: number } = {}): Promise<ReturnType<typeof inspect>> {
  const raw = await ask(transport, message, options);
  if (raw === undefined) throw new Error(`no ${transport} reply`);
  return inspect(raw);
}

/** Upstream queries received for `qname` while `action` runs. */
async function upstreamQueriesDuring(qname: string, action: () => Promise<unknown>): Promise<number> {
  const before = upstream.count(qname);
  await action();
  await new Promise((r) => setTimeout(r, 30));
  return upstream.count(qname) - before;
}

let serial = 0;
const fresh = (label: string): string => `${label}-${++serial}-${Date.now() % 100000}.example`;

describe.each(TRANSPORTS)('EDNS (RFC 6891) over %s', (transport) => {
  it('replies without an OPT when the query had none, and with one (version 0, 1232) when it had one', async () => {
    const plain = await must(transport, query(fresh('noopt')));
    expect(plain.rcode).toBe(RC.NOERROR);
    expect(plain.opts).toHaveLength(0);
    const edns = await must(transport, query(fresh('opt'), T.A, { opts: [{ udpSize: 4096 }] }));
    expect(edns.rcode).toBe(RC.NOERROR);
    expect(edns.opts).toHaveLength(1);
    expect(edns.opt?.version).toBe(0);
    expect(edns.opt?.udpSize).toBe(1232);
    // Synthesised answers follow the same rule.
    expect((await must(transport, query('any-noopt.example', T.ANY))).opts).toHaveLength(0);
    expect((await must(transport, query('any-opt.example', T.ANY, { opts: [{}] }))).opts).toHaveLength(1);
  });

  it('answers BADVERS (header 0, OPT extended rcode 1, version 0) to EDNS versions above 0, without forwarding', async () => {
    for (const version of [1, 2, 255]) {
      const name = fresh(`badvers${version}`);
      let reply: ReturnType<typeof inspect> | undefined;
      const sent = await upstreamQueriesDuring(name, async () => {
        reply = await must(transport, query(name, T.A, { header: { id: 0x4000 + version }, opts: [{ version, udpSize: 1232 }] }));
      });
      expect(sent).toBe(0);
      expect(reply?.id).toBe(0x4000 + version);
      expect(reply?.qr).toBe(true);
      expect(reply?.rcode).toBe(0);
      expect(reply?.opts).toHaveLength(1);
      expect(reply?.opt?.extRcode).toBe(1);
      expect(reply?.opt?.version).toBe(0);
      expect(reply?.fullRcode).toBe(16);
      expect(reply?.ancount).toBe(0);
    }
  });

  it('answers FORMERR to two OPT records', async () => {
    const name = fresh('twoopt');
    let reply: ReturnType<typeof inspect> | undefined;
    const sent = await upstreamQueriesDuring(name, async () => {
      reply = await must(transport, query(name, T.A, { opts: [{ udpSize: 1232 }, { udpSize: 4096 }] }));
    });
    expect(reply?.rcode).toBe(RC.FORMERR);
    expect(sent).toBe(0);
  });

  it('answers FORMERR to malformed option lists', async () => {
    const overlong = Buffer.concat([u16(10), u16(40), Buffer.alloc(8, 0xaa)]); // COOKIE claiming 40 octets, carrying 8
    const shortHeader = Buffer.from([0x00, 0x0a, 0x00]); // 3 octets: not even an option header
    const trailing = Buffer.concat([u16(3), u16(0), Buffer.from([0x00])]); // NSID then one stray octet
    for (const rawRdata of [overlong, shortHeader, trailing]) {
      const reply = await must(transport, query(fresh('badopt'), T.A, { opts: [{ rawRdata }] }));
      expect(reply.rcode).toBe(RC.FORMERR);
    }
  });

  it('answers FORMERR to an OPT not owned by the root, or outside the additional section', async () => {
    const notRoot = await must(transport, query(fresh('optowner'), T.A, { opts: [{ ownerBytes: wireName('example') }] }));
    expect(notRoot.rcode).toBe(RC.FORMERR);
    const inAnswer = craft({ questions: [{ name: fresh('optsection') }], answers: [{ nameBytes: Buffer.from([0]), type: T.OPT, class: 1232, ttl: 0 }] });
    expect((await must(transport, inAnswer)).rcode).toBe(RC.FORMERR);
  });

  it('never echoes unknown options (nor forwards the client cookie upstream)', async () => {
    const cookie = Buffer.from('c00c1e00c00c1e00', 'hex');
    const odd = Buffer.from('feedfacefeedface', 'hex');
    const options = [
      { code: 10, data: cookie },
      { code: 65001, data: odd },
      { code: 3, data: Buffer.alloc(0) },
      { code: 12, data: Buffer.alloc(16) },
    ];
    const name = fresh('options');
    const before = upstream.received.length;
    const forwarded = await must(transport, query(name, T.A, { opts: [{ options }] }));
    const synthesised = await must(transport, query('any-options.example', T.ANY, { opts: [{ options }] }));
    for (const reply of [forwarded, synthesised]) {
      expect(reply.opt).toBeDefined();
      const codes = reply.opt?.options.map((o) => o.code) ?? [];
      for (const code of [10, 65001, 12]) expect(codes).not.toContain(code);
    }
    const upstreamQueries = upstream.received.slice(before).filter((q) => q.qname === name);
    expect(upstreamQueries.length).toBe(1);
    for (const q of upstreamQueries) {
      expect(q.raw.includes(cookie)).toBe(false);
      expect(q.raw.includes(odd)).toBe(false);
    }
  });

  it('clears unknown EDNS flags in synthesised and relayed replies, keeping DO', async () => {
    for (const flags of [0xffff, 0x7fff, 0x0001, 0x8000]) {
      const forwarded = await must(transport, query(fresh('flags'), T.A, { opts: [{ flags }] }));
      const synthesised = await must(transport, query('any-flags.example', T.ANY, { opts: [{ flags }] }));
      const formerr = await must(transport, query(fresh('flagsbadvers'), T.A, { opts: [{ flags, version: 1 }] }));
      // Synthesised replies copy DO (RFC 3225) and nothing else.
      for (const reply of [synthesised, formerr]) expect(reply.opt?.flags).toBe(flags & 0x8000);
      // Relayed replies carry the upstream's DO (the stub never sets it) and no other bit.
      expect((forwarded.opt?.flags ?? 0) & 0x7fff).toBe(0);
    }
    // The upstream sets every flag bit in its OPT: relayed (and then cached) copies keep DO only.
    for (let i = 0; i < 2; i++) {
      const relayed = await must(transport, query('ednsflags.example', T.A, { opts: [{ flags: 0x8000 }] }));
      expect(relayed.rcode).toBe(RC.NOERROR);
      expect((relayed.opt?.flags ?? 0) & 0x7fff).toBe(0);
    }
  });
});

describe('UDP payload size', () => {
  const sizes = { fits400: 12, over512: 20, fits1232: 36, over1232: 44, huge: 70 } as const;
  const name = (n: number): string => `a${n}.size.test`;

  it('caps the UDP payload at 1232 however much the client advertises; larger answers get TC=1 and fit', async () => {
    for (const advertised of [1232, 4096, 65535]) {
      const fits = inspect((await sendUdp(server.port, query(name(sizes.fits1232), T.A, { opts: [{ udpSize: advertised }] }))) as Buffer);
      expect(fits.tc).toBe(false);
      expect(fits.ancount).toBe(sizes.fits1232);
      for (const n of [sizes.over1232, sizes.huge]) {
        const raw = (await sendUdp(server.port, query(name(n), T.A, { opts: [{ udpSize: advertised }] }))) as Buffer;
        expect(raw.length).toBeLessThanOrEqual(1232);
        const reply = inspect(raw);
        expect(reply.tc).toBe(true);
        expect(reply.rcode).toBe(RC.NOERROR);
      }
    }
  });

  it('treats an advertised size below 512 as 512, and no EDNS as 512', async () => {
    for (const opts of [[{ udpSize: 0 }], [{ udpSize: 100 }], [{ udpSize: 511 }], undefined]) {
      const small = inspect((await sendUdp(server.port, query(name(sizes.fits400), T.A, { opts }))) as Buffer);
      expect(small.tc).toBe(false);
      expect(small.ancount).toBe(sizes.fits400);
      const raw = (await sendUdp(server.port, query(name(sizes.over512), T.A, { opts }))) as Buffer;
      expect(raw.length).toBeLessThanOrEqual(512);
      expect(inspect(raw).tc).toBe(true);
    }
  });

  it('sends the whole answer over TCP', async () => {
    const reply = await must('tcp', query(name(sizes.huge), T.A, { opts: [{ udpSize: 512 }] }));
    expect(reply.tc).toBe(false);
    expect(reply.ancount).toBe(sizes.huge);
  });
});

describe.each(TRANSPORTS)('header rules over %s', (transport) => {
  it('drops messages with QR=1', async () => {
    const response = query(fresh('qr'), T.A, { header: { qr: true } });
    if (transport === 'udp') {
      expect(await udpCollect(server.port, response, { waitMs: 250 })).toEqual([]);
    } else {
      const session = await TcpSession.open(server.port);
      session.send(response);
      await session.waitFor(() => session.replies.length > 0 || session.closed, 250);
      expect(session.replies).toHaveLength(0);
      session.destroy();
    }
  });

  it('answers NOTIMP to opcodes other than QUERY, without forwarding', async () => {
    for (const opcode of [OPCODE.IQUERY, OPCODE.STATUS, 3, OPCODE.NOTIFY, OPCODE.UPDATE, 15]) {
      const name = fresh(`opcode${opcode}`);
      let reply: ReturnType<typeof inspect> | undefined;
      const sent = await upstreamQueriesDuring(name, async () => {
        reply = await must(transport, query(name, T.A, { header: { opcode, id: 0x5000 + opcode } }));
      });
      expect(reply?.rcode).toBe(RC.NOTIMP);
      expect(reply?.id).toBe(0x5000 + opcode);
      expect(reply?.qr).toBe(true);
      expect(reply?.ra, 'RA is for standard queries only (genreport "opcode")').toBe(false);
      expect(sent).toBe(0);
    }
  });

  it('answers FORMERR when QDCOUNT is not 1', async () => {
    const none = craft({ header: { id: 0x6001 }, questions: [] });
    const two = craft({ header: { id: 0x6002 }, questions: [{ name: fresh('q1') }, { name: fresh('q2') }] });
    const claimsMany = craft({ header: { id: 0x6003, qdcount: 65535 }, questions: [{ name: fresh('qmany') }] });
    const claimsTwo = craft({ header: { id: 0x6004, qdcount: 2 }, questions: [{ name: fresh('qtwo') }] });
    for (const message of [none, two, claimsMany, claimsTwo]) {
      const reply = await must(transport, message);
      expect(reply.rcode).toBe(RC.FORMERR);
      expect(reply.id).toBe(message.readUInt16BE(0));
    }
  });

  it('does not echo Z, AD, AA, TC or RA bits of the query in synthesised answers', async () => {
    const noisy = { rd: true, ad: true, z: true, aa: true, tc: true, ra: false, cd: true };
    // RA is set for standard queries; a NOTIMP to another opcode claims nothing (genreport "opcode").
    const messages: [Buffer, boolean][] = [
      [query('noisy.example', T.ANY, { header: noisy }), true], // RFC 8482 HINFO
      [query('www.tiktok.com', T.A, { header: noisy }), true], // blocked (from 127.0.0.2)
      [query('version.bind', T.TXT, { header: noisy, qclass: CLASS.CH }), true], // REFUSED
      [query(fresh('noisy-badvers'), T.A, { header: noisy, opts: [{ version: 1 }] }), true], // BADVERS
      [query(fresh('noisy-notimp'), T.A, { header: { ...noisy, opcode: OPCODE.STATUS } }), false], // NOTIMP
      [craft({ header: noisy, questions: [] }), true], // FORMERR
    ];
    for (const [message, ra] of messages) {
      const reply = await must(transport, message, { from: '127.0.0.2' });
      expect(reply.qr).toBe(true);
      expect(reply.z).toBe(false);
      expect(reply.ad).toBe(false);
      expect(reply.aa).toBe(false);
      expect(reply.tc).toBe(false);
      expect(reply.ra).toBe(ra);
      expect(reply.rd).toBe(true);
    }
  });

  it('relays upstream answers with RA=1 and AA=0 (fresh and from cache)', async () => {
    for (let i = 0; i < 2; i++) {
      const reply = await must(transport, query('aa.example'));
      expect(reply.rcode).toBe(RC.NOERROR);
      expect(reply.ancount).toBe(1);
      expect(reply.ra).toBe(true);
      expect(reply.aa).toBe(false);
    }
  });
});

describe.each(TRANSPORTS)('names over %s', (transport) => {
  const formerr = async (question: Buffer): Promise<void> => {
    const message = craft({ header: { id: 0x7007 }, questions: [{ nameBytes: question, type: T.A }] });
    const reply = await must(transport, message);
    expect(reply.rcode).toBe(RC.FORMERR);
    expect(reply.id).toBe(0x7007);
  };

  it('answers FORMERR to a label longer than 63 octets', async () => {
    await formerr(labels('a'.repeat(64), 'example'));
    await formerr(Buffer.concat([Buffer.from([0xbf]), Buffer.alloc(0xbf & 0x3f, 0x61), Buffer.from([0])]));
    // 0x40 and 0x80 prefixes (extended label types, RFC 6891 §5) are not labels either.
    await formerr(Buffer.concat([Buffer.from([0x41]), Buffer.alloc(10, 0x61), Buffer.from([0])]));
    await formerr(Buffer.concat([Buffer.from([0x81]), Buffer.alloc(10, 0x61), Buffer.from([0])]));
  });

  it('answers FORMERR to names longer than 255 octets, and resolves one of exactly 255', async () => {
    const l63 = 'b'.repeat(63);
    // 3 × (1 + 63) + (1 + 61) + 1 = 255 octets.
    const exact = labels(l63, l63, l63, 'c'.repeat(61));
    expect(exact.length).toBe(255);
    const ok = await must(transport, craft({ questions: [{ nameBytes: exact, type: T.A }] }));
    expect(ok.rcode).toBe(RC.NOERROR);
    await formerr(labels(l63, l63, l63, 'c'.repeat(62))); // 256
    await formerr(labels(l63, l63, l63, l63, l63)); // 321
  });

  it('answers FORMERR to a label that contains a dot', async () => {
    const sent = await upstreamQueriesDuring('ads.tracker.com', async () => {
      await formerr(labels('ads.tracker', 'com'));
      await formerr(labels('www', 'tiktok.com'));
    });
    expect(sent).toBe(0);
  });

  it('answers FORMERR to compression pointers in the question (they could only point into the header)', async () => {
    await formerr(pointer(0));
    await formerr(pointer(12));
    await formerr(Buffer.concat([Buffer.from([3, 0x77, 0x77, 0x77]), pointer(4)]));
  });

  it('answers FORMERR to a name that runs past the end of the message', async () => {
    const message = craft({ questions: [] });
    message.writeUInt16BE(1, 4);
    await formerr(Buffer.from([10, 0x61, 0x62]));
    const reply = await must(transport, Buffer.concat([message, Buffer.from([10, 0x61, 0x62])]));
    expect(reply.rcode).toBe(RC.FORMERR);
  });
});

describe.each(TRANSPORTS)('ANY and classes over %s', (transport) => {
  it('answers ANY with one HINFO "RFC8482" "" record (TTL 3600), never forwarded', async () => {
    const name = fresh('any');
    let reply: ReturnType<typeof inspect> | undefined;
    const sent = await upstreamQueriesDuring(name, async () => {
      reply = await must(transport, query(name, T.ANY, { opts: [{}] }));
    });
    expect(sent).toBe(0);
    expect(reply?.rcode).toBe(RC.NOERROR);
    expect(reply?.ancount).toBe(1);
    const hinfo = reply?.records[0];
    expect(hinfo?.type).toBe(T.HINFO);
    expect(hinfo?.class).toBe(CLASS.IN);
    expect(hinfo?.ttl).toBe(3600);
    expect(hinfo?.rdata.equals(Buffer.concat([Buffer.from([7]), Buffer.from('RFC8482'), Buffer.from([0])]))).toBe(true);
  });

  it('keeps a listed name blocked when asked with ANY', async () => {
    const reply = await must(transport, query('www.tiktok.com', T.ANY), { from: '127.0.0.2' });
    expect(reply.rcode).toBe(RC.NXDOMAIN);
  });

  it('refuses ANY when dns.any is "refuse"', async () => {
    const name = fresh('anyrefuse');
    let reply: ReturnType<typeof inspect> | undefined;
    const sent = await upstreamQueriesDuring(name, async () => {
      reply = await must(transport, query(name, T.ANY), { port: refuseAny.port });
    });
    expect(reply?.rcode).toBe(RC.REFUSED);
    expect(reply?.ancount).toBe(0);
    expect(sent).toBe(0);
  });

  it('refuses CHAOS version.bind / hostname.bind and every other non-IN class, never forwarded', async () => {
    const cases: [string, number, number][] = [
      ['version.bind', T.TXT, CLASS.CH],
      ['hostname.bind', T.TXT, CLASS.CH],
      ['id.server', T.TXT, CLASS.CH],
      [fresh('hesiod'), T.A, CLASS.HS],
      [fresh('classany'), T.A, CLASS.ANY],
      [fresh('classnone'), T.A, CLASS.NONE],
      [fresh('class42'), T.A, 42],
    ];
    for (const [name, type, qclass] of cases) {
      let reply: ReturnType<typeof inspect> | undefined;
      const sent = await upstreamQueriesDuring(name, async () => {
        reply = await must(transport, query(name, type, { qclass }));
      });
      expect(reply?.rcode).toBe(RC.REFUSED);
      expect(reply?.ancount).toBe(0);
      expect(sent).toBe(0);
    }
  });
});
