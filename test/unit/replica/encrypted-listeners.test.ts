// Binding the DoH and DoT listeners of a config, and swapping their certificate, over loopback.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.ts';
import type { MessageHandler, QueryContext } from '../../../src/pipeline/context.ts';
import { bindEncryptedListeners } from '../../../src/replica/encrypted-listeners.ts';
import { dnsParam, dohRequest, dotExchange, fingerprintOfFile } from '../../helpers/encrypted-dns-client.ts';
import { makeTestCert } from '../../helpers/tls-certs.ts';

const dir = mkdtempSync(join(tmpdir(), 'dnsward-encrypted-'));
const first = makeTestCert(dir, 'first');
const logger = pino({ level: 'silent' });
const echo: MessageHandler = {
  handleMessage(buf, _client, _transport, responder, replyTo) {
    responder.send({ replyTo } as QueryContext, Buffer.from(buf));
  },
};
const dnsOf = (dns: Record<string, unknown>) => configSchema.parse({ dns: { listen: ['127.0.0.1:0'], ...dns }, upstreams: ['127.0.0.1:53'], segments: [{ name: 'd', networks: ['0.0.0.0/0'], action: 'allow' }] }).dns;
const message = Buffer.from('0123456789ab');

describe('bindEncryptedListeners', () => {
  it('binds nothing when neither list is set', async () => {
    expect(await bindEncryptedListeners(dnsOf({}), echo, logger)).toBeUndefined();
  });

  it('binds every DoH and DoT address and swaps the certificate of all of them', async () => {
    const tls = { cert_file: first.cert, key_file: first.key };
    const bound = await bindEncryptedListeners(dnsOf({ doh_listen: ['127.0.0.1:0', '[::1]:0'], dot_listen: ['127.0.0.1:0'], tls }), echo, logger);
    try {
      expect(bound?.doh.map((b) => b.host)).toEqual(['127.0.0.1', '::1']);
      expect(bound?.dot).toHaveLength(1);
      const dotPort = bound?.dot[0]?.port as number;
      expect((await dotExchange(dotPort, [message], { ca: first.cert })).fingerprint).toBe(fingerprintOfFile(first.cert));
      const second = makeTestCert(dir, 'second');
      bound?.swapTls({ cert: readFileSync(second.cert), key: readFileSync(second.key) });
      expect((await dotExchange(dotPort, [message], { ca: second.cert })).fingerprint).toBe(fingerprintOfFile(second.cert));
      const doh = await dohRequest(bound?.doh[0]?.port as number, { path: `/dns-query?dns=${dnsParam(message)}`, ca: second.cert });
      expect([doh.status, doh.fingerprint]).toEqual([200, fingerprintOfFile(second.cert)]);
    } finally {
      await bound?.close();
    }
  });

  it('names the key when an address is taken or the certificate cannot be read', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const tls = { cert_file: first.cert, key_file: first.key };
      await expect(bindEncryptedListeners(dnsOf({ doh_listen: ['127.0.0.1:0'], dot_listen: [`127.0.0.1:${port}`], tls }), echo, logger)).rejects.toThrow(/dns\.dot_listen: cannot listen on "127\.0\.0\.1:\d+": EADDRINUSE/);
      await expect(bindEncryptedListeners(dnsOf({ doh_listen: [`127.0.0.1:${port}`], tls }), echo, logger)).rejects.toThrow(/dns\.doh_listen: cannot listen/);
      await expect(bindEncryptedListeners(dnsOf({ dot_listen: ['127.0.0.1:0'], tls: { ...tls, key_file: join(dir, 'missing.key') } }), echo, logger)).rejects.toThrow(/dns\.tls\.key_file: cannot read/);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});
