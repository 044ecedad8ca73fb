import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../src/config/load.ts';

const base = (dns: string) => `dns:\n${dns}\nupstreams: ["192.0.2.53:53"]\nsegments: [{ name: d, networks: ["0.0.0.0/0"], action: allow }]\n`;

describe('dns: encrypted listener keys', () => {
  it('are off by default', () => {
    const config = parseConfig(base('  listen: ["127.0.0.1:53"]'));
    expect(config.dns).toMatchObject({ doh_listen: [], dot_listen: [], doh_trusted_proxies: [] });
    expect(config.dns.tls).toBeUndefined();
  });

  it('take lists of addresses, proxies as networks, and a certificate whose paths resolve against the config file', () => {
    const config = parseConfig(
      base('  doh_listen: ["[::1]:8443", "127.0.0.1"]\n  dot_listen: ["127.0.0.1:853"]\n  doh_trusted_proxies: ["10.0.0.0/8"]\n  tls: { cert_file: tls/c.pem, key_file: /etc/k.pem }'),
      'dnsward.yaml',
      { baseDir: '/etc/dnsward' },
    );
    expect(config.dns.doh_listen).toEqual(['[::1]:8443', '127.0.0.1']);
    expect(config.dns.tls).toEqual({ cert_file: '/etc/dnsward/tls/c.pem', key_file: '/etc/k.pem' });
  });

  it('refuse a DoH or DoT listener without dns.tls, naming the key and the fix', () => {
    expect(() => parseConfig(base('  doh_listen: ["127.0.0.1:443"]'), 'dnsward.yaml')).toThrow(/dnsward\.yaml: dns\.tls: .*dns\.doh_listen needs a certificate: add dns\.tls: \{ cert_file, key_file \}/);
    expect(() => parseConfig(base('  dot_listen: ["127.0.0.1:853"]'))).toThrow(/dns\.tls: .*dns\.dot_listen need/);
  });

  it('refuse bad addresses and networks', () => {
    expect(() => parseConfig(base('  dot_listen: ["dns.example:853"]'))).toThrow(/dns\.dot_listen\[0\]/);
    expect(() => parseConfig(base('  doh_trusted_proxies: ["10.0.0.1/8"]'))).toThrow(/dns\.doh_trusted_proxies\[0\].*host bits/);
  });
});
