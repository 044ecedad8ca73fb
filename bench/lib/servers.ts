import { closeSync, openSync, readFileSync } from 'node:fs';
// The processes under test and the shared upstream. Each listens on 127.0.0.1:<high port>, keeps its
// files in the run's temp dir, forwards only to the bench upstream on loopback, and is stopped at the end.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, parseDocument } from 'yaml';
import { ensureBuilt } from './build.ts';
import { BENCH_ZONE } from './querygen.ts';
import { waitForAnswer } from './probe.ts';
import { freePort, startProcess, type Managed } from './procs.ts';

export const DNSMASQ = '/usr/sbin/dnsmasq';
export const UNBOUND = '/usr/sbin/unbound';

export interface Server {
  name: string;
  port: number;
  proc: Managed;
  /** How it was configured, for the report. */
  describe: string;
  configFile?: string;
  /** dnsward with `encrypted`: its DNS-over-HTTPS and DNS-over-TLS ports. */
  dohPort?: number;
  dotPort?: number;
  /** dnsward: its private API port (health, /metrics). */
  apiPort?: number;
  /** dnsward with `gcTrace`: the file its --trace-gc-nvp lines go to (its stdout). */
  gcTraceFile?: string;
}

/** Options every dnsmasq instance gets: no config files, no /etc/hosts, no resolv.conf, no DHCP, no privileges dropped, logs to stderr. */
function dnsmasqBase(port: number): string[] {
  return [
    '--conf-file=/dev/null',
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--no-poll',
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--pid-file=',
    '--user=',
    '--group=',
    '--log-facility=-',
  ];
}

async function ready(server: Server, timeoutMs: number): Promise<Server> {
  try {
    await waitForAnswer(server.port, `ready.${BENCH_ZONE}`, 'NOERROR', timeoutMs, () => server.proc.exitCode() === undefined);
  } catch (error) {
    throw new Error(`${server.name} did not come up on 127.0.0.1:${server.port}: ${(error as Error).message}\n${server.proc.tail()}`, { cause: error });
  }
  return server;
}

/**
 * The shared upstream: authoritative-style answers for every name under the bench zone (A 192.0.2.1,
 * AAAA 2001:db8::1, TTL 3600) and for the blocked names (A 192.0.2.2, AAAA 2001:db8::2, so the log-only
 * path has a real answer to pass through). Everything else: REFUSED. It never forwards anywhere.
 */
export async function startUpstream(kind: 'dnsmasq' | 'unbound', dir: string, blocked: string[]): Promise<Server> {
  const port = await freePort();
  if (kind === 'dnsmasq') {
    const args = [
      ...dnsmasqBase(port),
      '--cache-size=0',
      '--local-ttl=3600',
      `--address=/${BENCH_ZONE}/192.0.2.1`,
      `--address=/${BENCH_ZONE}/2001:db8::1`,
      `--address=/${blocked.join('/')}/192.0.2.2`,
      `--address=/${blocked.join('/')}/2001:db8::2`,
    ];
    const proc = startProcess('upstream', DNSMASQ, args, { role: 'load' });
    return ready({ name: 'upstream (dnsmasq)', port, proc, describe: `dnsmasq ${args.join(' ')}` }, 10_000);
  }
  const zones = [BENCH_ZONE, ...blocked];
  const conf = [
    'server:',
    ...unboundCommon(port, dir, 1),
    '  local-zone: "." refuse',
    ...zones.flatMap((z, i) => {
      const v = i === 0 ? 1 : 2;
      return [`  local-zone: "${z}." redirect`, `  local-data: "${z}. 3600 IN A 192.0.2.${v}"`, `  local-data: "${z}. 3600 IN AAAA 2001:db8::${v}"`];
    }),
    'remote-control:',
    '  control-enable: no',
    '',
  ].join('\n');
  const configFile = join(dir, 'upstream-unbound.conf');
  await writeFile(configFile, conf);
  const proc = startProcess('upstream', UNBOUND, ['-d', '-c', configFile], { role: 'load' });
  return ready({ name: 'upstream (unbound)', port, proc, describe: `unbound, ${configFile}`, configFile }, 10_000);
}

function unboundCommon(port: number, dir: string, threads: number): string[] {
  return [
    '  verbosity: 0',
    '  interface: 127.0.0.1',
    `  port: ${port}`,
    '  do-ip6: no',
    '  do-daemonize: no',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    `  pidfile: "${join(dir, `unbound-${port}.pid`)}"`,
    '  use-syslog: no',
    '  logfile: ""',
    `  num-threads: ${threads}`,
    `  so-reuseport: ${threads > 1 ? 'yes' : 'no'}`,
    '  module-config: "iterator"',
    '  access-control: 127.0.0.0/8 allow',
    // Outgoing queries leave from 127.0.0.1 only: the kernel cannot route them anywhere but loopback.
    '  outgoing-interface: 127.0.0.1',
    '  do-not-query-localhost: no',
    '  qname-minimisation: no',
    '  prefetch: no',
    '  statistics-interval: 0',
  ];
}

