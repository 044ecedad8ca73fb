// The recursive peers of the bench beside dnsmasq and unbound: PowerDNS Recursor blocking
// with RPZ, and Knot Resolver blocking with its policy module. Like the others, each listens
// on 127.0.0.1:<high port>, keeps its files in the run's temp dir, forwards everything to the
// bench upstream on loopback (outgoing queries leave from 127.0.0.1 only), blocks the same
// names (NXDOMAIN for each and every subdomain), and is stopped at the end. Each gets its best
// showing on this machine (docs/BENCHMARKS.md says which settings and why).
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitForAnswer } from './probe.ts';
import { freePort, startProcess, treeMemoryKb } from './procs.ts';
import { BENCH_ZONE } from './querygen.ts';
import type { Server } from './servers.ts';

export const PDNS_RECURSOR = '/usr/sbin/pdns_recursor';
export const KRESD = '/usr/sbin/kresd';

async function ready(server: Server, timeoutMs: number): Promise<Server> {
  try {
    await waitForAnswer(server.port, `ready.${BENCH_ZONE}`, 'NOERROR', timeoutMs, () => server.proc.exitCode() === undefined);
  } catch (error) {
    throw new Error(`${server.name} did not come up on 127.0.0.1:${server.port}: ${(error as Error).message}\n${server.proc.tail()}`, { cause: error });
  }
  return server;
}

/** An RPZ zone with one NXDOMAIN rule (`CNAME .`) for each name and one for its subdomains. */
export function rpzZone(origin: string, blocked: string[]): string {
  return [
    `$ORIGIN ${origin}.`,
    '$TTL 300',
    `@ SOA localhost. hostmaster.localhost. 1 3600 600 86400 300`,
    '@ NS localhost.',
    ...blocked.flatMap((d) => [`${d} CNAME .`, `*.${d} CNAME .`]),
    '',
  ].join('\n');
}

/**
 * PowerDNS Recursor 4.8 with the names as an RPZ (`rpzFile`, every hit NXDOMAIN), `threads` worker
 * threads on one SO_REUSEPORT socket each (its fastest layout: the kernel spreads the clients'
 * ports, no distributor thread), packet cache on (its default), DNSSEC off (dnsward does not
 * validate either), no security polling, no carbon, no web server.
 */
export async function startPdnsRecursor(dir: string, upstreamPort: number, blocked: string[], threads: number): Promise<Server> {
  if (!existsSync(PDNS_RECURSOR)) throw new Error(`${PDNS_RECURSOR} is missing: apt-get install pdns-recursor`);
  const port = await freePort();
  const home = join(dir, 'pdns-recursor');
  await mkdir(home, { recursive: true });
  await writeFile(join(home, 'block.rpz'), rpzZone('rpz.bench', blocked));
  await writeFile(join(home, 'rpz.lua'), `rpzFile(${JSON.stringify(join(home, 'block.rpz'))}, { defpol = Policy.NXDOMAIN, policyName = "bench" })\n`);
  const conf = [
    `local-address=127.0.0.1`,
    `local-port=${port}`,
    `config-dir=${home}`,
    `socket-dir=${home}`,
    'daemon=no',
    'write-pid=no',
    'setuid=',
    'setgid=',
    // Everything goes to the bench upstream, with recursion desired; nothing else is ever asked.
    `forward-zones-recurse=.=127.0.0.1:${upstreamPort}`,
    // Outgoing queries leave from 127.0.0.1 only; dont-query (which lists 127/8 by default) is
    // cleared so the loopback upstream may be asked.
    'query-local-address=127.0.0.1',
    'dont-query=',
    // No root hints, so no priming of the real root's servers.
    'hint-file=no',
    `lua-config-file=${join(home, 'rpz.lua')}`,
    `threads=${threads}`,
    'pdns-distributes-queries=no',
    `reuseport=${threads > 1 ? 'yes' : 'no'}`,
    'dnssec=off',
    'security-poll-suffix=',
    'quiet=yes',
    'loglevel=3',
    'log-common-errors=no',
    'statistics-interval=0',
    'webserver=no',
    'allow-from=127.0.0.0/8',
    '',
  ].join('\n');
  await writeFile(join(home, 'recursor.conf'), conf);
  const proc = startProcess('pdns-recursor', PDNS_RECURSOR, [`--config-dir=${home}`], { role: 'server' });
  return ready({ name: 'pdns', port, proc, describe: `pdns_recursor --config-dir (threads ${threads}, reuseport, forward-zones-recurse=. to the upstream, rpzFile with defpol NXDOMAIN, dnssec off)`, configFile: join(home, 'recursor.conf') }, 15_000);
}

