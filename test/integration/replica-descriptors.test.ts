// A connection flood must not take the descriptors the resolver needs. dnsward serve runs
// under a 256-descriptor limit (prlimit); 600 idle HTTP connections from 40 addresses come
// in; DNS over TCP still answers, forwarded names still reach the upstream (its sockets keep
// rotating), and every blocked query is in the block log.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildQuery, exchangeTcp, queryUdp } from '../helpers/dns-client.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';

const LIMIT = 256;

describe('descriptor budget under a connection flood', () => {
  it('keeps DNS over TCP, upstream queries and block-log writes working with 600 idle HTTP connections open', async () => {
    const upstream = await new StubUpstream().start();
    const dir = await mkdtemp(join(tmpdir(), 'dnsward-fd-'));
    const file = join(dir, 'dnsward.yaml');
    await writeFile(
      file,
      [
        'dns: { listen: ["127.0.0.1:0"], allow: ["127.0.0.0/8"], rate_limit: { enabled: false } }',
        `upstreams: ["127.0.0.1:${upstream.port}"]`,
        `lists: { dir: "${resolve('lists')}" }`,
        'segments:',
        '  - { name: service, networks: ["127.0.0.2/32"], action: block, lists: [tiktok] }',
        '  - { name: default, networks: ["0.0.0.0/0", "::/0"], action: allow }',
        'http: { listen: "127.0.0.1:0" }',
        'api: { listen: "127.0.0.1:0" }',
        'audit: { dir: audit, signing_key_file: keys/s.key, pseudonym_secret_file: keys/p.key, fsync: false, worker_thread: false }',
        'instance: fd-test',
      ].join('\n'),
    );
    const child = spawn('prlimit', [`--nofile=${LIMIT}:${LIMIT}`, '--', process.execPath, resolve('bin/dnsward'), 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const flood: Socket[] = [];
    try {
      for (let i = 0; i < 200 && !out.includes('dnsward ready'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain('dnsward ready');
      // The caps were fitted under the limit, and the log says which and why.
      const scaled = JSON.parse(out.split('\n').find((l) => l.includes('connection caps scaled down')) as string) as { limit: number; after: Record<string, number> };
      expect(scaled.limit).toBe(LIMIT);
      const dnsPort = Number(/"dns":\["127\.0\.0\.1:(\d+)"/.exec(out)?.[1]);
      const httpPort = Number(/"http":"127\.0\.0\.1:(\d+)"/.exec(out)?.[1]);

      // 600 idle HTTP connections from 40 source addresses (15 each, under the per-client cap).
      for (let i = 0; i < 600; i++) {
        const socket = connect({ host: '127.0.0.1', port: httpPort, localAddress: `127.0.1.${(i % 40) + 1}` });
        socket.on('error', () => undefined);
        flood.push(socket);
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 500));
      expect(child.exitCode).toBeNull();
      // The flood holds only what the caps allow: the reserve stays free for the resolver.
      const inUse = (await readdir(`/proc/${child.pid}/fd`)).length;
      expect(inUse).toBeLessThan(LIMIT - 64);

      // DNS over TCP from a fresh client, several times.
      for (let i = 0; i < 5; i++) {
        const [reply] = await exchangeTcp(dnsPort, [buildQuery({ name: `tcp${i}.example`, id: i })], { from: '127.0.0.9', timeoutMs: 3000 });
        expect((reply as Buffer).readUInt16BE(2) & 0xf).toBe(0);
      }
      // Forwarded names over a few seconds: the upstream sockets rotate (one new socket a second).
      for (let i = 0; i < 12; i++) {
        expect((await queryUdp(dnsPort, { name: `fresh${i}.example` })).rcode).toBe(0);
        await new Promise((r) => setTimeout(r, 250));
      }
      // Blocked names: each must end up in the block log.
      for (let i = 0; i < 30; i++) expect((await queryUdp(dnsPort, { name: `fd${i}.tiktok.com`, from: '127.0.0.2' })).rcode).toBe(3);
      expect(out).not.toMatch(/EMFILE/);
    } finally {
      for (const s of flood) s.destroy();
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    await upstream.stop();
    expect(out).not.toMatch(/EMFILE/);
    const audit = join(dir, 'audit');
    const text = (await Promise.all((await readdir(audit)).filter((n) => n.endsWith('.jsonl') && !n.includes('unsealed')).map((n) => readFile(join(audit, n), 'utf8')))).join('');
    for (let i = 0; i < 30; i++) expect(text).toContain(`"qname":"fd${i}.tiktok.com"`);
  }, 60_000);
});
