// Raw DNS message crafting for hostile-input tests: every header bit, count, name byte,
// record and OPT field can be set by hand, including values no well-behaved encoder
// would write (pointers anywhere, wrong counts, two OPTs, EDNS version 1, bogus options).
// Also a permissive reply inspector and raw UDP/TCP exchange helpers for loopback.
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { sendUdp } from './dns-client.ts';

export const T = { A: 1, NS: 2, CNAME: 5, SOA: 6, HINFO: 13, MX: 15, TXT: 16, AAAA: 28, OPT: 41, HTTPS: 65, ANY: 255 } as const;
export const CLASS = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;
export const OPCODE = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;
export const RC = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export const FLAGS = { QR: 0x8000, AA: 0x0400, TC: 0x0200, RD: 0x0100, RA: 0x0080, Z: 0x0040, AD: 0x0020, CD: 0x0010 } as const;

export interface HeaderSpec {
  id?: number;
  /** The whole 16-bit flags word; when given, the individual bits below are ignored. */
  flags?: number;
  qr?: boolean;
  opcode?: number;
  aa?: boolean;
  tc?: boolean;
  /** Default true. */
  rd?: boolean;
  ra?: boolean;
  z?: boolean;
  ad?: boolean;
  cd?: boolean;
  rcode?: number;
  /** Override the counts written in the header (default: what the message carries). */
  qdcount?: number;
  ancount?: number;
  nscount?: number;
  arcount?: number;
}

export interface QuestionSpec {
  /** Dotted name (no escapes). Ignored when nameBytes is given. */
  name?: string;
  /** Raw owner-name bytes, e.g. from labels(), pointer() or a concatenation. */
  nameBytes?: Buffer;
  type?: number;
  class?: number;
}

export interface RecordSpec {
  name?: string;
  nameBytes?: Buffer;
  type: number;
  class?: number;
  ttl?: number;
  rdata?: Buffer;
  /** Write this RDLENGTH instead of rdata.length (to lie about the record size). */
  rdlength?: number;
}

export interface OptionSpec {
  code: number;
  data?: Buffer;
}

export interface OptSpec {
  udpSize?: number;
  extRcode?: number;
  version?: number;
  /** The 16-bit EDNS flags field (DO is 0x8000). Overrides `dnssecOk`. */
  flags?: number;
  dnssecOk?: boolean;
  options?: OptionSpec[];
  /** Raw RDATA instead of `options` (for malformed option lists). */
  rawRdata?: Buffer;
  /** Owner name bytes (default: the root, one zero octet). */
  ownerBytes?: Buffer;
}

export interface MessageSpec {
  header?: HeaderSpec;
  /** Default: one question for `example.com` A IN. Pass [] for none. */
  questions?: QuestionSpec[];
  answers?: RecordSpec[];
  authority?: RecordSpec[];
  additional?: RecordSpec[];
  /** OPT records appended to the additional section (after `additional`). */
  opts?: OptSpec[];
  /** Bytes appended after the last record. */
  trailing?: Buffer;
}

/** Wire form of a dotted name; labels may hold any byte (latin1). */
export function wireName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter((l) => l.length > 0);
  return labels(...parts);
}

/** Raw labels, each written as given (so a label may contain "." or be longer than 63), then the root. */
export function labels(...parts: (string | Buffer)[]): Buffer {
  const out: Buffer[] = [];
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'latin1') : part;
    out.push(Buffer.from([bytes.length & 0xff]), bytes);
  }
  out.push(Buffer.from([0]));
  return Buffer.concat(out);
}

/** Labels without the terminating root (to be followed by a pointer). */
export function labelsNoRoot(...parts: (string | Buffer)[]): Buffer {
  const withRoot = labels(...parts);
  return withRoot.subarray(0, withRoot.length - 1);
}

/** A two-octet compression pointer to `offset`. */
export function pointer(offset: number): Buffer {
  return Buffer.from([0xc0 | ((offset >> 8) & 0x3f), offset & 0xff]);
}

export function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value & 0xffff);
  return b;
}

export function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

export function headerFlags(h: HeaderSpec = {}): number {
  if (h.flags !== undefined) return h.flags & 0xffff;
  let f = 0;
  if (h.qr) f |= FLAGS.QR;
  f |= ((h.opcode ?? 0) & 0xf) << 11;
  if (h.aa) f |= FLAGS.AA;
  if (h.tc) f |= FLAGS.TC;
  if (h.rd ?? true) f |= FLAGS.RD;
  if (h.ra) f |= FLAGS.RA;
  if (h.z) f |= FLAGS.Z;
  if (h.ad) f |= FLAGS.AD;
  if (h.cd) f |= FLAGS.CD;
  f |= (h.rcode ?? 0) & 0xf;
  return f;
}

