// Self-signed certificates for tests over TLS on loopback (openssl, P-256, two days).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface TestCert {
  /** PEM certificate path; also the CA to trust, since it is self-signed. */
  cert: string;
  key: string;
}

/**
 * Writes `<name>.pem` and `<name>.key` into `dir`: CN=name, subjectAltName covering 127.0.0.1,
 * ::1 and `dns.test` plus any extra DNS names (for SNI and clients that verify a host name).
 */
export function makeTestCert(dir: string, name: string, dnsNames: readonly string[] = []): TestCert {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  const san = ['IP:127.0.0.1', 'IP:::1', 'DNS:dns.test', ...dnsNames.map((n) => `DNS:${n}`)].join(',');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`, '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}
