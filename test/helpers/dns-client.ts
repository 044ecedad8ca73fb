// A real DNS client for tests: raw queries over UDP or TCP from a chosen loopback source.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dns2 from 'dns2';

const { Packet } = dns2;

export interface QueryOptions {
  name: string;
  type?: number;
  /** Add an OPT record (EDNS0) with this UDP payload size. */
  edns?: number;
  dnssecOk?: boolean;
  id?: number;
  /** Source address (e.g. "127.0.0.2" to act as another client). */
  from?: string;
}

/** Builds a wire query by hand so tests control every byte (case, EDNS, ID). */
export function buildQuery(options: QueryOptions): Buffer {
  const labels = options.name.replace(/\.$/, '').split('.').filter((l) => l.length > 0);
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(options.id ?? Math.floor(Math.random() * 65536), 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(options.edns !== undefined ? 1 : 0, 10);
  parts.push(header);
  for (const label of labels) parts.push(Buffer.from([label.length]), Buffer.from(label, 'latin1'));
  parts.push(Buffer.from([0]));
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(options.type ?? 1, 0);
  tail.writeUInt16BE(1, 2);
  parts.push(tail);
  if (options.edns !== undefined) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(41, 1);
    opt.writeUInt16BE(options.edns, 3);
    opt.writeUInt32BE(options.dnssecOk ? 0x8000 : 0, 5);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

export interface DnsReply {
  raw: Buffer;
  packet: InstanceType<typeof Packet>;
  rcode: number;
  flags: number;
}

export function decode(raw: Buffer): DnsReply {
  const flags = raw.readUInt16BE(2);
  return { raw, packet: Packet.parse(raw), rcode: flags & 0xf, flags };
}

/** Sends raw bytes over UDP and resolves with the first datagram back (or undefined after timeoutMs). */
export function sendUdp(port: number, message: Buffer, options: { from?: string; host?: string; timeoutMs?: number } = {}): Promise<Buffer | undefined> {
  const host = options.host ?? '127.0.0.1';
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, options.timeoutMs ?? 3000);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
    socket.bind(0, options.from ?? (host.includes(':') ? '::1' : '127.0.0.1'), () => socket.send(message, port, host));
  });
}

export async function queryUdp(port: number, options: QueryOptions, timeoutMs = 3000): Promise<DnsReply> {
  const raw = await sendUdp(port, buildQuery(options), { from: options.from, timeoutMs });
  if (raw === undefined) throw new Error(`no UDP answer for ${options.name} within ${timeoutMs} ms`);
  return decode(raw);
}

/** Sends framed messages over one TCP connection and collects `expect` framed replies. */
export function exchangeTcp(port: number, messages: Buffer[], options: { from?: string; expect?: number; timeoutMs?: number } = {}): Promise<Buffer[]> {
  const expect = options.expect ?? messages.length;
  return new Promise((resolve, reject) => {
    const replies: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const socket = connect({ port, host: '127.0.0.1', localAddress: options.from });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TCP: got ${replies.length} of ${expect} replies`));
    }, options.timeoutMs ?? 3000);
    socket.on('connect', () => {
      socket.write(Buffer.concat(messages.map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]))));
    });
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const length = pending.readUInt16BE(0);
        replies.push(Buffer.from(pending.subarray(2, 2 + length)));
        pending = pending.subarray(2 + length);
      }
      if (replies.length >= expect) {
        clearTimeout(timer);
        socket.destroy();
        resolve(replies);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

export async function queryTcp(port: number, options: QueryOptions): Promise<DnsReply> {
  const [raw] = await exchangeTcp(port, [buildQuery(options)], { from: options.from });
  if (!raw) throw new Error('no TCP reply');
  return decode(raw);
}

/** Reads the EDE (option 15) info code and text from a reply's OPT, if any. */
export function extendedError(raw: Buffer): { code: number; text: string } | undefined {
  const opt = findOpt(raw);
  if (!opt) return undefined;
  let pos = opt.rdata;
  while (pos + 4 <= opt.rdata + opt.rdlength) {
    const code = raw.readUInt16BE(pos);
    const length = raw.readUInt16BE(pos + 2);
    if (code === 15) return { code: raw.readUInt16BE(pos + 4), text: raw.toString('utf8', pos + 6, pos + 4 + length) };
    pos += 4 + length;
  }
  return undefined;
}

/** Locates the OPT record by walking the message (names may be compressed). */
export function findOpt(raw: Buffer): { rdata: number; rdlength: number; udpSize: number; ttl: number } | undefined {
  const counts = [raw.readUInt16BE(4), raw.readUInt16BE(6), raw.readUInt16BE(8), raw.readUInt16BE(10)] as const;
  let pos = 12;
  const skipName = (): void => {
    while (true) {
      const len = raw[pos] as number;
      if (len === 0) {
        pos += 1;
        return;
      }
      if ((len & 0xc0) === 0xc0) {
        pos += 2;
        return;
      }
      pos += len + 1;
    }
  };
  for (let i = 0; i < counts[0]; i++) {
    skipName();
    pos += 4;
  }
  const records = counts[1] + counts[2] + counts[3];
  for (let i = 0; i < records; i++) {
    skipName();
    const type = raw.readUInt16BE(pos);
    const udpSize = raw.readUInt16BE(pos + 2);
    const ttl = raw.readUInt32BE(pos + 4);
    const rdlength = raw.readUInt16BE(pos + 8);
    if (type === 41) return { rdata: pos + 10, rdlength, udpSize, ttl };
    pos += 10 + rdlength;
  }
  return undefined;
}
