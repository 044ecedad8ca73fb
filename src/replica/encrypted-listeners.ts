// The encrypted DNS listeners of a replica: DNS over HTTPS on every dns.doh_listen address and
// DNS over TLS on every dns.dot_listen address, one certificate (dns.tls) for all, swapped in
// place on reload. Both take the DNS-over-TCP limits (dns.tcp, dns.tcp_idle_timeout_ms).
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { ENCRYPTED_DEFAULT_PORTS } from '../config/sections/dns-encrypted.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { readTls, type TlsMaterial } from '../http/listener.ts';
import type { MessageHandler } from '../pipeline/context.ts';
import { DohListener } from '../server/doh-listener.ts';
import { TcpListener } from '../server/tcp-listener.ts';
import { type HostPort, parseHostPort } from '../util/address.ts';
import { type BoundAddress, listenError, tcpLimitsOf } from './dns-listeners.ts';

export interface EncryptedListeners {
  readonly doh: readonly BoundAddress[];
  readonly dot: readonly BoundAddress[];
  /** Installs a new certificate and key: new connections use it, open ones keep theirs. */
  swapTls(material: TlsMaterial): void;
  close(): Promise<void>;
}

/** Binds every dns.doh_listen and dns.dot_listen address (none configured: undefined); on failure closes what was bound. */
export async function bindEncryptedListeners(dns: Config['dns'], resolver: MessageHandler, logger: Logger): Promise<EncryptedListeners | undefined> {
  if (dns.doh_listen.length === 0 && dns.dot_listen.length === 0) return undefined;
  if (dns.tls === undefined) throw new DnswardError(ErrorCodes.CONFIG, 'dns.tls: dns.doh_listen and dns.dot_listen need a certificate; add dns.tls: { cert_file, key_file }');
  const material = (await readTls(dns.tls, 'dns')) as TlsMaterial;
  const tls = { cert: material.cert, key: material.key };
  const doh: DohListener[] = [];
  const dot: TcpListener[] = [];
  const bound = { doh: [] as BoundAddress[], dot: [] as BoundAddress[] };
  const close = async (): Promise<void> => {
    await Promise.allSettled([...doh, ...dot].map((l) => l.close()));
  };
  const limits = tcpLimitsOf(dns);
  try {
    for (const text of dns.doh_listen) {
      const address = parseHostPort(text, ENCRYPTED_DEFAULT_PORTS.doh) as HostPort;
      const listener = new DohListener(address, resolver, logger.child({ component: 'doh' }), { ...limits, maxStreamsPerConnection: limits.maxInFlightPerConnection }, tls, dns.doh_trusted_proxies);
      doh.push(listener);
      bound.doh.push({ host: address.host, port: await listener.start().catch((error: Error) => listenError('dns.doh_listen', text, error)) });
    }
    for (const text of dns.dot_listen) {
      const address = parseHostPort(text, ENCRYPTED_DEFAULT_PORTS.dot) as HostPort;
      const listener = new TcpListener(address, resolver, logger.child({ component: 'dot' }), limits, tls);
      dot.push(listener);
      bound.dot.push({ host: address.host, port: await listener.start().catch((error: Error) => listenError('dns.dot_listen', text, error)) });
    }
  } catch (error) {
    await close();
    throw error;
  }
  return {
    doh: bound.doh,
    dot: bound.dot,
    swapTls(next) {
      for (const listener of [...doh, ...dot]) listener.setSecureContext({ cert: next.cert, key: next.key });
    },
    close,
  };
}
