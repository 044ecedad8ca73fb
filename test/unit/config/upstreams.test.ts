import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCACertificates } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { parseUpstream, resolveUpstreams, upstreamAddress, upstreamCertificates } from '../../../src/config/upstreams.ts';
import { makeTestCert } from '../../helpers/tls-certs.ts';

const MINIMAL = 'segments:\n  - { name: all, networks: ["0.0.0.0/0", "::/0"], action: allow }\n';

function configError(text: string): string {
  try {
    parseConfig(text, 'test.yaml');
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('config was accepted');
}

describe('parseUpstream', () => {
  it('reads plain upstreams as UDP, as before', () => {
    expect(parseUpstream('192.0.2.53:53')).toEqual({ kind: 'udp', host: '192.0.2.53', port: 53, family: 4, path: '', serverName: undefined, label: '192.0.2.53:53' });
    expect(parseUpstream('[2001:db8::53]:5353')).toMatchObject({ kind: 'udp', host: '2001:db8::53', port: 5353, family: 6, label: '[2001:db8::53]:5353' });
    expect(parseUpstream('192.0.2.53')).toMatchObject({ kind: 'udp', port: 53 });
  });

  it('reads DNS over TLS: port 853 by default, the certificate name after "#"', () => {
    expect(parseUpstream('tls://192.0.2.1')).toEqual({ kind: 'dot', host: '192.0.2.1', port: 853, family: 4, path: '', serverName: undefined, label: 'tls://192.0.2.1:853' });
    expect(parseUpstream('tls://192.0.2.1:8853#dns.example')).toMatchObject({ kind: 'dot', port: 8853, serverName: 'dns.example', label: 'tls://192.0.2.1:8853#dns.example' });
    expect(parseUpstream('tls://[2001:db8::1]#dns.example')).toMatchObject({ kind: 'dot', host: '2001:db8::1', family: 6, port: 853, label: 'tls://[2001:db8::1]:853#dns.example' });
    expect(parseUpstream('tls://dns.example')).toMatchObject({ kind: 'dot', host: 'dns.example', family: 0, serverName: undefined });
  });

  it('reads DNS over HTTPS: port 443 by default, path and query kept', () => {
    expect(parseUpstream('https://dns.example/dns-query')).toEqual({
      kind: 'doh',
      host: 'dns.example',
      port: 443,
      family: 0,
      path: '/dns-query',
      serverName: undefined,
      label: 'https://dns.example/dns-query',
    });
    expect(parseUpstream('https://192.0.2.1:8443/q?x=1#dns.example')).toMatchObject({ kind: 'doh', host: '192.0.2.1', port: 8443, path: '/q?x=1', serverName: 'dns.example', label: 'https://192.0.2.1:8443/q?x=1#dns.example' });
    expect(parseUpstream('https://[::1]:8443/dns-query')).toMatchObject({ host: '::1', family: 6, label: 'https://[::1]:8443/dns-query' });
  });

  it('refuses what it cannot use, and says what to write', () => {
    expect(parseUpstream('quic://192.0.2.1')).toContain('unknown scheme "quic://"; write "192.0.2.53:53" (UDP), "tls://');
    expect(parseUpstream('http://192.0.2.1/dns-query')).toContain('clear text; DNS over HTTPS needs "https://"');
    expect(parseUpstream('https://192.0.2.1')).toContain('give the DNS over HTTPS path (usually /dns-query)');
    expect(parseUpstream('tls://192.0.2.1/x')).toContain('DNS over TLS has no path');
    expect(parseUpstream('tls://192.0.2.1#192.0.2.2')).toContain('is not a host name; after "#" give the name in the upstream\'s certificate');
    expect(parseUpstream('tls://192.0.2.1#')).toContain('after "#" give the name');
    expect(parseUpstream('https://user:pw@dns.example/dns-query')).toContain('a user name or password is not supported');
    expect(parseUpstream('tls://192.0.2.1:0')).toContain('needs a real port');
    expect(parseUpstream('192.0.2.1:0')).toContain('needs a real port');
    expect(parseUpstream('dns.example:53')).toContain('is not an IP address');
    expect(parseUpstream('tls://bad_host!')).toContain('"bad_host!" is neither an IP address nor a host name');
    expect(parseUpstream('https://[zz]/dns-query')).toContain('not a valid address');
  });
});

describe('upstreams in the config', () => {
  it('accepts every form in one list', () => {
    const config = parseConfig(`${MINIMAL}upstreams: ["192.0.2.53:53", "tls://192.0.2.1#dns.example", "https://dns.example/dns-query"]\n`, 'test.yaml');
    expect(config.upstreams).toHaveLength(3);
    expect(upstreamAddress.safeParse('tls://192.0.2.1').success).toBe(true);
  });

  it('names the key and the fix for a bad one', () => {
    expect(configError(`${MINIMAL}upstreams: ["192.0.2.53:53", "http://192.0.2.1/dns-query"]\n`)).toContain('upstreams[1]: "http://192.0.2.1/dns-query" is not valid: plain http://');
    expect(configError(`${MINIMAL}upstream_tls: { ca: x }\n`)).toContain('upstream_tls');
  });

  it('resolves relative ca_file paths against the config file', () => {
    const config = parseConfig(`${MINIMAL}upstream_tls: { ca_file: tls/ca.pem }\n`, 'test.yaml', { baseDir: '/etc/dnsward' });
    expect(config.upstream_tls?.ca_file).toBe('/etc/dnsward/tls/ca.pem');
  });
});

describe('resolveUpstreams', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-upstreams-'));

  it('adds the ca_file certificate to the default roots; none set: TLS defaults', async () => {
    const cert = makeTestCert(dir, 'ca');
    const ca = await upstreamCertificates(cert.cert);
    expect(ca).toHaveLength(getCACertificates('default').length + 1);
    expect(ca?.at(-1)).toContain('-----BEGIN CERTIFICATE-----');
    expect(await upstreamCertificates(undefined)).toBeUndefined();
    const { targets } = await resolveUpstreams(['tls://127.0.0.1:853', '127.0.0.1:53'], cert.cert);
    expect(targets.map((t) => t.kind)).toEqual(['dot', 'udp']);
  });

  it('refuses a ca_file that cannot be read or holds no certificate, naming the key', async () => {
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello\n');
    await expect(resolveUpstreams(['127.0.0.1:53'], join(dir, 'missing.pem'))).rejects.toThrow(/upstream_tls\.ca_file: .*ENOENT.*give a readable PEM file/);
    await expect(resolveUpstreams(['127.0.0.1:53'], notPem)).rejects.toThrow(/upstream_tls\.ca_file: .*holds no PEM certificate/);
  });

  it('without configured upstreams, uses the system resolvers as UDP upstreams', async () => {
    const { targets } = await resolveUpstreams(undefined, undefined).catch(() => ({ targets: [] }));
    for (const t of targets) expect(t.kind).toBe('udp');
  });
});
