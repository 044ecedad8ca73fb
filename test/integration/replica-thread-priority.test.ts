// dns.background_nice on a real `dnsward serve`: the threads that never answer DNS (V8's
// helpers, libuv's pool, the feed thread) run at the configured nice value once it is ready;
// the main thread, which answers DNS, and the block-log thread keep the default.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { getPriority, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryUdp } from '../helpers/dns-client.ts';
import { serveUntilReady } from '../helpers/serve-process.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';

/** Name and nice value of every thread of `pid` (/proc/PID/task/TID/stat: the 19th field is the nice value). */
async function threadNices(pid: number): Promise<{ name: string; nice: number }[]> {
  const out: { name: string; nice: number }[] = [];
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '');
    const close = stat.lastIndexOf(')');
    if (close < 0) continue;
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    out.push({ name, nice: Number(fields[16]) });
  }
  return out;
}

describe('dns.background_nice', () => {
  it('lowers the background threads of a running server and leaves the DNS and block-log threads alone', async () => {
    // The server starts at this runner's nice value (above 0 under `nice npm test`).
    const base = getPriority();
    const lowered = Math.max(base, 9);
    const upstream = await new StubUpstream().start();
    const dir = await mkdtemp(join(tmpdir(), 'dnsward-nice-'));
    const file = join(dir, 'dnsward.yaml');
    await writeFile(
      file,
      [
        'dns: { listen: ["127.0.0.1:0"], allow: ["127.0.0.0/8"], background_nice: 9, workers: 2 }',
        `upstreams: ["127.0.0.1:${upstream.port}"]`,
        `lists: { dir: "${resolve('lists')}" }`,
        'segments:',
        '  - { name: service, networks: ["127.0.0.2/32"], action: block, lists: [tiktok] }',
        '  - { name: default, networks: ["0.0.0.0/0", "::/0"], action: allow }',
        'http: { listen: "127.0.0.1:0", thread: true }',
        'api: { listen: "127.0.0.1:0" }',
        `audit: { dir: ${JSON.stringify(join(dir, 'audit'))}, signing_key_file: ${JSON.stringify(join(dir, 'keys/s.key'))}, pseudonym_secret_file: ${JSON.stringify(join(dir, 'keys/p.key'))}, fsync: false, worker_thread: true }`,
        'instance: nice-test',
      ].join('\n'),
    );
    const serve = await serveUntilReady(file);
    try {
      const out = serve.stdout();
      expect(out).toContain('dnsward ready');
      expect(out).not.toContain('could not lower the priority');
      const threads = await threadNices(serve.pid);
      const named = (name: string): number[] => threads.filter((t) => t.name === name).map((t) => t.nice);
      expect(named('V8Worker').length).toBeGreaterThan(0);
      expect(named('libuv-worker').length).toBeGreaterThan(0);
      for (const name of ['V8Worker', 'libuv-worker', 'dnsward-feed']) expect(new Set(named(name)), name).toEqual(new Set([lowered]));
      expect(named('dnsward-audit')).toEqual([base]);
      expect(named('MainThread')).toEqual([base]);
      // The DNS worker threads (dns.workers: 2) answer DNS: they keep the default too.
      expect([...named('dnsward-dns-0'), ...named('dnsward-dns-1')]).toEqual([base, base]);
      // And it answers as before: a blocked name from the service segment, a forwarded one.
      const dnsPort = Number(/"dns":\["127\.0\.0\.1:(\d+)"/.exec(out)?.[1]);
      expect((await queryUdp(dnsPort, { name: 'www.tiktok.com', from: '127.0.0.2' })).rcode).toBe(3);
      expect((await queryUdp(dnsPort, { name: 'example.org' })).rcode).toBe(0);
    } finally {
      await serve.stop();
      await upstream.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
