// The network list's formats loaded by their real consumers (Debian packages), each answering
// NXDOMAIN for a name whose A or AAAA record lies in a listed prefix: BIND (named-checkzone and a
// running named with response-policy), Unbound (rpz: with the respip module) and PowerDNS
// Recursor (rpzFile). The names live in a zone that a second named serves authoritatively on
// loopback; every resolver forwards or stubs to it, and has a loopback-only root, so nothing
// leaves the machine. The cidr format is read back with node:net's BlockList.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { BlockList } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNetworkListDir, type NetworkListSnapshot } from '../../src/lists/network-list.ts';
import { networkRendererFor } from '../../src/lists/render/networks.ts';
import { queryUdp } from '../helpers/dns-client.ts';
import { freeUdpTcpPort } from '../helpers/free-port.ts';
import { stopChild } from '../helpers/stop-child.ts';

const run = promisify(execFile);
const options = { homepage: 'https://lists.example.org/', expires: '1 day' };
const children: ChildProcess[] = [];
let list: NetworkListSnapshot;
let dir: string;
let authPort: number;

/** Inside listed prefixes: a /24 and a /22 (AS396986, AS138699), IPv6 in a /47 with a zero word ("zz") and in a /45. */
const INSIDE: [string, number, string][] = [
  ['in4.app.test', 1, '71.18.1.5'],
  ['in4b.app.test', 1, '101.45.250.9'],
  ['in6.app.test', 28, '2605:340:1::5'],
  ['in6b.app.test', 28, '2605:340:f093:7::1'],
];
/** Outside every listed prefix (documentation ranges, and a neighbour of a listed /24): answered as is. */
const OUTSIDE: [string, number, string][] = [
  ['out4.app.test', 1, '192.0.2.10'],
  ['near.app.test', 1, '71.18.13.1'],
  ['out6.app.test', 28, '2001:db8::10'],
];