export function encodeRecord(r: RecordSpec): Buffer {
  const owner = r.nameBytes ?? wireName(r.name ?? '');
  const rdata = r.rdata ?? Buffer.alloc(0);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(r.type & 0xffff, 0);
  fixed.writeUInt16BE((r.class ?? CLASS.IN) & 0xffff, 2);
  fixed.writeUInt32BE((r.ttl ?? 300) >>> 0, 4);
  fixed.writeUInt16BE((r.rdlength ?? rdata.length) & 0xffff, 8);
  return Buffer.concat([owner, fixed, rdata]);
}

export function encodeOptions(options: OptionSpec[]): Buffer {
  return Buffer.concat(options.map((o) => Buffer.concat([u16(o.code), u16(o.data?.length ?? 0), o.data ?? Buffer.alloc(0)])));
}

export function encodeOpt(o: OptSpec = {}): Buffer {
  const rdata = o.rawRdata ?? encodeOptions(o.options ?? []);
  const flags = o.flags ?? (o.dnssecOk ? 0x8000 : 0);
  const ttl = (((o.extRcode ?? 0) & 0xff) << 24) | (((o.version ?? 0) & 0xff) << 16) | (flags & 0xffff);
  return encodeRecord({ nameBytes: o.ownerBytes ?? Buffer.from([0]), type: T.OPT, class: o.udpSize ?? 1232, ttl: ttl >>> 0, rdata });
}

/** Builds a message exactly as specified. */
export function craft(spec: MessageSpec = {}): Buffer {
  const h = spec.header ?? {};
  const questions = spec.questions ?? [{ name: 'example.com' }];
  const answers = spec.answers ?? [];
  const authority = spec.authority ?? [];
  const additional = [...(spec.additional ?? []).map(encodeRecord), ...(spec.opts ?? []).map(encodeOpt)];
  const header = Buffer.alloc(12);
  header.writeUInt16BE((h.id ?? 0x1234) & 0xffff, 0);
  header.writeUInt16BE(headerFlags(h), 2);
  header.writeUInt16BE((h.qdcount ?? questions.length) & 0xffff, 4);
  header.writeUInt16BE((h.ancount ?? answers.length) & 0xffff, 6);
  header.writeUInt16BE((h.nscount ?? authority.length) & 0xffff, 8);
  header.writeUInt16BE((h.arcount ?? additional.length) & 0xffff, 10);
  const qs = questions.map((q) => Buffer.concat([q.nameBytes ?? wireName(q.name ?? ''), u16(q.type ?? T.A), u16(q.class ?? CLASS.IN)]));
  return Buffer.concat([header, ...qs, ...answers.map(encodeRecord), ...authority.map(encodeRecord), ...additional, spec.trailing ?? Buffer.alloc(0)]);
}

/** Shorthand: one well-formed query. */
export function query(name: string, type: number = T.A, extra: Omit<MessageSpec, 'questions'> & { qclass?: number } = {}): Buffer {
  const { qclass, ...rest } = extra;
  return craft({ ...rest, questions: [{ name, type, class: qclass ?? CLASS.IN }] });
}

/** Prefixes a message with its two-octet TCP length. */
export function frame(message: Buffer): Buffer {
  return Buffer.concat([u16(message.length), message]);
}

/**
 * A backward pointer chain laid out from absolute message offset `base`: a root-terminated
 * label "x" followed by `hops` pointers, each pointing at the previous one. Returns the
 * bytes and the offset of the last pointer (following it walks the whole chain).
 * Every pointer target must stay below 16384, so keep base + 3 + 2 * hops under that.
 */
export function pointerChain(base: number, hops: number): { bytes: Buffer; last: number } {
  const parts: Buffer[] = [labels('x')];
  let previous = base;
  let offset = base + 3;
  for (let i = 0; i < hops; i++) {
    parts.push(pointer(previous));
    previous = offset;
    offset += 2;
  }
  return { bytes: Buffer.concat(parts), last: previous };
}

/**
 * A ~`targetSize`-octet query whose first additional record carries a long backward pointer
 * chain in its RDATA and whose remaining additional records all use the end of that chain
 * as owner name: the shape that stalled dns2's parser for seconds.
 */
