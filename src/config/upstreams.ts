// Upstream addresses in the config: plain DNS ("host:port": UDP, TCP when truncated), DNS over
// TLS ("tls://host[:port][#name]", RFC 7858) and DNS over HTTPS ("https://host[:port]/path[#name]",
// RFC 8484). The text after "#" is the name the upstream's certificate must carry when the host
// is an IP address (as Unbound writes it); without it the certificate must carry the host itself.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { getCACertificates } from 'node:tls';
import { z } from 'zod';
import { normalizeDomain } from '../dns/domain-name.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { parseHostPort } from '../util/address.ts';
import { systemResolvers } from '../util/resolv-conf.ts';

export type UpstreamKind = 'udp' | 'dot' | 'doh';

export interface UpstreamTarget {
  readonly kind: UpstreamKind;
  /** An IP address (udp: always), or a host name the operating system's resolver looks up. */
  readonly host: string;
  readonly port: number;
  /** 4 or 6 for an IP address, 0 for a host name. */
  readonly family: 0 | 4 | 6;
  /** DoH: the path and query of the URL. */
  readonly path: string;
  /** The TLS server name to verify (and send as SNI); absent: the host. */
  readonly serverName: string | undefined;
  /** How stats, metrics and logs name it. */
  readonly label: string;
}

const EXAMPLES = '"192.0.2.53:53" (UDP), "tls://192.0.2.53#dns.example" (DNS over TLS, port 853) or "https://dns.example/dns-query" (DNS over HTTPS)';

/** Reads one `upstreams` entry; returns an error message (with the fix) when it is not valid. */
export function parseUpstream(text: string): UpstreamTarget | string {
  const value = text.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) return plainUpstream(value);
  if (scheme === 'tls') return encryptedUpstream(value, 'dot');
  if (scheme === 'https') return encryptedUpstream(value, 'doh');
  if (scheme === 'http') return 'plain http:// would carry the queries in clear text; DNS over HTTPS needs "https://", e.g. "https://dns.example/dns-query"';
  return `unknown scheme "${scheme}://"; write ${EXAMPLES}`;
}

function plainUpstream(value: string): UpstreamTarget | string {
  const parsed = parseHostPort(value, 53);
  if (typeof parsed === 'string') return `${parsed}; write ${EXAMPLES}`;
  if (parsed.port === 0) return 'an upstream needs a real port (usually 53), e.g. "192.0.2.53:53"';
  const label = parsed.family === 6 ? `[${parsed.host}]:${parsed.port}` : `${parsed.host}:${parsed.port}`;
  return { kind: 'udp', host: parsed.host, port: parsed.port, family: parsed.family, path: '', serverName: undefined, label };
}

function encryptedUpstream(value: string, kind: 'dot' | 'doh'): UpstreamTarget | string {
  const example = kind === 'dot' ? '"tls://192.0.2.53:853#dns.example"' : '"https://192.0.2.53/dns-query#dns.example"';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `not a valid address; write e.g. ${example}`;
  }
  if (url.username !== '' || url.password !== '') return `a user name or password is not supported here; write e.g. ${example}`;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (host === '') return `the host is missing; write e.g. ${example}`;
  const family = isIP(host) as 0 | 4 | 6;
  if (family === 0 && normalizeDomain(host) === undefined) return `"${host}" is neither an IP address nor a host name; write e.g. ${example}`;
  const port = url.port === '' ? (kind === 'dot' ? 853 : 443) : Number(url.port);
  if (port === 0) return `an upstream needs a real port; write e.g. ${example}`;
  const serverName = url.hash === '' && !value.includes('#') ? undefined : decodeURIComponent(url.hash.slice(1));
  if (serverName !== undefined && (serverName === '' || isIP(serverName) !== 0 || normalizeDomain(serverName) === undefined)) {
    return `"#${serverName}" is not a host name; after "#" give the name in the upstream's certificate, e.g. ${example}`;
  }
  const hostText = family === 6 ? `[${host}]` : host;
  const suffix = serverName === undefined ? '' : `#${serverName}`;
  if (kind === 'dot') {
    if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '') return `DNS over TLS has no path or query; write e.g. ${example}`;
    return { kind, host, port, family, path: '', serverName, label: `tls://${hostText}:${port}${suffix}` };
  }
  if (url.pathname === '/' && url.search === '') return `give the DNS over HTTPS path (usually /dns-query), e.g. ${example}`;
  const path = `${url.pathname}${url.search}`;
  return { kind, host, port, family, path, serverName, label: `https://${hostText}${port === 443 ? '' : `:${port}`}${path}${suffix}` };
}

export const upstreamAddress = z.string().superRefine((value, ctx) => {
  const parsed = parseUpstream(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

/**
 * The certificates an encrypted upstream may chain to: the default ones (Node's bundled roots,
 * plus NODE_EXTRA_CA_CERTS and the system store when Node is told to use it) and, when set,
 * those of `caFile`. Undefined when no file is set: TLS then uses the default itself.
 */
export async function upstreamCertificates(caFile: string | undefined): Promise<string[] | undefined> {
  if (caFile === undefined) return undefined;
  const pem = await readFile(caFile, 'utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${caFile} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  return [...getCACertificates('default'), pem];
}

/**
 * The upstreams to use: those of the config (with the certificates of `upstream_tls.ca_file`),
 * else the nameservers of /etc/resolv.conf. Throws a config error naming the key and the fix.
 */
export async function resolveUpstreams(configured: readonly string[] | undefined, caFile: string | undefined): Promise<{ targets: UpstreamTarget[]; ca: string[] | undefined }> {
  const targets: UpstreamTarget[] = [];
  for (const [i, text] of (configured ?? []).entries()) {
    const parsed = parseUpstream(text);
    if (typeof parsed === 'string') throw new DnswardError(ErrorCodes.CONFIG, `upstreams[${i}]: "${text}" is not valid: ${parsed}`);
    targets.push(parsed);
  }
  if (configured === undefined) {
    for (const s of await systemResolvers()) targets.push(parseUpstream(s.family === 6 ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`) as UpstreamTarget);
    if (targets.length === 0) throw new DnswardError(ErrorCodes.CONFIG, 'upstreams: none configured and /etc/resolv.conf has no nameserver; add e.g. upstreams: ["192.0.2.53:53"]');
  }
  try {
    return { targets, ca: await upstreamCertificates(caFile) };
  } catch (error) {
    throw new DnswardError(ErrorCodes.CONFIG, `upstream_tls.ca_file: ${(error as Error).message}; give a readable PEM file of CA certificates, or remove the key`, { cause: error });
  }
}