export async function startDnsmasq(upstreamPort: number, blocked: string[], cacheSize: number): Promise<Server> {
  const port = await freePort();
  const args = [
    ...dnsmasqBase(port),
    `--server=127.0.0.1#${upstreamPort}`,
    // Its forwarding rate falls as the cache grows (every insert into a full cache costs more): with unique
    // names, ~43k qps at 150 entries, ~22k at 2,500, ~9k at 10,000 on this machine. 2,500 is the smallest
    // that holds the cached mix (2,000 answers), so dnsmasq gets its best showing on every mix.
    `--cache-size=${cacheSize}`,
    // dns-forward-max stays at its default (150): dnsmasq polls one random-port socket per forward slot,
    // and a larger pool made its forwarding latency 30x worse after a saturating run.
    // address=/name/ with no address: NXDOMAIN for the name and every subdomain.
    ...blocked.map((d) => `--address=/${d}/`),
  ];
  const proc = startProcess('dnsmasq', DNSMASQ, args, { role: 'server' });
  return ready({ name: 'dnsmasq', port, proc, describe: `dnsmasq ${args.filter((a) => !a.startsWith('--address=/')).join(' ')} --address=/<name>/ (x${blocked.length})` }, 10_000);
}

export async function startUnbound(dir: string, upstreamPort: number, blocked: string[], threads: number): Promise<Server> {
  const port = await freePort();
  const conf = [
    'server:',
    ...unboundCommon(port, dir, threads),
    // unbound answers the RFC 6761 names (test., invalid., ...) itself by default: forward the bench zone.
    '  local-zone: "test." nodefault',
    '  msg-cache-size: 64m',
    '  rrset-cache-size: 128m',
    ...blocked.map((d) => `  local-zone: "${d}." always_nxdomain`),
    'remote-control:',
    '  control-enable: no',
    'forward-zone:',
    '  name: "."',
    `  forward-addr: 127.0.0.1@${upstreamPort}`,
    '',
  ].join('\n');
  const configFile = join(dir, 'unbound.conf');
  await writeFile(configFile, conf);
  const proc = startProcess('unbound', UNBOUND, ['-d', '-c', configFile], { role: 'server' });
  return ready({ name: 'unbound', port, proc, describe: `unbound -d -c unbound.conf (num-threads ${threads}, forward-zone "." to the upstream, local-zone always_nxdomain per name)`, configFile }, 10_000);
}

export interface DnswardOptions {
  repo: string;
  dir: string;
  upstreamPort: number;
  listsDir: string;
  lists: string[];
  /** Node.js flags before bin/dnsward (e.g. --cpu-prof). */
  nodeArgs: string[];
  /** Config settings over the bench's own, each `dotted.key=value` (the value read as YAML), e.g. audit.worker_thread=true. */
  settings?: readonly string[];
  /** Process and temp-subdir name. */
  name: string;
  /** Run with --trace-gc-nvp, stdout into `gc-trace.log` in its temp subdir (`--gc-trace`). */
  gcTrace?: boolean;
  readyTimeoutMs: number;
  /** Skip the readiness probe (the 1M run measures it itself). */
  noWait?: boolean;
  /** Subscribed list sources (lists.sources), e.g. the 1M run's big hosts file, or a url on loopback (bench/memory.ts). */
  sources?: ({ name: string; format: 'hosts' | 'domains' | 'adblock' } & ({ file: string } | { url: string }))[];
  /** http.thread (absent: dnsward's default, auto). */
  httpThread?: boolean | 'auto';
  /** Shared state: a redis section with this URL and key prefix (`--redis`). */
  redis?: { url: string; keyPrefix: string };
  /** dns.workers (`--dns-workers`); absent: the config's default. */
  workers?: number | 'auto';
  /** Replaces the bench upstream (e.g. a DoT or DoH one, `--encrypted-upstreams`), with the CA to trust. */
  upstreams?: string[];
  upstreamCaFile?: string;
  /** Also serve DoH and DoT with this certificate (`--encrypted`). */
  encrypted?: { cert: string; key: string };
}

/** Loopback source address whose queries fall in dnsward's log-only segment. */
export const LOG_SEGMENT_SOURCE = '127.0.0.2';

/** The flags after "node" on a `#!/usr/bin/env -S NAME=VALUE node ...` line. */
export function shebangFlags(file: string): string[] {
  const first = readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!.*\bnode\b(.*)$/.exec(first);
  return m?.[1]?.trim() ? (m[1].trim().split(/\s+/)) : [];
}

