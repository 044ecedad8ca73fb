// Our rendered formats loaded by their real consumers (Debian packages): unbound-checkconf and a
// running unbound (local-zone include and RPZ), BIND's named-checkzone, dnsmasq --test and a
// running dnsmasq. Everything binds 127.0.0.1 on a free high port; nothing is forwarded anywhere:
// unbound's root is stubbed to a dead loopback port and only local-data names are asked besides
// the listed ones, dnsmasq runs with no-resolv.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadListDir } from '../../src/lists/list-file.ts';
import { rendererFor } from '../../src/lists/render/index.ts';
import type { ListSnapshot } from '../../src/lists/types.ts';
import { type DnsReply, queryUdp } from '../helpers/dns-client.ts';
import { freeUdpTcpPort } from '../helpers/free-port.ts';
import { stopChild } from '../helpers/stop-child.ts';

const run = promisify(execFile);
const options = { homepage: 'https://lists.example.org/', expires: '1 day' };
let lists: ListSnapshot[];
let tiktok: ListSnapshot;
let dir: string;
const children: ChildProcess[] = [];

/** Listed names to ask each consumer: apexes, deep subdomains, a known host, an exact CDN host. */
const BLOCKED = ['tiktok.com', 'www.tiktok.com', 'a.b.c.tiktokv.com', 'log.tiktokv.com', 'p16-sign.tiktokcdn-us.com', 'x.byteoversea.com', 'p16-tiktokcdn-com.akamaized.net', 'ttlivecdn.com'];
/** Answered locally by each consumer; must not be touched by the list. */
const CONTROL: [string, string][] = [
  ['control.test', '192.0.2.7'],
  ['akamaized.net', '192.0.2.8'],
  ['other.akamaized.net', '192.0.2.9'],
  ['tiktok.com.example', '192.0.2.10'],
];

beforeAll(async () => {
  lists = await loadListDir('lists');
  tiktok = lists.find((l) => l.name === 'tiktok') as ListSnapshot;
  dir = await mkdtemp(join(tmpdir(), 'dnsward-consumers-'));
  for (const list of lists) {
    for (const format of ['unbound', 'rpz', 'dnsmasq', 'dnsmasq-legacy']) {
      await writeFile(join(dir, `${list.name}.${format}`), rendererFor(format)?.render(list, options) ?? '');
    }
  }
});

afterAll(async () => {
  // Each daemon must be gone before its directory is (it may write there as it exits).
  await Promise.all(children.map((child) => stopChild(child)));
  await rm(dir, { recursive: true, force: true });
});