export function pointerChainBombQuery(targetSize = 60_000, hops = 8000, name = 'bomb.example'): Buffer {
  const q = Buffer.concat([wireName(name), u16(T.A), u16(CLASS.IN)]);
  // First additional record: owner "." (1) + fixed (10), RDATA holds the chain.
  const chainBase = 12 + q.length + 11;
  const maxHops = Math.min(hops, Math.floor((0x3fff - chainBase - 3) / 2));
  const chain = pointerChain(chainBase, maxHops);
  const carrier = encodeRecord({ nameBytes: Buffer.from([0]), type: 0xff00, ttl: 0, rdata: chain.bytes });
  const owner = pointer(chain.last);
  const one = encodeRecord({ nameBytes: owner, type: T.A, ttl: 60, rdata: Buffer.from([192, 0, 2, 1]) });
  const used = 12 + q.length + carrier.length;
  const count = Math.max(0, Math.floor((targetSize - used) / one.length));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(0xb0b0, 0);
  header.writeUInt16BE(FLAGS.RD, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(1 + count, 10);
  return Buffer.concat([header, q, carrier, Buffer.alloc(count * one.length).fill(one)]);
}

// ---------------------------------------------------------------------------------------
// Reply inspection: permissive (pointers are skipped, never followed).

export interface InspectedRecord {
  section: 'answer' | 'authority' | 'additional';
  type: number;
  class: number;
  ttl: number;
  rdata: Buffer;
}

export interface InspectedOpt {
  udpSize: number;
  extRcode: number;
  version: number;
  flags: number;
  dnssecOk: boolean;
  options: { code: number; data: Buffer }[];
}

export interface Inspected {
  id: number;
  flags: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  z: boolean;
  ad: boolean;
  cd: boolean;
  /** Header rcode (4 bits). */
  rcode: number;
  /** Header rcode combined with the OPT's extended rcode. */
  fullRcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
  /** The question section bytes (for exact echo checks). */
  question: Buffer;
  records: InspectedRecord[];
  opts: InspectedOpt[];
  opt: InspectedOpt | undefined;
}

function skipNameLoose(buf: Buffer, pos: number): number {
  while (pos < buf.length) {
    const len = buf[pos] as number;
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) return pos + 2;
    pos += len + 1;
  }
  throw new Error('name runs past the end of the message');
}

export function inspect(buf: Buffer): Inspected {
  if (buf.length < 12) throw new Error(`reply of ${buf.length} octets has no header`);
  const flags = buf.readUInt16BE(2);
  const counts = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)] as const;
  let pos = 12;
  for (let i = 0; i < counts[0]; i++) pos = skipNameLoose(buf, pos) + 4;
  const question = buf.subarray(12, pos);
  const records: InspectedRecord[] = [];
  const opts: InspectedOpt[] = [];
  const total = counts[1] + counts[2] + counts[3];
  for (let i = 0; i < total; i++) {
    const section = i < counts[1] ? 'answer' : i < counts[1] + counts[2] ? 'authority' : 'additional';
    pos = skipNameLoose(buf, pos);
    if (pos + 10 > buf.length) throw new Error('record header runs past the end');
    const type = buf.readUInt16BE(pos);
    const cls = buf.readUInt16BE(pos + 2);
    const ttl = buf.readUInt32BE(pos + 4);
    const rdlength = buf.readUInt16BE(pos + 8);
    const rdata = buf.subarray(pos + 10, pos + 10 + rdlength);
    if (rdata.length !== rdlength) throw new Error('rdata runs past the end');
    pos += 10 + rdlength;
    if (type === T.OPT) {
      const options: { code: number; data: Buffer }[] = [];
      for (let o = 0; o + 4 <= rdata.length; ) {
        const code = rdata.readUInt16BE(o);
        const len = rdata.readUInt16BE(o + 2);
        options.push({ code, data: rdata.subarray(o + 4, o + 4 + len) });
        o += 4 + len;
      }
      opts.push({ udpSize: cls, extRcode: ttl >>> 24, version: (ttl >>> 16) & 0xff, flags: ttl & 0xffff, dnssecOk: (ttl & 0x8000) !== 0, options });
    } else {
      records.push({ section, type, class: cls, ttl, rdata });
    }
  }
  const opt = opts[0];
  return {
    id: buf.readUInt16BE(0),
    flags,
    qr: (flags & FLAGS.QR) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & FLAGS.AA) !== 0,
    tc: (flags & FLAGS.TC) !== 0,
    rd: (flags & FLAGS.RD) !== 0,
    ra: (flags & FLAGS.RA) !== 0,
    z: (flags & FLAGS.Z) !== 0,
    ad: (flags & FLAGS.AD) !== 0,
    cd: (flags & FLAGS.CD) !== 0,
    rcode: flags & 0xf,
    fullRcode: ((opt?.extRcode ?? 0) << 4) | (flags & 0xf),
    qdcount: counts[0],
    ancount: counts[1],
    nscount: counts[2],
    arcount: counts[3],
    question,
    records,
    opts,
    opt,
  };
}

