import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.ts';
import { DESCRIPTORS_PER_DNS_WORKER, DESCRIPTORS_PER_DOH_UPSTREAM, DESCRIPTORS_PER_DOT_UPSTREAM, descriptorLimit, encryptedUpstreamDescriptors, fitConnectionLimits, RESERVED_DESCRIPTORS } from '../../../src/replica/fd-budget.ts';

const config = (extra: Record<string, unknown> = {}) =>
  configSchema.parse({ dns: { listen: ['127.0.0.1:53', '[::1]:53'] }, upstreams: ['127.0.0.1:53'], segments: [{ name: 'd', networks: ['0.0.0.0/0'], action: 'allow' }], ...extra });

describe('descriptorLimit', () => {
  it('reads the soft "Max open files" limit of /proc/self/limits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-limits-'));
    const file = join(dir, 'limits');
    writeFileSync(file, 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 524288               files     \n');
    expect(descriptorLimit(file)).toBe(1024);
    writeFileSync(file, 'Max open files            unlimited            unlimited            files     \n');
    expect(descriptorLimit(file)).toBeUndefined();
    expect(descriptorLimit(join(dir, 'missing'))).toBeUndefined();
  });

  it('reads this process\'s own limit on Linux', () => {
    expect(descriptorLimit()).toBeGreaterThan(0);
  });
});

describe('fitConnectionLimits', () => {
  it('leaves caps that fit alone', () => {
    const c = config();
    expect(fitConnectionLimits(c, 1_000_000)).toEqual({ config: c });
    expect(fitConnectionLimits(c, undefined)).toEqual({ config: c });
  });

  it('scales every cap down together so they fit the limit minus the reserve, and says what it did', () => {
    const c = config();
    const fitted = fitConnectionLimits(c, 1024);
    const n = fitted.config;
    // Two DNS addresses, each with its own TCP cap.
    const total = n.dns.tcp.max_connections * 2 + n.http.max_connections + n.api.max_connections;
    expect(total).toBeLessThanOrEqual(1024 - RESERVED_DESCRIPTORS);
    expect(n.http.max_connections).toBeLessThan(c.http.max_connections);
    expect(n.dns.tcp.max_connections).toBeLessThan(c.dns.tcp.max_connections);
    expect(fitted.scaled).toMatchObject({ limit: 1024, budget: 1024 - RESERVED_DESCRIPTORS, before: { 'dns.tcp.max_connections': 1024 } });
  });

  it('counts the DoH and DoT listeners with the DNS-over-TCP ones: each takes dns.tcp.max_connections', () => {
    const tls = { cert_file: '/x.pem', key_file: '/x.key' };
    const c = config({ dns: { listen: ['127.0.0.1:53'], doh_listen: ['127.0.0.1:443'], dot_listen: ['127.0.0.1:853'], tls }, http: { enabled: false }, api: { enabled: false } });
    // Three listeners of 1,024 do not fit 2,100 descriptors; each gets a third.
    const n = fitConnectionLimits(c, RESERVED_DESCRIPTORS + 2100).config;
    expect(n.dns.tcp.max_connections * 3).toBeLessThanOrEqual(2100);
    expect(n.dns.tcp.max_connections).toBe(700);
  });

  it('counts only enabled HTTP listeners, and never goes below one connection', () => {
    const off = fitConnectionLimits(config({ http: { enabled: false }, api: { enabled: false } }), RESERVED_DESCRIPTORS + 20).config;
    expect(off.dns.tcp.max_connections).toBeLessThanOrEqual(10);
    const tiny = fitConnectionLimits(config(), 10).config;
    expect(Math.min(tiny.dns.tcp.max_connections, tiny.http.max_connections, tiny.api.max_connections)).toBeGreaterThanOrEqual(1);
  });

  it('keeps descriptors for each DNS worker thread (its own upstream sockets) when dns.workers > 1', () => {
    const c = config();
    expect(fitConnectionLimits(c, 2048, 1).scaled?.budget).toBe(2048 - RESERVED_DESCRIPTORS);
    const fitted = fitConnectionLimits(c, 2048, 4);
    expect(fitted.scaled?.budget).toBe(2048 - RESERVED_DESCRIPTORS - 4 * DESCRIPTORS_PER_DNS_WORKER);
    const n = fitted.config;
    expect(n.dns.tcp.max_connections * 2 + n.http.max_connections + n.api.max_connections).toBeLessThanOrEqual(2048 - RESERVED_DESCRIPTORS - 4 * DESCRIPTORS_PER_DNS_WORKER);
  });

  it('keeps descriptors for the encrypted upstreams\' connections, on every thread that resolves', () => {
    const upstreams = ['tls://127.0.0.1:853', 'https://127.0.0.1/dns-query', '127.0.0.1:53'];
    const perThread = DESCRIPTORS_PER_DOT_UPSTREAM + DESCRIPTORS_PER_DOH_UPSTREAM;
    expect(encryptedUpstreamDescriptors(upstreams)).toBe(perThread);
    expect(encryptedUpstreamDescriptors(['127.0.0.1:53'])).toBe(0);
    const c = config({ upstreams });
    expect(fitConnectionLimits(c, 2048, 1).scaled?.budget).toBe(2048 - RESERVED_DESCRIPTORS - perThread);
    // Two workers and the main thread each hold their own connections.
    expect(fitConnectionLimits(c, 2048, 2).scaled?.budget).toBe(2048 - RESERVED_DESCRIPTORS - 2 * DESCRIPTORS_PER_DNS_WORKER - 3 * perThread);
  });
});