async function startDaemon(command: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}: ${output}`);
    const reply = await queryUdp(port, { name: 'control.test' }, 300).catch(() => undefined);
    if (reply) return child;
  }
  child.kill();
  throw new Error(`${command} did not answer on 127.0.0.1:${port}: ${output}`);
}

function addresses(reply: DnsReply): string[] {
  return reply.packet.answers.filter((a) => a.type === 1).map((a) => (a as { address: string }).address);
}

async function expectBlocking(port: number): Promise<void> {
  for (const name of BLOCKED) {
    const reply = await queryUdp(port, { name });
    expect(reply.rcode, name).toBe(3);
    expect(reply.packet.answers, name).toHaveLength(0);
  }
  for (const [name, address] of CONTROL) {
    const reply = await queryUdp(port, { name });
    expect(reply.rcode, name).toBe(0);
    expect(addresses(reply), name).toEqual([address]);
  }
}

function unboundServer(port: number, modules: string): string {
  return [
    'server:',
    '  interface: 127.0.0.1',
    `  port: ${port}`,
    '  do-ip6: no',
    '  do-not-query-localhost: no',
    '  access-control: 127.0.0.0/8 allow',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    `  pidfile: "${join(dir, `unbound-${port}.pid`)}"`,
    '  use-syslog: no',
    `  logfile: ""`,
    '  num-threads: 1',
    `  module-config: "${modules}"`,
    ...CONTROL.map(([n, a]) => `  local-data: "${n}. 60 IN A ${a}"`),
    '',
  ].join('\n');
}

/** Anything not local goes to a dead loopback port: nothing ever leaves the machine. */
function deadRoot(deadPort: number): string {
  return ['stub-zone:', '  name: "."', `  stub-addr: 127.0.0.1@${deadPort}`, ''].join('\n');
}

describe('unbound', () => {
  it.each(['tiktok', 'bytedance', 'doh-bypass'])('unbound-checkconf accepts the %s local-zone include and RPZ zone', async (name) => {
    const conf = join(dir, `check-${name}.conf`);
    await writeFile(conf, `${unboundServer(5399, 'respip iterator')}include: "${join(dir, `${name}.unbound`)}"\nrpz:\n  name: "rpz.${name}."\n  zonefile: "${join(dir, `${name}.rpz`)}"\n`);
    const { stdout } = await run('unbound-checkconf', [conf]);
    expect(stdout).toMatch(/no errors/);
  });

  it('answers NXDOMAIN for listed names through our local-zone output, and leaves the rest alone', async () => {
    const port = await freeUdpTcpPort();
    const conf = join(dir, 'unbound-localzone.conf');
    await writeFile(conf, `${unboundServer(port, 'iterator')}include: "${join(dir, 'tiktok.unbound')}"\n${deadRoot(await freeUdpTcpPort())}`);
    await run('unbound-checkconf', [conf]);
    await startDaemon('unbound', ['-d', '-c', conf], port);
    await expectBlocking(port);
  });

  it('answers NXDOMAIN for listed names through our RPZ output, and leaves the rest alone', async () => {
    const port = await freeUdpTcpPort();
    const conf = join(dir, 'unbound-rpz.conf');
    await writeFile(conf, `${unboundServer(port, 'respip iterator')}${deadRoot(await freeUdpTcpPort())}rpz:\n  name: "rpz.dnsward."\n  zonefile: "${join(dir, 'tiktok.rpz')}"\n`);
    await run('unbound-checkconf', [conf]);
    await startDaemon('unbound', ['-d', '-c', conf], port);
    await expectBlocking(port);
  });
});

describe('BIND', () => {
  it.each(['tiktok', 'bytedance', 'doh-bypass'])('named-checkzone loads the %s RPZ with its serial', async (name) => {
    const list = lists.find((l) => l.name === name) as ListSnapshot;
    const { stdout } = await run('named-checkzone', ['-k', 'fail', '-n', 'fail', '-i', 'full', `rpz.${name}`, join(dir, `${name}.rpz`)]);
    expect(stdout).toContain(`loaded serial ${Math.floor(list.lastModified.getTime() / 1000)}`);
    expect(stdout).toMatch(/OK\s*$/);
  });
});

describe('dnsmasq', () => {
  it.each(['tiktok', 'bytedance', 'doh-bypass'])('dnsmasq --test accepts both %s forms', async (name) => {
    for (const format of ['dnsmasq', 'dnsmasq-legacy']) {
      const { stderr } = await run('dnsmasq', ['--test', `--conf-file=${join(dir, `${name}.${format}`)}`]);
      expect(stderr).toMatch(/syntax check OK/);
    }
  });

  it.each(['dnsmasq', 'dnsmasq-legacy'])('a running dnsmasq answers NXDOMAIN for listed names with our %s output', async (format) => {
    const port = await freeUdpTcpPort();
    const conf = join(dir, `dnsmasq-${format}.conf`);
    await writeFile(
      conf,
      [
        `port=${port}`,
        'listen-address=127.0.0.1',
        'bind-interfaces',
        'no-resolv',
        'no-hosts',
        'no-poll',
        'user=root',
        `pid-file=${join(dir, `dnsmasq-${port}.pid`)}`,
        ...CONTROL.map(([n, a]) => `address=/${n}/${a}`),
        `conf-file=${join(dir, `tiktok.${format}`)}`,
        '',
      ].join('\n'),
    );
    await startDaemon('dnsmasq', ['-k', `--conf-file=${conf}`], port);
    // address=/akamaized.net/ also covers subdomains; the listed TikTok host below it must still be NXDOMAIN.
    await expectBlocking(port);
  });
});

describe('the test names', () => {
  it('are what the list says', () => {
    const set = new Set(tiktok.domains);
    const listed = (n: string): boolean => n.split('.').some((_, i, labels) => set.has(labels.slice(i).join('.')));
    for (const n of BLOCKED) expect(listed(n), n).toBe(true);
    for (const [n] of CONTROL) expect(listed(n), n).toBe(false);
  });
});
