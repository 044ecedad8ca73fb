// A host's own fastify app with dnsward's feed plugin under a prefix, read by a real unbound:
// the local-zone include fetched from it passes unbound-checkconf and blocks in a running
// unbound, and unbound itself downloads the RPZ zone from the app over HTTP (rpz url:) and
// enforces it. Everything stays on 127.0.0.1; unbound's root points at a dead loopback port.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPolicyEngine, type PolicyEngine } from '../../src/plugin/engine.ts';
import { dnswardFeed } from '../../src/plugin/fastify.ts';
import { queryUdp } from '../helpers/dns-client.ts';
import { freeUdpTcpPort } from '../helpers/free-port.ts';
import { stopChild } from '../helpers/stop-child.ts';

const run = promisify(execFile);
const BLOCKED = ['tiktok.com', 'www.tiktok.com', 'a.b.c.tiktokv.com', 'p16-sign.tiktokcdn-us.com'];
let dir: string;
let engine: PolicyEngine;
let app: FastifyInstance;
let base: string;
const children: ChildProcess[] = [];


beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dnsward-plugin-feed-'));
  const httpPort = await freeUdpTcpPort();
  base = `http://127.0.0.1:${httpPort}/blocklists`;
  engine = await createPolicyEngine({
    config: {
      dns: { allow: ['10.0.0.0/8'] },
      lists: { dir: resolve('lists'), public_url: base, signing_key_file: 'keys/lists.key' },
      segments: [{ name: 'service', networks: ['10.10.0.0/16'], action: 'block', lists: ['tiktok'] }],
      audit: { enabled: false },
    },
    baseDir: dir,
    logger: pino({ level: 'silent' }),
  });
  app = Fastify();
  app.get('/', async () => 'the host site');
  await app.register(dnswardFeed, { lists: engine, prefix: '/blocklists' });
  await app.listen({ port: httpPort, host: '127.0.0.1' });
});

afterAll(async () => {
  // Each daemon must be gone before its directory is (it may write there as it exits).
  await Promise.all(children.map((child) => stopChild(child)));
  await app?.close();
  await engine?.close();
  await rm(dir, { recursive: true, force: true });
});

function unboundConf(port: number, deadPort: number, extra: string): string {
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
    '  logfile: ""',
    '  num-threads: 1',
    '  module-config: "respip iterator"',
    '  local-data: "control.test. 60 IN A 192.0.2.7"',
    extra,
    'stub-zone:',
    '  name: "."',
    `  stub-addr: 127.0.0.1@${deadPort}`,
    '',
  ].join('\n');
}

/** Starts unbound and waits until it blocks the first listed name (an RPZ zone arrives over HTTP after start). */
async function startUnbound(conf: string, port: number): Promise<void> {
  const child = spawn('unbound', ['-d', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`unbound exited with ${child.exitCode}: ${output}`);
    const reply = await queryUdp(port, { name: BLOCKED[0] as string }, 300).catch(() => undefined);
    if (reply?.rcode === 3) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`unbound did not enforce the list on 127.0.0.1:${port}: ${output}`);
}

async function expectBlocking(port: number): Promise<void> {
  for (const name of BLOCKED) expect((await queryUdp(port, { name })).rcode, name).toBe(3);
  const control = await queryUdp(port, { name: 'control.test' });
  expect(control.rcode).toBe(0);
  expect(control.packet.answers[0]).toMatchObject({ address: '192.0.2.7' });
}

describe('fastify feed plugin read by unbound', () => {
  it('serves the unbound include that unbound-checkconf accepts and a running unbound enforces', async () => {
    const response = await fetch(`${base}/lists/tiktok/unbound`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const file = join(dir, 'tiktok.unbound');
    await writeFile(file, await response.text());
    const port = await freeUdpTcpPort();
    const conf = join(dir, 'unbound-include.conf');
    await writeFile(conf, unboundConf(port, await freeUdpTcpPort(), `include: "${file}"`));
    expect((await run('unbound-checkconf', [conf])).stdout).toMatch(/no errors/);
    await startUnbound(conf, port);
    await expectBlocking(port);
  }, 30_000);

  it('serves the RPZ zone that unbound downloads from the app itself and enforces', async () => {
    const port = await freeUdpTcpPort();
    const conf = join(dir, 'unbound-rpz.conf');
    const rpz = ['rpz:', '  name: "rpz.dnsward."', `  url: "${base}/lists/tiktok/rpz"`, `  zonefile: "${join(dir, 'downloaded.rpz')}"`, ''].join('\n');
    await writeFile(conf, `${unboundConf(port, await freeUdpTcpPort(), '')}${rpz}`);
    expect((await run('unbound-checkconf', [conf])).stdout).toMatch(/no errors/);
    await startUnbound(conf, port);
    await expectBlocking(port);
    // What unbound fetched is the feed's zone, byte for byte (it keeps the download as its zonefile).
    const served = await (await fetch(`${base}/lists/tiktok/rpz`)).text();
    expect(await readFile(join(dir, 'downloaded.rpz'), 'utf8')).toContain(served.split('\n').find((line) => line.startsWith('tiktok.com')) ?? 'missing');
  }, 30_000);
});
