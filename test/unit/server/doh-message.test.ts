import { describe, expect, it } from 'vitest';
import { cacheControl, checkMessage, classifyDohRequest, decodeBase64Url } from '../../../src/server/doh-message.ts';
import { buildQuery } from '../../helpers/dns-client.ts';
import { encodeReply, rr } from '../../helpers/stub-upstream.ts';

// The example of RFC 8484 §4.1.1: www.example.com A, ID 0.
const RFC_EXAMPLE = 'AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQAB';

describe('decodeBase64Url', () => {
  it('reads unpadded base64url and refuses padding, the standard alphabet and impossible lengths', () => {
    expect(decodeBase64Url(RFC_EXAMPLE)?.equals(buildQuery({ name: 'www.example.com', id: 0 }))).toBe(true);
    expect(decodeBase64Url('-_8')).toEqual(Buffer.from([0xfb, 0xff]));
    expect(decodeBase64Url('+/8')).toBeUndefined();
    expect(decodeBase64Url('AAA=')).toBeUndefined();
    expect(decodeBase64Url('AAAAA')).toBeUndefined();
  });
});

describe('classifyDohRequest', () => {
  it('takes GET ?dns= and POST application/dns-message at /dns-query', () => {
    const get = classifyDohRequest('GET', `/dns-query?ct=application/dns-message&dns=${RFC_EXAMPLE}`, undefined, undefined);
    expect(get.kind === 'message' && get.message.length).toBe(33);
    expect(classifyDohRequest('POST', '/dns-query', 'application/dns-message', '33')).toEqual({ kind: 'body' });
    expect(classifyDohRequest('POST', '/dns-query', 'Application/DNS-Message; q=1', undefined)).toEqual({ kind: 'body' });
  });

  it('gives each other request its status', () => {
    const status = (...args: Parameters<typeof classifyDohRequest>) => {
      const r = classifyDohRequest(...args);
      return r.kind === 'fail' ? r.status : r.kind;
    };
    expect(status('GET', `/resolve?dns=${RFC_EXAMPLE}`, undefined, undefined)).toBe(404);
    expect(status('GET', `/dns-query/?dns=${RFC_EXAMPLE}`, undefined, undefined)).toBe(404);
    expect(status('PUT', '/dns-query', 'application/dns-message', undefined)).toBe(405);
    expect(status('HEAD', `/dns-query?dns=${RFC_EXAMPLE}`, undefined, undefined)).toBe(405);
    expect(status('POST', '/dns-query', 'application/octet-stream', undefined)).toBe(415);
    expect(status('POST', '/dns-query', undefined, undefined)).toBe(415);
    expect(status('POST', '/dns-query', 'application/dns-message', '65536')).toBe(413);
    expect(status('GET', '/dns-query', undefined, undefined)).toBe(400);
    expect(status('GET', '/dns-query?dns=%2B', undefined, undefined)).toBe(400);
    expect(status('GET', '/dns-query?dns=AAAA', undefined, undefined)).toBe(400);
  });
});

describe('checkMessage', () => {
  it('passes a header-sized message on and refuses shorter and longer ones', () => {
    expect(checkMessage(Buffer.alloc(12)).kind).toBe('message');
    expect(checkMessage(Buffer.alloc(11))).toMatchObject({ kind: 'fail', status: 400 });
    expect(checkMessage(Buffer.alloc(65_536))).toMatchObject({ kind: 'fail', status: 413 });
  });
});

describe('cacheControl', () => {
  const query = buildQuery({ name: 'a.example', id: 0 });

  it('is private with the smallest TTL of the answer, or the negative TTL of an NXDOMAIN', () => {
    expect(cacheControl(encodeReply(query, { answers: [rr.a('a.example', '192.0.2.1', 300), rr.a('a.example', '192.0.2.2', 42)] }, false))).toBe('private, max-age=42');
    expect(cacheControl(encodeReply(query, { rcode: 3, authority: [rr.soa('example', 300, 30)] }, false))).toBe('private, max-age=30');
    // NODATA: no answer records, the SOA's negative TTL.
    expect(cacheControl(encodeReply(query, { authority: [rr.soa('example', 300, 20)] }, false))).toBe('private, max-age=20');
  });

  it('is max-age=0 for what must not be kept: SERVFAIL, no records, garbage', () => {
    expect(cacheControl(encodeReply(query, { rcode: 2 }, false))).toBe('private, max-age=0');
    expect(cacheControl(encodeReply(query, {}, false))).toBe('private, max-age=0');
    expect(cacheControl(Buffer.from([0, 0, 0x81, 0x80, 0, 1]))).toBe('private, max-age=0');
    expect(cacheControl(Buffer.concat([query.subarray(0, 12), Buffer.from([0xc0])]))).toBe('private, max-age=0');
  });
});