// ---------------------------------------------------------------------------------------
// Transport helpers (loopback only).

/** Sends one datagram and collects every datagram that comes back within `waitMs`. */
export function udpCollect(port: number, message: Buffer, options: { from?: string; host?: string; waitMs?: number } = {}): Promise<Buffer[]> {
  const host = options.host ?? '127.0.0.1';
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const got: Buffer[] = [];
  return new Promise((resolve, reject) => {
    socket.on('message', (msg) => got.push(msg));
    socket.on('error', (error) => {
      socket.close();
      reject(error);
    });
    socket.bind(0, options.from ?? (host.includes(':') ? '::1' : '127.0.0.1'), () => {
      socket.send(message, port, host);
      setTimeout(() => {
        socket.close();
        resolve(got);
      }, options.waitMs ?? 300);
    });
  });
}

/** A raw TCP connection: write anything, read framed replies, observe how it ends. */
export class TcpSession {
  readonly socket: Socket;
  readonly replies: Buffer[] = [];
  /** Epoch ms when the peer sent FIN / the socket closed / errored (0 = not yet). */
  endedAt = 0;
  closedAt = 0;
  error: NodeJS.ErrnoException | undefined;
  readonly openedAt = Date.now();
  private pending = Buffer.alloc(0);
  private readonly waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 2 && this.pending.length >= 2 + this.pending.readUInt16BE(0)) {
        const length = this.pending.readUInt16BE(0);
        this.replies.push(Buffer.from(this.pending.subarray(2, 2 + length)));
        this.pending = this.pending.subarray(2 + length);
      }
      this.wake();
    });
    socket.on('end', () => {
      this.endedAt = Date.now();
      this.wake();
    });
    socket.on('error', (error) => {
      this.error = error;
      this.wake();
    });
    socket.on('close', () => {
      this.closedAt = Date.now();
      this.wake();
    });
  }

  /** Connects; allowHalfOpen keeps our side open after the server's FIN (to tell FIN from destroy). */
  static open(port: number, options: { from?: string; host?: string; allowHalfOpen?: boolean } = {}): Promise<TcpSession> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: options.host ?? '127.0.0.1', localAddress: options.from, allowHalfOpen: options.allowHalfOpen ?? false, noDelay: true });
      const session = new TcpSession(socket);
      socket.once('connect', () => resolve(session));
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.closedAt !== 0;
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  send(message: Buffer): void {
    this.write(frame(message));
  }

  /** Resolves when `predicate` holds, or with false after `timeoutMs`. */
  async waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  waitReplies(count: number, timeoutMs = 3000): Promise<boolean> {
    return this.waitFor(() => this.replies.length >= count, timeoutMs);
  }

  waitClosed(timeoutMs: number): Promise<boolean> {
    return this.waitFor(() => this.closed, timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** One framed message over a fresh TCP connection; resolves with the first reply (or undefined). */
export async function tcpOnce(port: number, message: Buffer, options: { from?: string; timeoutMs?: number } = {}): Promise<Buffer | undefined> {
  const session = await TcpSession.open(port, { from: options.from });
  try {
    session.send(message);
    await session.waitFor(() => session.replies.length > 0 || session.closed, options.timeoutMs ?? 3000);
    return session.replies[0];
  } finally {
    session.destroy();
  }
}

/** Sends over UDP and TCP and returns both replies (either may be undefined). */
export async function bothTransports(port: number, message: Buffer, options: { from?: string; timeoutMs?: number } = {}): Promise<{ udp: Buffer | undefined; tcp: Buffer | undefined }> {
  const udp = await sendUdp(port, message, { from: options.from, timeoutMs: options.timeoutMs ?? 1000 });
  const tcp = await tcpOnce(port, message, options);
  return { udp, tcp };
}

// ---------------------------------------------------------------------------------------
// Event-loop stall probe (the server under test runs in this process).

/** Starts a timer that fires every `periodMs`; stop() returns the worst lateness seen (ms). */
export function loopStallProbe(periodMs = 2): { stop(): number } {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - periodMs);
    last = now;
  }, periodMs);
  return {
    stop(): number {
      clearInterval(timer);
      worst = Math.max(worst, performance.now() - last - periodMs);
      return worst;
    },
  };
}
