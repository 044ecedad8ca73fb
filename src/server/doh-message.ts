// The DNS-over-HTTPS exchange (RFC 8484) apart from sockets: which requests carry a DNS
// message and how it is read from them (GET ?dns= base64url, POST application/dns-message),
// the status for those that do not, and how long an answer may be kept by HTTP caches.
import { HEADER_SIZE } from '../dns/constants.ts';
import { scanAnswer } from '../dns/answer-scan.ts';
import { skipName } from '../dns/names.ts';

export const DOH_PATH = '/dns-query';
export const DNS_MESSAGE = 'application/dns-message';
/** The largest DNS message (its length travels in 16 bits on every stream transport). */
export const MAX_DNS_MESSAGE = 65_535;

export type DohFailure = { status: 400 | 404 | 405 | 408 | 413 | 415; reason: string };
/** A GET's message, a POST whose body is to be read, or the status to answer with. */
export type DohRequest = { kind: 'message'; message: Buffer } | { kind: 'body' } | ({ kind: 'fail' } & DohFailure);

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Decodes unpadded base64url (RFC 4648 §5, as RFC 8484 §4.1 requires); undefined when it is not that. */
export function decodeBase64Url(text: string): Buffer | undefined {
  // A length of 4n+1 cannot come from any byte string.
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64url');
}

/** Sorts a request by method, path, content type and size; a POST's body is read by the caller. */
export function classifyDohRequest(method: string, url: string, contentType: string | undefined, contentLength: string | undefined): DohRequest {
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  if (path !== DOH_PATH) return fail(404, `only ${DOH_PATH} serves DNS`);
  if (method === 'POST') {
    // Media type parameters are allowed by HTTP; the type itself must be DNS wire format.
    const type = contentType?.split(';')[0]?.trim().toLowerCase();
    if (type !== DNS_MESSAGE) return fail(415, `POST needs Content-Type: ${DNS_MESSAGE}`);
    if (contentLength !== undefined && Number(contentLength) > MAX_DNS_MESSAGE) return fail(413, `a DNS message is at most ${MAX_DNS_MESSAGE} octets`);
    return { kind: 'body' };
  }
  if (method !== 'GET') return fail(405, 'use GET or POST');
  const params = new URLSearchParams(query < 0 ? '' : url.slice(query + 1));
  const encoded = params.get('dns');
  if (encoded === null) return fail(400, 'GET needs ?dns= with the query in base64url');
  const message = decodeBase64Url(encoded);
  if (message === undefined) return fail(400, 'the dns parameter is not unpadded base64url');
  return checkMessage(message);
}

/** A body or parameter that cannot be a DNS query (shorter than its header, or too long) gets 400 / 413. */
export function checkMessage(message: Buffer): DohRequest {
  if (message.length > MAX_DNS_MESSAGE) return fail(413, `a DNS message is at most ${MAX_DNS_MESSAGE} octets`);
  if (message.length < HEADER_SIZE) return fail(400, 'not a DNS message: shorter than its header');
  return { kind: 'message', message };
}

/**
 * Cache-Control of an answer (RFC 8484 §5.1): fresh no longer than its smallest TTL (or the
 * RFC 2308 negative TTL; 0 when it must not be cached). `private`: the answer depends on the
 * client's segment, so a shared cache must never hand one client's answer to another.
 */
export function cacheControl(response: Buffer): string {
  return `private, max-age=${freshness(response)}`;
}

function freshness(response: Buffer): number {
  if (response.length < HEADER_SIZE) return 0;
  let pos = HEADER_SIZE;
  for (let i = response.readUInt16BE(4); i > 0; i--) {
    const end = skipName(response, pos);
    if (end < 0 || end + 4 > response.length) return 0;
    pos = end + 4;
  }
  return scanAnswer(response, pos)?.cacheTtl ?? 0;
}

function fail(status: DohFailure['status'], reason: string): DohRequest {
  return { kind: 'fail', status, reason };
}
