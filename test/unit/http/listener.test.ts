import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.ts';
import { DnswardError } from '../../../src/errors.ts';
import { createListenerApp, readTls } from '../../../src/http/listener.ts';

const httpConfig = (extra: Record<string, unknown>) => configSchema.parse({ upstreams: ['127.0.0.1:53'], segments: [{ name: 'd', networks: ['0.0.0.0/0'], action: 'allow' }], http: extra }).http;

describe('readTls', () => {
  it('reads both files, or names the key and the file it cannot read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-tls-'));
    writeFileSync(join(dir, 'c.pem'), 'CERT');
    writeFileSync(join(dir, 'k.pem'), 'KEY');
    expect(await readTls(undefined, 'http')).toBeUndefined();
    const tls = await readTls({ cert_file: join(dir, 'c.pem'), key_file: join(dir, 'k.pem') }, 'api');
    expect(tls?.cert.toString()).toBe('CERT');
    const missing = readTls({ cert_file: join(dir, 'c.pem'), key_file: join(dir, 'nope.pem') }, 'api');
    await expect(missing).rejects.toBeInstanceOf(DnswardError);
    await expect(missing).rejects.toThrow(`api.tls.key_file: cannot read ${join(dir, 'nope.pem')}`);
  });
});

describe('createListenerApp', () => {
  it('applies the caps to the server: total, per client, and the header deadline', async () => {
    const config = httpConfig({ max_connections: 5, max_connections_per_client: 2, headers_timeout_ms: 1500 });
    const app = createListenerApp(config, undefined, pino({ level: 'silent' }));
    app.get('/', async () => 'ok');
    await app.listen({ host: '127.0.0.1', port: 0 });
    expect(app.server.maxConnections).toBe(5);
    expect(app.server.headersTimeout).toBe(1500);
    const port = (app.server.address() as { port: number }).port;
    const sockets = await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<Socket & { gone?: boolean }>((resolve) => {
            const s = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.44' }) as Socket & { gone?: boolean };
            s.on('close', () => (s.gone = true));
            s.on('error', () => undefined);
            s.on('connect', () => resolve(s));
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(sockets.filter((s) => s.gone)).toHaveLength(1);
    for (const s of sockets) s.destroy();
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    await app.close();
  });
});
