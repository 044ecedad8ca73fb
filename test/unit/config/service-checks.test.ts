// The checks `serve` and `config check` run on a config about to be served. Each case below
// is a config the schema accepts that would silently do the wrong thing.
import { describe, expect, it } from 'vitest';
import { checkConfigText, parseConfig } from '../../../src/config/load.ts';
import { IMPLICIT_SEGMENT, MIN_TOKEN_LENGTH, serviceFindings } from '../../../src/config/service-checks.ts';
import { DnswardError, ErrorCodes } from '../../../src/errors.ts';
import { IMPLICIT_DEFAULT_SEGMENT } from '../../../src/policy/segments.ts';

const CATCH_ALL = '  - { name: default, networks: ["0.0.0.0/0", "::/0"], action: allow }\n';
const GOOD_TOKEN = 'x'.repeat(MIN_TOKEN_LENGTH);

/** The service-check errors for `text` ([] when it is served as is), and the warnings. */
function check(text: string, env: NodeJS.ProcessEnv = {}): { errors: string[]; warnings: string[] } {
  try {
    return { errors: [], warnings: checkConfigText(text, 'my.yaml', { service: { env } }).warnings };
  } catch (error) {
    expect(error).toBeInstanceOf(DnswardError);
    expect((error as DnswardError).code).toBe(ErrorCodes.CONFIG);
    return { errors: (error as Error).message.split('\n'), warnings: [] };
  }
}

describe('service checks: token_env', () => {
  const config = `segments:\n${CATCH_ALL}auth:\n  tokens:\n    - { name: audit-team, role: auditor, token_env: DNSWARD_AUDIT_TOKEN }\n`;

  it('refuses a token_env that names an unset or empty variable', () => {
    const expected = 'my.yaml: auth.tokens[0].token_env: environment variable DNSWARD_AUDIT_TOKEN (token "audit-team") is not set; set it before starting dnsward (a token needs at least 24 characters, e.g. from "openssl rand -hex 24"), or remove the token';
    expect(check(config).errors).toEqual([expected]);
    expect(check(config, { DNSWARD_AUDIT_TOKEN: '' }).errors).toEqual([expected]);
  });

  it('refuses a variable holding a short token, without showing it', () => {
    const errors = check(config, { DNSWARD_AUDIT_TOKEN: 'hunter2-hunter2' }).errors;
    expect(errors).toEqual(['my.yaml: auth.tokens[0].token_env: environment variable DNSWARD_AUDIT_TOKEN (token "audit-team") has 15 characters; a token needs at least 24 characters, e.g. from "openssl rand -hex 24"']);
    expect(errors.join()).not.toContain('hunter2');
  });

  it('accepts a set variable with a long enough token', () => {
    expect(check(config, { DNSWARD_AUDIT_TOKEN: GOOD_TOKEN })).toEqual({ errors: [], warnings: [] });
  });

  it('is not checked by plain parsing (tests, audit export, lists build)', () => {
    expect(parseConfig(config).auth.tokens).toHaveLength(1);
  });
});

describe('service checks: inline tokens', () => {
  it(`refuses a token shorter than ${MIN_TOKEN_LENGTH} characters, without showing it`, () => {
    const errors = check(`segments:\n${CATCH_ALL}auth:\n  tokens:\n    - { name: t, role: admin, token: "s3cr3t-but-short" }\n`).errors;
    expect(errors).toEqual(['my.yaml: auth.tokens[0].token: token "t" has 16 characters; a token needs at least 24 characters, e.g. from "openssl rand -hex 24" (better kept in an environment variable named by token_env)']);
    expect(errors.join()).not.toContain('s3cr3t');
    expect(check(`segments:\n${CATCH_ALL}auth:\n  tokens:\n    - { name: t, role: admin, token: "${GOOD_TOKEN}" }\n`).errors).toEqual([]);
  });
});