/** The NAME=VALUE assignments before "node" on that line (the environment users run it with). */
export function shebangEnv(file: string): Record<string, string> {
  const first = readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env\s+-S\s+(.*?)\bnode\b/.exec(first);
  return Object.fromEntries((m?.[1]?.trim().split(/\s+/) ?? []).filter((w) => /^\w+=/.test(w)).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
}

/** `yaml` with each `dotted.key=value` set in it (an A/B of one setting: `npm run bench -- --twin --twin-set`). */
export function withSettings(yaml: string, settings: readonly string[]): string {
  if (settings.length === 0) return yaml;
  const doc = parseDocument(yaml);
  for (const setting of settings) {
    const at = setting.indexOf('=');
    const path = setting.slice(0, at).split('.');
    if (at < 1 || path.some((key) => key === '')) throw new Error(`bench: a setting is dotted.key=value, got "${setting}"`);
    const text = setting.slice(at + 1);
    // YAML would read "dnsward:x:" as a mapping: only an explicit { } or [ ] makes one here.
    const value: unknown = parse(text);
    doc.setIn(path, typeof value === 'object' && value !== null && !/^\s*[{[]/.test(text) ? text : value);
  }
  return doc.toString();
}

export async function startDnsward(o: DnswardOptions): Promise<Server> {
  const port = await freePort();
  const httpPort = await freePort();
  const apiPort = await freePort();
  const dohPort = o.encrypted ? await freePort() : undefined;
  const dotPort = o.encrypted ? await freePort() : undefined;
  const dir = join(o.dir, o.name);
  await mkdir(join(dir, 'audit'), { recursive: true });
  const lists = `[${o.lists.join(', ')}]`;
  const yaml = [
    `# written by bench/run.ts`,
    'dns:',
    `  listen: ["127.0.0.1:${port}"]`,
    '  allow: ["127.0.0.0/8"]',
    // dnsperf is one client sending 100k+ qps: the per-client rate limit would answer it TC=1.
    '  rate_limit: { enabled: false }',
    ...(o.workers !== undefined ? [`  workers: ${o.workers}`] : []),
    ...(o.encrypted
      ? [`  doh_listen: ["127.0.0.1:${dohPort}"]`, `  dot_listen: ["127.0.0.1:${dotPort}"]`, `  tls: { cert_file: ${JSON.stringify(o.encrypted.cert)}, key_file: ${JSON.stringify(o.encrypted.key)} }`]
      : []),
    `upstreams: ${JSON.stringify(o.upstreams ?? [`127.0.0.1:${o.upstreamPort}`])}`,
    ...(o.upstreamCaFile ? [`upstream_tls: { ca_file: ${JSON.stringify(o.upstreamCaFile)} }`] : []),
    `lists: { dir: ${JSON.stringify(o.listsDir)}, cache_dir: ${JSON.stringify(join(dir, 'lists-cache'))}, sources: ${JSON.stringify(o.sources ?? [])} }`,
    'segments:',
    `  - { name: bench-log, networks: ["${LOG_SEGMENT_SOURCE}/32"], action: log, lists: ${lists} }`,
    `  - { name: bench-block, networks: ["127.0.0.0/8"], action: block, lists: ${lists} }`,
    `http: { listen: "127.0.0.1:${httpPort}"${o.httpThread === undefined ? '' : `, thread: ${o.httpThread}`} }`,
    `api: { listen: "127.0.0.1:${apiPort}" }`,
    'log: { level: warn }',
    'audit:',
    `  dir: ${JSON.stringify(join(dir, 'audit'))}`,
    `  signing_key_file: ${JSON.stringify(join(dir, 'keys', 'signing.key'))}`,
    `  pseudonym_secret_file: ${JSON.stringify(join(dir, 'keys', 'pseudonym.key'))}`,
    'instance: bench',
    ...(o.redis ? [`redis: { url: ${JSON.stringify(o.redis.url)}, key_prefix: ${JSON.stringify(o.redis.keyPrefix)} }`] : []),
    '',
  ].join('\n');
  const configFile = join(dir, 'dnsward.yaml');
  await writeFile(configFile, withSettings(yaml, o.settings ?? []));
  // Run it as users do: with the Node flags and environment bin/dnsward's shebang carries (e.g.
  // the small young generation that keeps resident memory down), then the bench's own.
  ensureBuilt(o.repo);
  const bin = join(o.repo, 'bin', 'dnsward');
  const gcTraceFile = o.gcTrace ? join(dir, 'gc-trace.log') : undefined;
  const args = [...shebangFlags(bin), ...o.nodeArgs, ...(gcTraceFile ? ['--trace-gc-nvp'] : []), bin, 'serve', '--config', configFile];
  const stdout = gcTraceFile ? openSync(gcTraceFile, 'w') : undefined;
  const proc = startProcess(o.name, process.execPath, args, { role: 'server', cwd: dir, env: { ...shebangEnv(bin), ...process.env }, ...(stdout !== undefined ? { stdout } : {}) });
  if (stdout !== undefined) closeSync(stdout); // the child has its own copy
  const server: Server = {
    gcTraceFile, name: o.name, port, dohPort, dotPort, apiPort, proc, describe: `${Object.entries(shebangEnv(bin)).map(([k, v]) => `${k}=${v} `).join('')}node ${args.slice(0, -2).map((a) => a.replace(o.repo + '/', '')).join(' ')} --config dnsward.yaml`, configFile };
  if (o.noWait) return server;
  return ready(server, o.readyTimeoutMs);
}
