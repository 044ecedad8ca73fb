// Puts dnsward's request check (./request-check.ts) in front of a dns2 server's decoder, and
// keeps each request's bytes as they arrived so the handler (./dns2.ts) decides and answers
// from them, not from dns2's re-encoding. UDP: dns2's datagram listener runs only for
// requests that pass. TCP: the connection is read here (dns2 3.1's framing with its reply
// function), because its reader decodes every frame as it arrives; this reader also destroys
// idle and slow connections instead of half-closing them, and bounds the queries in flight
// per connection. DoH: dns2 decodes (and reads POST bodies without a limit) before any hook,
// so a guarded server refuses to have one unless told.
import type { Socket } from 'node:net';
import type { RemoteInfo } from 'node:dgram';
import { Packet } from 'dns2';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { checkRequest } from './request-check.ts';

export interface GuardOptions {
  /** Run a DoH server unguarded (dns2 decodes DoH requests before any check). Default false: refused. */
  allowUnguardedDoh?: boolean;
  /** A partial TCP message must be complete within this time (ms; slowloris). Default 5000. */
  messageDeadlineMs?: number;
  /** Queries answered concurrently on one TCP connection; reading pauses beyond it. Default 32. */
  maxInFlightPerConnection?: number;
  /** Failed sends of the guard's own answers; default: ignored (the client retries). */
  onError?: (error: unknown) => void;
}

/** The parts of a dns2 3.1 server the guard works with (not in dns2's published types). */
interface Dns2Servers {
  udp?: Dns2UdpServer;
  tcp?: Dns2TcpServer;
  doh?: unknown;
}
interface Dns2UdpServer {
  proxyProtocol?: boolean;
  listeners(event: 'message'): ((data: Buffer, rinfo: RemoteInfo) => void)[];
  off(event: 'message', listener: (data: Buffer, rinfo: RemoteInfo) => void): unknown;
  on(event: 'message', listener: (data: Buffer, rinfo: RemoteInfo) => void): unknown;
  prependListener(event: 'request', listener: (message: Packet) => void): unknown;
  send(msg: Buffer, port: number, address: string, callback: (error: Error | null) => void): void;
}
interface TcpState {
  inFlight: number;
  peerEnded: boolean;
}
interface Dns2TcpServer {
  proxyProtocol?: boolean;
  idleTimeout?: number;
  listeners(event: 'connection'): ((socket: Socket) => void)[];
  off(event: 'connection', listener: (socket: Socket) => void): unknown;
  on(event: 'connection', listener: (socket: Socket) => void): unknown;
  emit(event: 'request', message: Packet, send: (response: Packet | Buffer) => void, client: Socket): boolean;
  response(client: Socket, state: TcpState, message: Packet | Buffer): void;
}

/** The bytes each guarded request arrived as (the handler decides from these). */
const rawBytes = new WeakMap<object, Buffer>();
const guarded = new WeakSet<object>();

/** The bytes `request` arrived as, when a guarded server decoded it. */
export function rawRequestBytes(request: object): Buffer | undefined {
  return rawBytes.get(request);
}

/** Guards a server made by dns2.createServer() (call before listen()); throws DnswardError when it cannot. */
export function guardDns2Server(server: object, options: GuardOptions = {}): void {
  const servers = (server as { servers?: Dns2Servers }).servers;
  if (servers === undefined || typeof servers !== 'object') {
    throw new DnswardError(ErrorCodes.USAGE, 'guardDns2Server: give it the server dns2.createServer() returned (dns2 3.1)');
  }
  if (guarded.has(server)) return;
  if (servers.doh !== undefined && options.allowUnguardedDoh !== true) {
    throw new DnswardError(
      ErrorCodes.USAGE,
      'guardDns2Server: dns2 decodes DoH requests, and reads POST bodies without a size limit, before any check; drop doh from createServer() or pass { allowUnguardedDoh: true } to run it unguarded',
    );
  }
  for (const [name, part] of [['udp', servers.udp], ['tcp', servers.tcp]] as const) {
    if (part?.proxyProtocol) {
      throw new DnswardError(
        ErrorCodes.USAGE,
        `guardDns2Server: the ${name} server has proxyProtocol on; dns2 believes a PROXY header from any sender, so any client could claim any segment's address: turn it off`,
      );
    }
  }
  const onError = options.onError ?? ((): void => undefined);
  if (servers.udp) guardUdp(servers.udp, onError);
  if (servers.tcp) guardTcp(servers.tcp, options.messageDeadlineMs ?? 5000, options.maxInFlightPerConnection ?? 32, onError);
  guarded.add(server);
}

