// A programmable upstream DNS server on loopback (UDP and TCP on one port) for tests.
// It answers from a small zone description, counts what it receives, and can misbehave
// (stay silent, spoof, truncate) on demand.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';

export interface StubRecord {
  name: string;
  type: number;
  ttl: number;
  rdata: Buffer;
}

export interface StubReply {
  rcode?: number;
  answers?: StubRecord[];
  authority?: StubRecord[];
  /** Extra raw records appended to the additional section (after the OPT when present). */
  additional?: StubRecord[];
  /** Set TC=1 on the UDP reply (TCP replies are never truncated). */
  truncateUdp?: boolean;
}

export interface ReceivedQuery {
  raw: Buffer;
  id: number;
  qname: string;
  qtype: number;
  transport: 'udp' | 'tcp';
  port: number;
}

export type StubHandler = (q: ReceivedQuery) => StubReply | 'drop' | Buffer[];

export function nameToWire(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((l) => l.length > 0);
  return Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), Buffer.from(l, 'latin1')]), Buffer.from([0])]);
}

export const rr = {
  a: (name: string, address: string, ttl = 300): StubRecord => ({ name, type: 1, ttl, rdata: Buffer.from(address.split('.').map(Number)) }),
  aaaa: (name: string, ttl = 300): StubRecord => ({ name, type: 28, ttl, rdata: Buffer.from('20010db8000000000000000000000001', 'hex') }),
  cname: (name: string, target: string, ttl = 300): StubRecord => ({ name, type: 5, ttl, rdata: nameToWire(target) }),
  soa: (zone: string, ttl = 300, minimum = 60): StubRecord => {
    const tail = Buffer.alloc(20);
    [2026112801, 3600, 600, 86400, minimum].forEach((v, i) => tail.writeUInt32BE(v, i * 4));
    return { name: zone, type: 6, ttl, rdata: Buffer.concat([nameToWire(`ns.${zone}`), nameToWire(`hostmaster.${zone}`), tail]) };
  },
  raw: (name: string, type: number, rdata: Buffer, ttl = 300): StubRecord => ({ name, type, ttl, rdata }),
};

/** Default zone: every name has an A record 192.0.2.1 (AAAA 2001:db8::1), names under nx.test are NXDOMAIN. */
export const defaultHandler: StubHandler = (q) => {
  if (q.qname === 'nx.test' || q.qname.endsWith('.nx.test')) return { rcode: 3, authority: [rr.soa('nx.test', 300, 60)] };
  if (q.qtype === 28) return { answers: [rr.aaaa(q.qname)] };
  if (q.qtype === 1) return { answers: [rr.a(q.qname, '192.0.2.1')] };
  return { authority: [rr.soa('test', 300, 60)] };
};

export class StubUpstream {
  readonly received: ReceivedQuery[] = [];
  handler: StubHandler;
  port = 0;
  private udp: Socket | undefined;
  private tcp: Server | undefined;
  private readonly tcpSockets = new Set<TcpSocket>();

  constructor(handler: StubHandler = defaultHandler) {
    this.handler = handler;
  }

  async start(host = '127.0.0.1'): Promise<this> {
    // UDP and TCP share one port; the kernel picks the UDP one, which may be taken for TCP:
    // then try another.
    for (let attempt = 1; ; attempt++) {
      const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      udp.on('message', (msg, rinfo) => this.onUdp(msg, rinfo));
      await new Promise<void>((resolve) => udp.bind(0, host, () => resolve()));
      const port = udp.address().port;
      const tcp = createServer((socket) => this.onTcp(socket));
      const error = await new Promise<Error | undefined>((resolve) => {
        tcp.once('error', resolve);
        tcp.listen(port, host, () => resolve(undefined));
      });
      if (error === undefined) {
        this.udp = udp;
        this.tcp = tcp;
        this.port = port;
        return this;
      }
      udp.close();
      if (attempt >= 10) throw error;
    }
  }

  count(qname?: string): number {
    return qname === undefined ? this.received.length : this.received.filter((q) => q.qname === qname).length;
  }

  /** Sends a raw datagram from the upstream's own socket (for spoofing tests). */
  sendRaw(message: Buffer, port: number, host = '127.0.0.1'): void {
    this.udp?.send(message, port, host);
  }

  async stop(): Promise<void> {
    for (const s of this.tcpSockets) s.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
    ]);
  }

  private onUdp(msg: Buffer, rinfo: RemoteInfo): void {
    const q = parseStubQuery(msg, 'udp', rinfo.port);
    if (!q) return;
    this.received.push(q);
    const reply = this.handler(q);
    if (reply === 'drop') return;
    const messages = Array.isArray(reply) ? reply : [encodeReply(msg, reply, true)];
    for (const m of messages) this.udp?.send(m, rinfo.port, rinfo.address);
  }

  private onTcp(socket: TcpSocket): void {
    this.tcpSockets.add(socket);
    socket.on('close', () => this.tcpSockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const msg = Buffer.from(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + msg.length);
        const q = parseStubQuery(msg, 'tcp', socket.remotePort ?? 0);
        if (!q) continue;
        this.received.push(q);
        const reply = this.handler(q);
        if (reply === 'drop') continue;
        const messages = Array.isArray(reply) ? reply : [encodeReply(msg, reply, false)];
        for (const m of messages) socket.write(Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]));
      }
    });
  }
}

function parseStubQuery(msg: Buffer, transport: 'udp' | 'tcp', port: number): ReceivedQuery | undefined {
  if (msg.length < 17) return undefined;
  let pos = 12;
  const labels: string[] = [];
  while (pos < msg.length && msg[pos] !== 0) {
    const len = msg[pos] as number;
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + len));
    pos += len + 1;
  }
  return { raw: msg, id: msg.readUInt16BE(0), qname: labels.join('.').toLowerCase(), qtype: msg.readUInt16BE(pos + 1), transport, port };
}

/** Encodes a reply to `query`: question copied, records uncompressed, OPT echoed when the query had one. */
export function encodeReply(query: Buffer, reply: StubReply, udp: boolean): Buffer {
  let qEnd = 12;
  while (query[qEnd] !== 0) qEnd += (query[qEnd] as number) + 1;
  qEnd += 5;
  const hasOpt = query.readUInt16BE(10) > 0;
  const records = (list: StubRecord[] | undefined): Buffer[] =>
    (list ?? []).map((r) => {
      const fixed = Buffer.alloc(10);
      fixed.writeUInt16BE(r.type, 0);
      fixed.writeUInt16BE(1, 2);
      fixed.writeUInt32BE(r.ttl, 4);
      fixed.writeUInt16BE(r.rdata.length, 8);
      return Buffer.concat([nameToWire(r.name), fixed, r.rdata]);
    });
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  let flags = 0x8000 | 0x0080 | (query.readUInt16BE(2) & 0x0100) | ((reply.rcode ?? 0) & 0xf);
  if (udp && reply.truncateUdp) flags |= 0x0200;
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  const truncated = udp && reply.truncateUdp;
  const answers = truncated ? [] : records(reply.answers);
  const authority = truncated ? [] : records(reply.authority);
  const additional = truncated ? [] : records(reply.additional);
  header.writeUInt16BE(answers.length, 6);
  header.writeUInt16BE(authority.length, 8);
  const opt = Buffer.alloc(11);
  opt.writeUInt16BE(41, 1);
  opt.writeUInt16BE(1232, 3);
  header.writeUInt16BE(additional.length + (hasOpt ? 1 : 0), 10);
  return Buffer.concat([header, query.subarray(12, qEnd), ...answers, ...authority, ...(hasOpt ? [opt] : []), ...additional]);
}
