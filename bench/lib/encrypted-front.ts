// `--encrypted-upstreams`: one unbound in front of the bench upstream that answers plain DNS,
// DNS over TLS and DNS over HTTPS (its own self-signed certificate), so dnsward can be run
// three times against it, once per upstream transport, and the cost of each compared on the
// same path. It forwards everything to the bench upstream; the miss mix never hits its cache.
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitForAnswer } from './probe.ts';
import { freePort, type Managed, startProcess } from './procs.ts';
import { BENCH_ZONE } from './querygen.ts';
import { UNBOUND } from './servers.ts';

export interface EncryptedFront {
  proc: Managed;
  /** The three ways to reach it, as dnsward's `upstreams` entries. */
  upstreams: { udp: string; dot: string; doh: string };
  /** Its certificate, for dnsward's upstream_tls.ca_file. */
  caFile: string;
  describe: string;
}

export async function startEncryptedFront(dir: string, upstreamPort: number, threads: number): Promise<EncryptedFront> {
  const [port, tlsPort, httpsPort] = [await freePort(), await freePort(), await freePort()];
  const cert = join(dir, 'front.pem');
  const key = join(dir, 'front.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=front', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const conf = [
    'server:',
    '  verbosity: 0',
    `  interface: 127.0.0.1@${port}`,
    `  interface: 127.0.0.1@${tlsPort}`,
    `  interface: 127.0.0.1@${httpsPort}`,
    `  tls-port: ${tlsPort}`,
    `  https-port: ${httpsPort}`,
    '  http-endpoint: "/dns-query"',
    `  tls-service-key: "${key}"`,
    `  tls-service-pem: "${cert}"`,
    '  do-ip6: no',
    '  do-daemonize: no',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    `  pidfile: "${join(dir, 'unbound-front.pid')}"`,
    '  use-syslog: no',
    '  logfile: ""',
    `  num-threads: ${threads}`,
    '  module-config: "iterator"',
    '  access-control: 127.0.0.0/8 allow',
    '  outgoing-interface: 127.0.0.1',
    '  do-not-query-localhost: no',
    '  qname-minimisation: no',
    '  local-zone: "test." nodefault',
    // dnsward pipelines many queries on one connection: let them all in.
    '  incoming-num-tcp: 1000',
    '  http-max-streams: 1000',
    'remote-control:',
    '  control-enable: no',
    'forward-zone:',
    '  name: "."',
    `  forward-addr: 127.0.0.1@${upstreamPort}`,
    '',
  ].join('\n');
  const configFile = join(dir, 'unbound-front.conf');
  await writeFile(configFile, conf);
  const proc = startProcess('unbound-front', UNBOUND, ['-d', '-c', configFile], { role: 'load' });
  await waitForAnswer(port, `ready.${BENCH_ZONE}`, 'NOERROR', 10_000, () => proc.exitCode() === undefined).catch((error: Error) => {
    throw new Error(`the encrypted front (unbound) did not come up: ${error.message}\n${proc.tail()}`, { cause: error });
  });
  return {
    proc,
    upstreams: { udp: `127.0.0.1:${port}`, dot: `tls://127.0.0.1:${tlsPort}`, doh: `https://127.0.0.1:${httpsPort}/dns-query` },
    caFile: cert,
    describe: `unbound -d -c unbound-front.conf (UDP ${port}, DoT ${tlsPort}, DoH ${httpsPort} /dns-query, num-threads ${threads}, forwarding to the upstream)`,
  };
}
