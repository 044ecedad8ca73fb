// dnsward in a dns2 server: a `handle` for dns2.createServer() that asks the policy engine
// about each request. Blocked names (and refused clients, ANY, malformed queries) get the
// bytes dnsward synthesised, exactly as the standalone resolver sends them; the rest go to the
// host's own resolution, whose answer is checked on the way out (CNAME cloaking, listed
// addresses) like the resolver's response side. What dns2 loses by decoding and
// re-encoding, and how its decoder is guarded: docs/EMBEDDING.md.
import type { RemoteInfo } from 'node:dgram';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { DnsHandler, Packet } from 'dns2';
import type { DecisionTransport } from '../audit/types.ts';
import { RCODE } from '../dns/constants.ts';
import { rawRequestBytes } from './dns2-guard.ts';
import type { PolicyEngine } from './engine.ts';

export { guardDns2Server, type GuardOptions, rawRequestBytes } from './dns2-guard.ts';

type Send = Parameters<DnsHandler>[1];
type Client = Parameters<DnsHandler>[2];

export interface Dns2HandlerOptions {
  /** The server's own resolution for what dnsward lets through: the `handle` it had before. May be async. */
  resolve: (request: Packet, send: Send, client: Client) => unknown;
  /** Check answers to allowed queries (CNAME into a listed domain, listed addresses), as the resolver does. Default true. */
  inspectAnswers?: boolean;
  /** Errors of send() and of `resolve`; default: logged by the engine's logger. */
  onError?: (error: unknown) => void;
}

/** The `handle` for dns2.createServer({ handle }): dnsward's policy in front of `options.resolve`. */
export function dnswardHandler(engine: PolicyEngine, options: Dns2HandlerOptions): DnsHandler {
  const log = engine.logger.child({ component: 'dns2' });
  const onError = options.onError ?? ((error: unknown): void => log.warn({ err: error }, 'dns2: a request failed'));
  const inspectAnswers = options.inspectAnswers ?? true;

  const answer = (request: Packet, send: Send, bytes: Buffer, transport: DecisionTransport): unknown => {
    // UDP and TCP write a Buffer as is; DoH needs a Packet, so it gets one that encodes to these bytes.
    return settle(send(transport === 'doh' ? packetOf(request, bytes) : bytes), onError);
  };

  return (request, send, client) => {
    const { address, transport } = clientOf(client);
    let query: Buffer;
    try {
      query = rawRequestBytes(request) ?? request.toBuffer();
    } catch (error) {
      // dns2 decoded something it cannot encode again: nothing trustworthy to decide on.
      onError(error);
      settle(send(errorResponse(request, RCODE.FORMERR)), onError);
      return;
    }
    const verdict = engine.decide(query, address, transport);
    switch (verdict.action) {
      case 'drop':
        // A response sent as a query (or a runt): never answered, as in the resolver.
        return;
      case 'block':
      case 'answer':
        answer(request, send, verdict.answer, transport);
        return;
      default: {
        const check = inspectAnswers && verdict.action === 'allow' && verdict.inspect;
        const reply: Send = check
          ? (response) => {
              const bytes = encodeOnce(response);
              const judged = bytes === undefined ? undefined : engine.inspect(query, bytes, address, transport);
              if (judged?.action === 'block') return answer(request, send, judged.answer, transport) as ReturnType<Send>;
              return settle(send(response), onError) as ReturnType<Send>;
            }
          : (response) => settle(send(response), onError) as ReturnType<Send>;
        try {
          settle(options.resolve(request, reply, client), (error) => {
            onError(error);
            settle(send(errorResponse(request, RCODE.SERVFAIL)), onError);
          });
        } catch (error) {
          onError(error);
          settle(send(errorResponse(request, RCODE.SERVFAIL)), onError);
        }
      }
    }
  };
}

/** Who asked and how: dns2 hands over the datagram's RemoteInfo, the TCP socket, or the DoH request. */
export function clientOf(client: Client): { address: string; transport: DecisionTransport } {
  if ('headers' in client) return { address: plainAddress((client as IncomingMessage).socket?.remoteAddress), transport: 'doh' };
  if ('remoteAddress' in client) {
    const socket = client as Socket & { proxyAddress?: string; encrypted?: boolean };
    return { address: plainAddress(socket.proxyAddress ?? socket.remoteAddress), transport: socket.encrypted === true ? 'dot' : 'tcp' };
  }
  return { address: plainAddress((client as RemoteInfo).address), transport: 'udp' };
}

/** "::ffff:10.1.2.3" (a dual-stack socket's IPv4 client) → "10.1.2.3", so IPv4 segments match it. */
function plainAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Attaches `onError` to a promise (dns2's UDP send() rejects on EMSGSIZE); returns what it got. */
function settle<T>(result: T, onError: (error: unknown) => void): T {
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    (result as unknown as Promise<unknown>).then(undefined, onError);
  }
  return result;
}

/** The host's answer as bytes, encoded once: the packet then hands dns2 those same bytes. */
function encodeOnce(response: Packet | Buffer): Buffer | undefined {
  if (Buffer.isBuffer(response)) return response;
  try {
    const bytes = response.toBuffer();
    response.toBuffer = () => bytes;
    return bytes;
  } catch {
    return undefined;
  }
}

/** A packet of the host's own dns2 (the request's class) that encodes to exactly `bytes`. */
function packetOf(request: Packet, bytes: Buffer): Packet {
  const PacketClass = request.constructor as typeof Packet;
  const packet = PacketClass.parse(bytes);
  packet.toBuffer = () => bytes;
  return packet;
}

function errorResponse(request: Packet, rcode: number): Packet {
  const PacketClass = request.constructor as typeof Packet;
  const response = PacketClass.createResponseFromRequest(request);
  response.header.rcode = rcode;
  return response;
}