describe('service checks: segments outside dns.allow', () => {
  it('refuses a segment network no allowed network touches: every client in it would get REFUSED', () => {
    const text = `dns:\n  allow: ["127.0.0.0/8", "10.0.0.0/8", "::1/128"]\nsegments:\n  - { name: service, networks: ["10.10.0.0/16", "fd00:10::/48"], action: block, lists: [tiktok] }\n${CATCH_ALL}`;
    expect(check(text).errors).toEqual(['my.yaml: segments[0].networks[1]: "fd00:10::/48" (segment service) is outside dns.allow, so every client in it gets REFUSED; add it to dns.allow']);
    expect(check(text.replace('"::1/128"', '"::1/128", "fd00::/8"')).errors).toEqual([]);
  });

  it('accepts a segment partly inside allow, and a catch-all whose family allow does not name', () => {
    expect(check(`dns:\n  allow: ["10.10.0.0/16"]\nsegments:\n  - { name: wide, networks: ["10.0.0.0/8"], action: allow }\n${CATCH_ALL}`).errors).toEqual([]);
  });
});

describe('service checks: open resolver', () => {
  const open = (listen: string, allow: string, extra = ''): string => `dns:\n  listen: ["${listen}"]\n  allow: [${allow}]\n${extra}segments:\n${CATCH_ALL}`;

  it('refuses a listener other hosts reach when allow covers every address', () => {
    expect(check(open('0.0.0.0:53', '"0.0.0.0/0"')).errors).toEqual([
      'my.yaml: dns.allow: lets every IPv4 address on the Internet query "0.0.0.0:53": an open resolver, which attackers use for DNS amplification; list your client networks in dns.allow, or set dns.open_resolver: true if that is what you want',
    ]);
    expect(check(open('[::]:53', '"::/0"')).errors[0]).toContain('lets every IPv6 address on the Internet query "[::]:53"');
    expect(check(open('192.0.2.1:53', '"0.0.0.0/1", "128.0.0.0/1"')).errors[0]).toContain('an open resolver');
  });

  it('accepts it on loopback, for the other family only, with restricted allow, or when open_resolver says so', () => {
    expect(check(open('127.0.0.1:53', '"0.0.0.0/0"')).errors).toEqual([]);
    expect(check(open('[::1]:53', '"::/0"')).errors).toEqual([]);
    expect(check(open('192.0.2.1:53', '"::/0", "10.0.0.0/8"')).errors).toEqual([]);
    expect(check(open('0.0.0.0:53', '"10.0.0.0/8"')).errors).toEqual([]);
    expect(check(open('0.0.0.0:53', '"0.0.0.0/0"', '  open_resolver: true\n')).errors).toEqual([]);
  });

  it('refuses an open DoH or DoT listener too, even when the plain listener is on loopback', () => {
    const tls = '  tls: { cert_file: dns.pem, key_file: dns.key }\n';
    expect(check(open('127.0.0.1:53', '"0.0.0.0/0"', `  doh_listen: ["0.0.0.0:443"]\n${tls}`)).errors).toEqual([
      'my.yaml: dns.allow: lets every IPv4 address on the Internet query "0.0.0.0:443": an open DNS-over-HTTPS resolver for anyone; list your client networks in dns.allow, or set dns.open_resolver: true if that is what you want',
    ]);
    expect(check(open('127.0.0.1:53', '"::/0"', `  dot_listen: ["[::]:853"]\n${tls}`)).errors[0]).toContain('query "[::]:853": an open DNS-over-TLS resolver');
    expect(check(open('127.0.0.1:53', '"10.0.0.0/8"', `  doh_listen: ["0.0.0.0:443"]\n  dot_listen: ["0.0.0.0:853"]\n${tls}`)).errors).toEqual([]);
  });
});

describe('service checks: pseudonym secret from the environment', () => {
  const text = `segments:\n  - { name: p, networks: ["0.0.0.0/0", "::/0"], action: log, lists: [tiktok], pseudonymize: true }\naudit:\n  pseudonym_secret_env: DNSWARD_PSEUDONYM_SECRET\n`;

  it('refuses an unset variable when a segment pseudonymises', () => {
    expect(check(text).errors).toEqual([
      'my.yaml: audit.pseudonym_secret_env: environment variable DNSWARD_PSEUDONYM_SECRET is not set; set it (e.g. to the output of "openssl rand -hex 32") or remove the key to use audit.pseudonym_secret_file',
    ]);
    expect(check(text, { DNSWARD_PSEUDONYM_SECRET: 'ab'.repeat(32) }).errors).toEqual([]);
    expect(check(text.replace('pseudonymize: true', 'pseudonymize: false')).errors).toEqual([]);
  });
});

