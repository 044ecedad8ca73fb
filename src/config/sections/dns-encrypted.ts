// Config keys of `dns:` for encrypted DNS from clients: DNS over HTTPS (RFC 8484) and DNS over
// TLS (RFC 7858) listeners, their certificate, and the reverse proxies whose X-Forwarded-For
// is believed. Spread into the dns section; checkEncryptedDns() is its cross-key rule.
import { z } from 'zod';
import { cidr, listenAddress } from '../fields.ts';
import { configPath } from '../paths.ts';

/** Ports used when an encrypted listen address names none. */
export const ENCRYPTED_DEFAULT_PORTS = { doh: 443, dot: 853 } as const;

export const encryptedDnsKeys = {
  doh_listen: z
    .array(listenAddress)
    .default([])
    .describe('Addresses to serve DNS over HTTPS on (RFC 8484, path /dns-query, HTTP/2 and HTTP/1.1), e.g. "[::]:443"; port 443 when none is given; empty: off. Needs dns.tls.'),
  dot_listen: z
    .array(listenAddress)
    .default([])
    .describe('Addresses to serve DNS over TLS on (RFC 7858), e.g. "0.0.0.0:853"; port 853 when none is given; empty: off. Needs dns.tls. Same limits as DNS over TCP (dns.tcp, dns.tcp_idle_timeout_ms).'),
  doh_trusted_proxies: z
    .array(cidr)
    .default([])
    .describe('Reverse proxies in front of the DoH listener: from these addresses only, X-Forwarded-For names the client (its right-most address outside this list). Empty: the connection\'s address is the client.'),
  tls: z
    .strictObject({
      cert_file: configPath().meta({ description: 'PEM certificate chain the DoH and DoT clients must trust.', examples: ['tls/dns-fullchain.pem'] }),
      key_file: configPath().meta({ description: 'PEM private key of the certificate.', examples: ['tls/dns-privkey.pem'] }),
    })
    .optional()
    .describe('Certificate of the DoH and DoT listeners (re-read on SIGHUP and POST /api/reload); required when dns.doh_listen or dns.dot_listen is set.'),
} as const;

/** dns.tls must be there when an encrypted listener is configured. */
export function checkEncryptedDns(dns: { doh_listen: string[]; dot_listen: string[]; tls?: unknown }, ctx: z.core.$RefinementCtx): void {
  if (dns.tls !== undefined) return;
  const using = [dns.doh_listen.length > 0 ? 'dns.doh_listen' : '', dns.dot_listen.length > 0 ? 'dns.dot_listen' : ''].filter((k) => k !== '');
  if (using.length === 0) return;
  ctx.addIssue({
    code: 'custom',
    path: ['tls'],
    message: `${using.join(' and ')} ${using.length > 1 ? 'need' : 'needs'} a certificate: add dns.tls: { cert_file, key_file } (PEM files the clients trust), or remove ${using.join(' and ')}`,
  });
}