function guardUdp(udp: Dns2UdpServer, onError: (error: unknown) => void): void {
  const [decode, ...others] = udp.listeners('message');
  if (decode === undefined || others.length > 0) throw new DnswardError(ErrorCodes.USAGE, 'guardDns2Server: the UDP server does not have exactly dns2\'s own message listener; guard it right after createServer()');
  // The datagram being decoded now: dns2 decodes it and emits the request synchronously.
  let arriving: Buffer | undefined;
  udp.prependListener('request', (message) => {
    if (arriving !== undefined) rawBytes.set(message, arriving);
  });
  udp.off('message', decode);
  udp.on('message', (data, rinfo) => {
    const check = checkRequest(data);
    if (check.kind === 'drop') return;
    if (check.kind === 'answer') {
      udp.send(check.answer, rinfo.port, rinfo.address, (error) => {
        if (error) onError(error);
      });
      return;
    }
    arriving = data;
    try {
      decode(data, rinfo);
    } finally {
      arriving = undefined;
    }
  });
}

function guardTcp(tcp: Dns2TcpServer, deadlineMs: number, maxInFlight: number, onError: (error: unknown) => void): void {
  const [accept, ...others] = tcp.listeners('connection');
  if (accept === undefined || others.length > 0) throw new DnswardError(ErrorCodes.USAGE, 'guardDns2Server: the TCP server does not have exactly dns2\'s own connection listener; guard it right after createServer()');
  tcp.off('connection', accept);
  tcp.on('connection', (socket) => readConnection(tcp, socket, deadlineMs, maxInFlight, onError));
}

const EMPTY: Buffer = Buffer.alloc(0);

/** RFC 7766 framing and pipelining, each frame checked before dns2 decodes it. */
function readConnection(tcp: Dns2TcpServer, socket: Socket, deadlineMs: number, maxInFlight: number, onError: (error: unknown) => void): void {
  // dns2's reply function keeps this state. Its peerEnded is set only once every frame read
  // here has been handed over, so that its last reply half-closes the connection then.
  const state: TcpState = { inFlight: 0, peerEnded: false };
  let pending: Buffer = EMPTY;
  let ended = false;
  let draining = false;
  let deadline: NodeJS.Timeout | undefined;
  const idleMs = typeof tcp.idleTimeout === 'number' && tcp.idleTimeout > 0 ? tcp.idleTimeout : 10_000;
  // Destroyed, not half-closed: a peer that never closes would keep the descriptor forever.
  socket.setTimeout(idleMs, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('close', () => clearTimeout(deadline));
  const reply = (response: Packet | Buffer): void => {
    tcp.response(socket, state, response);
    drain();
  };
  const writeOwn = (answer: Buffer): void => {
    if (socket.destroyed || !socket.writable) return;
    const framed = Buffer.allocUnsafe(answer.length + 2);
    framed.writeUInt16BE(answer.length, 0);
    answer.copy(framed, 2);
    socket.write(framed, (error) => {
      if (error) onError(error);
    });
  };
  const drain = (): void => {
    // Replies sent synchronously from inside a handler come back here: the loop below goes on.
    if (draining || socket.destroyed) return;
    draining = true;
    let completed = false;
    try {
      while (pending.length >= 2 && state.inFlight < maxInFlight) {
        const length = pending.readUInt16BE(0);
        if (length === 0) {
          socket.destroy();
          return;
        }
        if (pending.length < 2 + length) break;
        completed = true;
        const frame = Buffer.from(pending.subarray(2, 2 + length));
        pending = pending.length === 2 + length ? EMPTY : pending.subarray(2 + length);
        const check = checkRequest(frame);
        if (check.kind === 'answer') writeOwn(check.answer);
        if (check.kind !== 'pass') continue;
        let message: Packet;
        try {
          message = Packet.parse(frame);
        } catch (error) {
          onError(error);
          socket.destroy();
          return;
        }
        rawBytes.set(message, frame);
        state.inFlight++;
        tcp.emit('request', message, reply, socket);
        if (socket.destroyed) return;
      }
    } finally {
      draining = false;
    }
    if (state.inFlight >= maxInFlight) socket.pause();
    else if (socket.isPaused()) socket.resume();
    // A started message must arrive whole within the deadline, however slowly it trickles in.
    const partial = pending.length > 0 && (pending.length < 2 || pending.length < 2 + pending.readUInt16BE(0));
    if (!partial || completed) {
      clearTimeout(deadline);
      deadline = undefined;
    }
    if (partial && deadline === undefined) deadline = setTimeout(() => socket.destroy(), deadlineMs);
    if (!ended) return;
    // The peer half-closed: a message it cut off is a framing error; otherwise close after the last reply.
    if (partial) socket.destroy();
    else if (pending.length === 0) {
      state.peerEnded = true;
      if (state.inFlight === 0) socket.end();
    }
  };
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    drain();
  });
  socket.on('end', () => {
    ended = true;
    drain();
  });
}