describe('service checks: tokens over plain HTTP', () => {
  const withApi = (api: string): string => `segments:\n${CATCH_ALL}auth:\n  tokens:\n    - { name: t, role: auditor, token: "${GOOD_TOKEN}" }\napi: ${api}\n`;

  it('refuses a private listener off loopback without TLS when tokens are configured', () => {
    expect(check(withApi('{ listen: "0.0.0.0:8054" }')).errors).toEqual([
      'my.yaml: api.listen: "0.0.0.0:8054" is reachable from other hosts over plain HTTP, so auth.tokens would travel in clear text; add api.tls: { cert_file, key_file }, listen on loopback behind a TLS proxy, or set api.plain_http_tokens: true if the network is trusted',
    ]);
  });

  it('accepts loopback, TLS, or the explicit opt-in', () => {
    expect(check(withApi('{ listen: "127.0.0.1:8054" }')).errors).toEqual([]);
    expect(check(withApi('{ listen: "[::1]:8054" }')).errors).toEqual([]);
    expect(check(withApi('{ listen: "0.0.0.0:8054", tls: { cert_file: c.pem, key_file: k.pem } }')).errors).toEqual([]);
    expect(check(withApi('{ listen: "0.0.0.0:8054", plain_http_tokens: true }')).errors).toEqual([]);
  });
});

describe('service checks: clients in no segment', () => {
  it('warns, naming the implicit default segment, when allowed clients are in no segment', () => {
    const { errors, warnings } = check(`dns:\n  allow: ["127.0.0.0/8", "::1/128"]\nsegments:\n  - { name: local, networks: ["127.0.0.1/32"], action: block, lists: [tiktok] }\n`);
    expect(errors).toEqual([]);
    expect(warnings).toEqual([
      'my.yaml: warning: segments: no segment contains 127.0.0.0 (allowed by dns.allow "127.0.0.0/8"); such clients get the implicit segment "default" (action allow, no lists). Add a catch-all segment to say so, e.g. { name: default, networks: ["0.0.0.0/0", "::/0"], action: allow }',
      'my.yaml: warning: segments: no segment contains ::1 (allowed by dns.allow "::1/128"); such clients get the implicit segment "default" (action allow, no lists). Add a catch-all segment to say so, e.g. { name: default, networks: ["0.0.0.0/0", "::/0"], action: allow }',
    ]);
  });

  it('is quiet when the segments cover every allowed client, with or without a catch-all', () => {
    expect(check(`segments:\n${CATCH_ALL}`).warnings).toEqual([]);
    expect(check('dns:\n  allow: ["10.0.0.0/8"]\nsegments:\n  - { name: a, networks: ["10.0.0.0/9", "10.128.0.0/9"], action: allow }\n').warnings).toEqual([]);
  });

  it('names the segment the resolver really gives such clients', () => {
    const implicit = IMPLICIT_DEFAULT_SEGMENT;
    expect({ name: implicit.name, action: implicit.action }).toEqual(IMPLICIT_SEGMENT);
  });
});

describe('serviceFindings', () => {
  it('collects every problem at once', () => {
    const config = parseConfig(
      `dns:\n  listen: ["0.0.0.0:53"]\n  allow: ["0.0.0.0/0"]\nsegments:\n  - { name: s, networks: ["fd00::/8"], action: allow }\nauth:\n  tokens: [{ name: t, role: admin, token_env: NOPE }, { name: u, role: admin, token: short }]\n`,
    );
    const findings = serviceFindings(config, {});
    expect(findings.errors.map((e) => e.split(':')[0])).toEqual(['segments[0].networks[0]', 'dns.allow', 'auth.tokens[0].token_env', 'auth.tokens[1].token']);
    expect(findings.warnings).toHaveLength(1);
  });
});