/** Starts a daemon and waits until it answers `probe` (any rcode) on 127.0.0.1:port; `log()` is all it printed so far. */
async function startDaemon(command: string, args: string[], port: number, probe: string): Promise<{ child: ChildProcess; log: () => string }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}: ${output}`);
    const reply = await queryUdp(port, { name: probe }, 300).catch(() => undefined);
    if (reply) return { child, log: () => output };
  }
  child.kill();
  throw new Error(`${command} did not answer on 127.0.0.1:${port}: ${output}`);
}

function answerData(reply: Awaited<ReturnType<typeof queryUdp>>, type: number): string[] {
  return reply.packet.answers.filter((a) => a.type === type).map((a) => (a as { address: string }).address);
}

/** Every listed name NXDOMAIN, every other one answered with its address. */
async function expectResponseIpPolicy(port: number): Promise<void> {
  for (const [name, type] of INSIDE) {
    const reply = await queryUdp(port, { name, type });
    expect(reply.rcode, name).toBe(3);
    expect(reply.packet.answers, name).toHaveLength(0);
  }
  for (const [name, type, address] of OUTSIDE) {
    const reply = await queryUdp(port, { name, type });
    expect(reply.rcode, name).toBe(0);
    expect(answerData(reply, type), name).toEqual([address]);
  }
}

/** A root zone on loopback: a resolver that ever looked beyond app.test would ask 127.0.0.1:53 only. */
const ROOT_HINT = '. 3600000 NS a.root.test.\na.root.test. 3600000 A 127.0.0.1\n';

beforeAll(async () => {
  list = (await loadNetworkListDir('lists')).find((l) => l.name === 'bytedance-networks') as NetworkListSnapshot;
  dir = await mkdtemp(join(tmpdir(), 'dnsward-network-consumers-'));
  for (const format of ['rpz', 'cidr']) await writeFile(join(dir, `networks.${format}`), networkRendererFor(format)?.render(list, options) ?? '');
  await writeFile(join(dir, 'root.hint'), ROOT_HINT);
  // The authoritative server for app.test: named, no recursion.
  const records = [...INSIDE, ...OUTSIDE].map(([name, type, address]) => `${name}. 60 IN ${type === 1 ? 'A' : 'AAAA'} ${address}`);
  await writeFile(join(dir, 'app.test.zone'), ['$TTL 60', '@ IN SOA ns.app.test. hostmaster.app.test. 1 3600 600 86400 60', '@ IN NS ns.app.test.', 'ns IN A 127.0.0.1', ...records, ''].join('\n'));
  authPort = await freeUdpTcpPort();
  await writeFile(
    join(dir, 'auth.conf'),
    [
      `options { directory "${dir}"; pid-file "${join(dir, 'auth.pid')}"; listen-on port ${authPort} { 127.0.0.1; }; listen-on-v6 { none; };`,
      '  recursion no; dnssec-validation no; notify no; allow-transfer { none; }; };',
      `zone "app.test" { type primary; file "${join(dir, 'app.test.zone')}"; };`,
      '',
    ].join('\n'),
  );
  await startDaemon('named', ['-g', '-n', '1', '-c', join(dir, 'auth.conf')], authPort, 'out4.app.test');
});

afterAll(async () => {
  // Each daemon must be gone before its directory is: named removes its pid file, kresd closes its cache, as they exit.
  await Promise.all(children.map((child) => stopChild(child)));
  await rm(dir, { recursive: true, force: true });
});

describe('cidr', () => {
  it('reads back through node:net BlockList: every prefix, and nothing else', () => {
    const text = networkRendererFor('cidr')?.render(list, options) ?? '';
    const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(lines).toEqual(list.networks);
    const blocks = new BlockList();
    for (const line of lines) {
      const [address = '', prefix = ''] = line.split('/');
      blocks.addSubnet(address, Number(prefix), address.includes(':') ? 'ipv6' : 'ipv4');
    }
    for (const [name, type, address] of INSIDE) expect(blocks.check(address, type === 1 ? 'ipv4' : 'ipv6'), name).toBe(true);
    for (const [name, type, address] of OUTSIDE) expect(blocks.check(address, type === 1 ? 'ipv4' : 'ipv6'), name).toBe(false);
  });
});

describe('BIND', () => {
  it('named-checkzone loads the rpz-ip zone with its serial', async () => {
    const { stdout } = await run('named-checkzone', ['-k', 'fail', '-n', 'fail', '-i', 'full', 'rpz.dnsward', join(dir, 'networks.rpz')]);
    expect(stdout).toContain(`loaded serial ${Math.floor(list.lastModified.getTime() / 1000)}`);
    expect(stdout).toMatch(/OK\s*$/);
  });

  it('a recursive named with response-policy answers NXDOMAIN for names answered inside the prefixes, logs no trigger as invalid or not canonical', async () => {
    const port = await freeUdpTcpPort();
    const conf = join(dir, 'named-rpz.conf');
    await writeFile(
      conf,
      [
        `options { directory "${dir}"; pid-file "${join(dir, 'named-rpz.pid')}"; listen-on port ${port} { 127.0.0.1; }; listen-on-v6 { none; };`,
        '  recursion yes; allow-recursion { 127.0.0.1; }; dnssec-validation no; notify no;',
        `  forwarders { 127.0.0.1 port ${authPort}; }; forward only;`,
        '  response-policy { zone "rpz.dnsward"; }; };',
        `zone "." { type hint; file "${join(dir, 'root.hint')}"; };`,
        `zone "rpz.dnsward" { type primary; file "${join(dir, 'networks.rpz')}"; };`,
        '',
      ].join('\n'),
    );
    const named = await startDaemon('named', ['-g', '-n', '1', '-c', conf], port, 'out4.app.test');
    await expectResponseIpPolicy(port);
    // BIND loads a trigger it would spell otherwise but says so (rpz.c name2ipkey): none here.
    expect(named.log()).toMatch(/rpz: rpz\.dnsward: reload done: success/);
    expect(named.log()).not.toMatch(/invalid rpz|not the canonical/);
  });
});

describe('Unbound', () => {
  it('unbound with rpz: and the respip module answers NXDOMAIN for names answered inside the prefixes', async () => {
    const port = await freeUdpTcpPort();
    const conf = join(dir, 'unbound-rpz.conf');
    await writeFile(
      conf,
      [
        'server:',
        '  interface: 127.0.0.1',
        `  port: ${port}`,
        '  do-ip6: no',
        '  do-not-query-localhost: no',
        '  access-control: 127.0.0.0/8 allow',
        '  username: ""',
        '  chroot: ""',
        `  directory: "${dir}"`,
        `  pidfile: "${join(dir, 'unbound.pid')}"`,
        '  use-syslog: no',
        '  logfile: ""',
        '  num-threads: 1',
        '  module-config: "respip iterator"',
        // Unbound answers the special-use "test." itself (RFC 6761) unless told not to.
        '  local-zone: "test." nodefault',
        `  root-hints: "${join(dir, 'root.hint')}"`,
        'stub-zone:',
        '  name: "app.test"',
        `  stub-addr: 127.0.0.1@${authPort}`,
        'rpz:',
        '  name: "rpz.dnsward."',
        `  zonefile: "${join(dir, 'networks.rpz')}"`,
        '',
      ].join('\n'),
    );
    const { stdout } = await run('unbound-checkconf', [conf]);
    expect(stdout).toMatch(/no errors/);
    await startDaemon('unbound', ['-d', '-c', conf], port, 'out4.app.test');
    await expectResponseIpPolicy(port);
  });
});

describe('PowerDNS Recursor', () => {
  it('pdns_recursor with rpzFile answers NXDOMAIN for names answered inside the prefixes', async () => {
    const port = await freeUdpTcpPort();
    const home = join(dir, 'pdns');
    await run('mkdir', ['-p', home]);
    await writeFile(join(home, 'rpz.lua'), `rpzFile(${JSON.stringify(join(dir, 'networks.rpz'))}, { policyName = "dnsward" })\n`);
    await writeFile(
      join(home, 'recursor.conf'),
      [
        'local-address=127.0.0.1',
        `local-port=${port}`,
        `config-dir=${home}`,
        `socket-dir=${home}`,
        'daemon=no',
        'write-pid=no',
        'setuid=',
        'setgid=',
        `forward-zones=app.test=127.0.0.1:${authPort}`,
        'query-local-address=127.0.0.1',
        'dont-query=',
        'hint-file=no',
        `lua-config-file=${join(home, 'rpz.lua')}`,
        'threads=1',
        'dnssec=off',
        'security-poll-suffix=',
        'quiet=yes',
        'webserver=no',
        'allow-from=127.0.0.0/8',
        '',
      ].join('\n'),
    );
    await startDaemon('/usr/sbin/pdns_recursor', [`--config-dir=${home}`], port, 'out4.app.test');
    await expectResponseIpPolicy(port);
  });
});