/**
 * Knot Resolver 5.6 with the names in its policy module: `policy.suffix(policy.DENY, ...)`
 * (an Aho-Corasick match over the wire-format name, NXDOMAIN for each name and its
 * subdomains), or `policy.rpz(policy.DENY, file)` with `kind: 'rpz'`; everything else
 * `policy.FORWARD` to the upstream. The test root has no DNSSEC, so the root trust anchor is
 * removed. `instances` kresd processes share the port (SO_REUSEPORT) and one cache, the way
 * Knot Resolver uses more than one core.
 */
export async function startKnotResolver(dir: string, upstreamPort: number, blocked: string[], instances: number, kind: 'suffix' | 'rpz'): Promise<Server> {
  if (!existsSync(KRESD)) throw new Error(`${KRESD} is missing: apt-get install knot-resolver`);
  const port = await freePort();
  const home = join(dir, 'kresd');
  await mkdir(join(home, 'cache'), { recursive: true });
  await writeFile(join(home, 'block.rpz'), rpzZone('rpz.bench', blocked));
  const blockRule =
    kind === 'rpz'
      ? `policy.add(policy.rpz(policy.DENY, ${JSON.stringify(join(home, 'block.rpz'))}, false))`
      : `policy.add(policy.suffix(policy.DENY, policy.todnames({ ${blocked.map((d) => JSON.stringify(d)).join(', ')} })))`;
  const conf = [
    '-- written by bench/lib/peers.ts',
    `net.listen('127.0.0.1', ${port}, { kind = 'dns' })`,
    'net.ipv6 = false',
    // Outgoing queries leave from 127.0.0.1 only.
    "net.outgoing_v4('127.0.0.1')",
    // The bench root is private and unsigned: no trust anchor, or every answer would be bogus.
    "trust_anchors.remove('.')",
    `cache.open(256 * MB, 'lmdb://${join(home, 'cache')}')`,
    // Clients on loopback may query; nobody else reaches a loopback listener anyway.
    "modules.unload('ta_update')",
    "modules.unload('priming')",
    "modules.unload('detect_time_skew')",
    blockRule,
    `policy.add(policy.all(policy.FORWARD({ '127.0.0.1@${upstreamPort}' })))`,
    '',
  ].join('\n');
  const configFile = join(home, 'config.lua');
  await writeFile(configFile, conf);
  // One shell starts the instances, so the process tree (CPU and memory accounting, stopping) is one.
  const one = `${KRESD} -n -q -c ${configFile} ${home} </dev/null`;
  const proc = startProcess('kresd', '/bin/sh', ['-c', `${Array.from({ length: instances }, () => `${one} &`).join(' ')} wait`], { role: 'server', cwd: home });
  const server: Server = {
    name: 'kresd',
    port,
    proc,
    describe: `kresd -n -c config.lua x${instances} (SO_REUSEPORT, shared LMDB cache 256 MB; ${kind === 'rpz' ? 'policy.rpz' : 'policy.suffix'}(policy.DENY) for the names, policy.FORWARD to the upstream, trust_anchors.remove('.'))`,
    configFile,
  };
  await ready(server, 15_000);
  const running = treeMemoryKb(proc.pid).pids.length - 1;
  if (running !== instances) throw new Error(`kresd: ${running} of ${instances} instances running (do they share the port?)\n${proc.tail()}`);
  return server;
}
