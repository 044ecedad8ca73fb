// The checks of a config about to be served, which `serve` and `config check` both run after
// the schema: configs the schema accepts that would silently do the wrong thing. Errors stop
// the service; warnings are printed and it runs. Secrets are never part of a message.
import { IMPLICIT_DEFAULT_SEGMENT } from '../policy/segments.ts';
import { parseHostPort } from '../util/address.ts';
import { ENCRYPTED_DEFAULT_PORTS } from './sections/dns-encrypted.ts';
import { coversFamily, firstUncovered, formatAddress, overlaps, rangesOf } from './networks.ts';
import type { Config } from './schema.ts';

export interface Findings {
  errors: string[];
  warnings: string[];
}

/** Shorter tokens can be guessed or brute-forced against the API. */
export const MIN_TOKEN_LENGTH = 24;

/** What a client in no segment gets. */
export const IMPLICIT_SEGMENT = { name: IMPLICIT_DEFAULT_SEGMENT.name, action: IMPLICIT_DEFAULT_SEGMENT.action } as const;

const CATCH_ALL_EXAMPLE = '{ name: default, networks: ["0.0.0.0/0", "::/0"], action: allow }';

export function serviceFindings(config: Config, env: NodeJS.ProcessEnv): Findings {
  return {
    errors: [...segmentsOutsideAllow(config), ...openResolver(config), ...tokenProblems(config, env), ...plainHttpTokens(config), ...pseudonymSecretProblems(config, env)],
    warnings: uncoveredClients(config),
  };
}

/** A segment network that no allowed network touches: every client in it is REFUSED. */
function segmentsOutsideAllow(config: Config): string[] {
  const allow = rangesOf(config.dns.allow);
  const problems: string[] = [];
  config.segments.forEach((segment, i) => {
    segment.networks.forEach((network, j) => {
      const [range] = rangesOf([network]);
      // A /0 is the catch-all for "everyone else" of its family, not a network of clients.
      if (range === undefined || coversFamily(range.family, [range])) return;
      if (!allow.some((a) => overlaps(a, range))) {
        problems.push(`segments[${i}].networks[${j}]: "${network}" (segment ${segment.name}) is outside dns.allow, so every client in it gets REFUSED; add it to dns.allow`);
      }
    });
  });
  return problems;
}

/** A listener reachable from other hosts whose allow lets the whole Internet query. */
function openResolver(config: Config): string[] {
  if (config.dns.open_resolver) return [];
  const allow = rangesOf(config.dns.allow);
  // DoH and DoT answer the same pipeline and the same dns.allow: an open one is an open resolver too
  // (not an amplifier, since they run over TCP, but a free filtering resolver for the Internet).
  const listeners: { port: number; addresses: readonly string[]; why: string }[] = [
    { port: 53, addresses: config.dns.listen, why: 'an open resolver, which attackers use for DNS amplification' },
    { port: ENCRYPTED_DEFAULT_PORTS.doh, addresses: config.dns.doh_listen, why: 'an open DNS-over-HTTPS resolver for anyone' },
    { port: ENCRYPTED_DEFAULT_PORTS.dot, addresses: config.dns.dot_listen, why: 'an open DNS-over-TLS resolver for anyone' },
  ];
  const problems: string[] = [];
  for (const { port, addresses, why } of listeners) {
    for (const listen of addresses) {
      const address = parseHostPort(listen, port);
      if (typeof address === 'string' || isLoopback(address.host)) continue;
      // "::" also takes IPv4 clients (as IPv4-mapped addresses); a specific address only its own family.
      const families: (4 | 6)[] = address.host === '::' ? [4, 6] : address.host.includes(':') ? [6] : [4];
      const open = families.filter((family) => coversFamily(family, allow));
      if (open.length > 0) {
        const who = open.map((f) => `IPv${f}`).join(' and ');
        problems.push(`dns.allow: lets every ${who} address on the Internet query "${listen}": ${why}; list your client networks in dns.allow, or set dns.open_resolver: true if that is what you want`);
        break;
      }
    }
  }
  return problems;
}

/** Bearer tokens must not cross a network in clear text: a private listener off loopback needs TLS (or an explicit opt-in). */
function plainHttpTokens(config: Config): string[] {
  const api = config.api;
  if (!api.enabled || api.tls !== undefined || api.plain_http_tokens || config.auth.tokens.length === 0) return [];
  const address = parseHostPort(api.listen, 8054);
  if (typeof address === 'string' || isLoopback(address.host)) return [];
  return [
    `api.listen: "${api.listen}" is reachable from other hosts over plain HTTP, so auth.tokens would travel in clear text; add api.tls: { cert_file, key_file }, listen on loopback behind a TLS proxy, or set api.plain_http_tokens: true if the network is trusted`,
  ];
}

function isLoopback(host: string): boolean {
  return host === '::1' || /^127\./.test(host) || host === 'localhost';
}

function tokenProblems(config: Config, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const advice = `a token needs at least ${MIN_TOKEN_LENGTH} characters, e.g. from "openssl rand -hex 24"`;
  config.auth.tokens.forEach((token, i) => {
    const key = `auth.tokens[${i}]`;
    if (token.token !== undefined && token.token.length < MIN_TOKEN_LENGTH) {
      problems.push(`${key}.token: token "${token.name}" has ${token.token.length} characters; ${advice} (better kept in an environment variable named by token_env)`);
    }
    if (token.token_env !== undefined) {
      const value = env[token.token_env];
      if (value === undefined || value === '') {
        problems.push(`${key}.token_env: environment variable ${token.token_env} (token "${token.name}") is not set; set it before starting dnsward (${advice}), or remove the token`);
      } else if (value.length < MIN_TOKEN_LENGTH) {
        problems.push(`${key}.token_env: environment variable ${token.token_env} (token "${token.name}") has ${value.length} characters; ${advice}`);
      }
    }
  });
  return problems;
}

function pseudonymSecretProblems(config: Config, env: NodeJS.ProcessEnv): string[] {
  const name = config.audit.pseudonym_secret_env;
  if (name === undefined || !config.audit.enabled || !config.segments.some((s) => s.pseudonymize)) return [];
  const value = env[name];
  if (value !== undefined && value !== '') return [];
  return [`audit.pseudonym_secret_env: environment variable ${name} is not set; set it (e.g. to the output of "openssl rand -hex 32") or remove the key to use audit.pseudonym_secret_file`];
}

/** Allowed clients that no segment network contains: they get the implicit default segment. */
function uncoveredClients(config: Config): string[] {
  const segmentRanges = rangesOf(config.segments.flatMap((s) => s.networks));
  const warnings: string[] = [];
  for (const allowed of rangesOf(config.dns.allow)) {
    const gap = firstUncovered(allowed, segmentRanges);
    if (gap === undefined) continue;
    warnings.push(
      `segments: no segment contains ${formatAddress(allowed.family, gap)} (allowed by dns.allow "${allowed.text}"); such clients get the implicit segment "${IMPLICIT_SEGMENT.name}" (action ${IMPLICIT_SEGMENT.action}, no lists). Add a catch-all segment to say so, e.g. ${CATCH_ALL_EXAMPLE}`,
    );
  }
  return warnings;
}
