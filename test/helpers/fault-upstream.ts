// Fault injection for upstream tests. Most faults are StubHandlers for StubUpstream
// (test/helpers/stub-upstream.ts), returning raw reply bytes: silence, garbage,
// truncated messages, pointer loops, pointer-chain bombs, spoofed replies. Two faults
// need their own sockets: an upstream whose TCP side accepts and never answers
// (SlowTcpUpstream), and replies from a different source address (spoofFrom).
import { createSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { CLASS, encodeRecord, FLAGS, labels, pointer, pointerChain, T, u16 } from './packet-craft.ts';
import { encodeReply, rr, type ReceivedQuery, type StubHandler, type StubReply, type StubUpstream } from './stub-upstream.ts';

/** Offset just past the question of a query (QDCOUNT 1, uncompressed name). */
export function questionEnd(query: Buffer): number {
  let pos = 12;
  while (pos < query.length && query[pos] !== 0) pos += (query[pos] as number) + 1;
  return pos + 5;
}

/** Header + the query's exact question, with the given counts and flags (QR and RA set by default). */
export function replyHead(query: Buffer, counts: { an?: number; ns?: number; ar?: number } = {}, flags = FLAGS.QR | FLAGS.RA | FLAGS.RD): Buffer {
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(counts.an ?? 0, 6);
  header.writeUInt16BE(counts.ns ?? 0, 8);
  header.writeUInt16BE(counts.ar ?? 0, 10);
  return Buffer.concat([header, query.subarray(12, questionEnd(query))]);
}

/** A small deterministic PRNG (mulberry32) so faults are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(random: () => number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

export const faults = {
  /** Never answers (UDP or TCP). */
  silent: (): StubHandler => () => 'drop',

  /** Right ID, QR and question, then random bytes where the records should be. */
  garbageAfterQuestion:
    (seed = 1): StubHandler =>
    (q) => {
      const random = prng(seed + q.id);
      return [Buffer.concat([replyHead(q.raw, { an: 1 + Math.floor(random() * 20), ns: Math.floor(random() * 5), ar: Math.floor(random() * 5) }), randomBytes(random, 20 + Math.floor(random() * 200))])];
    },

  /** Pure random bytes (no valid header): must be dropped as a mismatch, costing only the timeout. */
  randomBytes:
    (seed = 2): StubHandler =>
    (q) => {
      const random = prng(seed + q.id);
      return [randomBytes(random, 1 + Math.floor(random() * 300))];
    },

  /** A valid 3-record answer cut in the middle of the second record (header still claims 3). */
  truncatedMessage: (): StubHandler => (q) => {
    const full = encodeReply(q.raw, { answers: [rr.a(q.qname, '192.0.2.1'), rr.a(q.qname, '192.0.2.2'), rr.a(q.qname, '192.0.2.3')] }, true);
    const head = replyHead(q.raw).length;
    // One A record with an uncompressed owner: name + 10 + 4.
    const one = encodeRecord({ name: q.qname, type: T.A, rdata: Buffer.from([192, 0, 2, 1]) }).length;
    return [full.subarray(0, head + one + Math.floor(one / 2))];
  },

  /** An answer record whose owner name is a pointer to itself. */
  ownerPointerLoop: (): StubHandler => (q) => {
    const head = replyHead(q.raw, { an: 1 });
    const record = encodeRecord({ nameBytes: pointer(head.length), type: T.A, rdata: Buffer.from([192, 0, 2, 66]) });
    return [Buffer.concat([head, record])];
  },

  /** A CNAME whose target is a two-pointer loop (a label, then a pointer back to the first pointer). */
  cnamePointerLoop: (): StubHandler => (q) => {
    const head = replyHead(q.raw, { an: 1 });
    // RDATA: [pointer → the label after it] [label "a"] [pointer → the first pointer]: a cycle
    // (the first jump is also forward, which alone must be rejected).
    const rdataStart = head.length + 2 + 10;
    const rdata = Buffer.concat([pointer(rdataStart + 2), Buffer.from([1, 0x61]), pointer(rdataStart)]);
    const record = encodeRecord({ nameBytes: pointer(12), type: T.CNAME, rdata });
    return [Buffer.concat([head, record])];
  },

  /** A CNAME whose target is a pointer to a later offset (forward pointers are not allowed). */
  cnameForwardPointer: (): StubHandler => (q) => {
    const head = replyHead(q.raw, { an: 2 });
    const rdataStart = head.length + 2 + 10;
    const cname = encodeRecord({ nameBytes: pointer(12), type: T.CNAME, rdata: pointer(rdataStart + 2 + 2 + 10) });
    const a = encodeRecord({ nameBytes: labels('target', 'example'), type: T.A, rdata: Buffer.from([192, 0, 2, 67]) });
    // The forward pointer aims at the second record's owner name.
    return [Buffer.concat([head, cname, a])];
  },

  /**
   * A CNAME whose target reaches its final label through `hops` chained backward pointers
   * (plus the pointer in the RDATA itself). The chain sits in the RDATA of an unknown-type
   * record before it.
   */
  cnameThroughChain:
    (hops: number): StubHandler =>
    (q) => {
      const head = replyHead(q.raw, { an: 2 });
      const chainBase = head.length + 2 + 10;
      const chain = pointerChain(chainBase, hops);
      const carrier = encodeRecord({ nameBytes: pointer(12), type: 0xff01, rdata: chain.bytes });
      const cname = encodeRecord({ nameBytes: pointer(12), type: T.CNAME, rdata: pointer(chain.last) });
      return [Buffer.concat([head, carrier, cname])];
    },

  /**
   * A ~`size`-octet answer: a carrier record holding an `hops`-long backward pointer chain,
   * then as many CNAME records as fit, each owned by the end of the chain and pointing at it.
   */
  pointerChainBomb:
    (size = 60_000, hops = 8000): StubHandler =>
    (q) => [pointerChainBombAnswer(q.raw, size, hops)],

  /** Spoofed replies (wrong ID, wrong question, QR=0) sent before the real answer. */
  spoofsThenAnswer:
    (answer: (q: ReceivedQuery) => StubReply, spoofReply: (q: ReceivedQuery) => StubReply): StubHandler =>
    (q) => {
      const good = encodeReply(q.raw, answer(q), true);
      const wrongId = Buffer.from(encodeReply(q.raw, spoofReply(q), true));
      wrongId.writeUInt16BE((q.id + 1) & 0xffff, 0);
      const otherQuestionQuery = Buffer.concat([q.raw.subarray(0, 12), labels('bank', 'example'), u16(T.A), u16(CLASS.IN)]);
      otherQuestionQuery.writeUInt16BE(0, 10);
      const otherQuestion = encodeReply(otherQuestionQuery, spoofReply(q), true);
      const notResponse = Buffer.from(encodeReply(q.raw, spoofReply(q), true));
      notResponse.writeUInt16BE(notResponse.readUInt16BE(2) & ~FLAGS.QR & 0xffff, 2);
      return [wrongId, otherQuestion, notResponse, good];
    },
};

export function pointerChainBombAnswer(query: Buffer, size = 60_000, hops = 8000): Buffer {
  const headLength = replyHead(query).length;
  const chainBase = headLength + 2 + 10;
  const maxHops = Math.min(hops, Math.floor((0x3fff - chainBase - 3) / 2));
  const chain = pointerChain(chainBase, maxHops);
  const carrier = encodeRecord({ nameBytes: pointer(12), type: 0xff01, rdata: chain.bytes });
  const one = encodeRecord({ nameBytes: pointer(chain.last), type: T.CNAME, rdata: pointer(chain.last) });
  const count = Math.max(0, Math.floor((size - headLength - carrier.length) / one.length));
  const head = replyHead(query, { an: 1 + count });
  return Buffer.concat([head, carrier, Buffer.alloc(count * one.length).fill(one)]);
}

/** Replies to the query later, from the stub's own socket (for coalescing and timing tests). */
export function delayedHandler(stub: () => StubUpstream, delayMs: number, reply: (q: ReceivedQuery) => StubReply = (q) => ({ answers: [rr.a(q.qname, '192.0.2.1')] })): StubHandler {
  return (q) => {
    if (q.transport !== 'udp') return reply(q);
    setTimeout(() => stub().sendRaw(encodeReply(q.raw, reply(q), true), q.port), delayMs);
    return 'drop';
  };
}

/** Sends `message` from `address:port` (e.g. another loopback address with the upstream's port). */
export async function spoofFrom(address: string, port: number, message: Buffer, targetPort: number, targetHost = '127.0.0.1'): Promise<void> {
  const socket = createSocket({ type: 'udp4', reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => resolve());
  });
  await new Promise<void>((resolve) => socket.send(message, targetPort, targetHost, () => resolve()));
  socket.close();
}

/**
 * An upstream whose UDP side answers everything with TC=1 (so the resolver retries over TCP)
 * and whose TCP side accepts connections, reads, and never answers.
 */
export class SlowTcpUpstream {
  port = 0;
  accepted = 0;
  readonly udpQueries: Buffer[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly udp = createSocket('udp4');
  private tcp: Server | undefined;

  async start(host = '127.0.0.1'): Promise<this> {
    this.udp.on('message', (msg, rinfo) => {
      if (msg.length < 17) return;
      this.udpQueries.push(msg);
      this.udp.send(replyHead(msg, {}, FLAGS.QR | FLAGS.RA | FLAGS.RD | FLAGS.TC), rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => this.udp.bind(0, host, () => resolve()));
    this.port = this.udp.address().port;
    const tcp = createServer((socket) => {
      this.accepted++;
      this.sockets.add(socket);
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.tcp = tcp;
    // The kernel picked the UDP port; if that number is taken for TCP, fail loudly rather than hang.
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.port, host, () => resolve());
    });
    return this;
  }

  /** TCP connections from the resolver still open (the resolver must close them). */
  get open(): number {
    return this.sockets.size;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
    await new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
  }
}
