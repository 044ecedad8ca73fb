// DoH and DoT throughput of dnsward next to its UDP figure (`npm run bench -- --encrypted`).
// DoT: dnsperf -m dot (framed queries over TLS, many in flight per connection). DoH: h2load
// (nghttp2-client) with HTTP/2 GET URLs, one per query of the mix: dnsperf 2.10's DoH mode
// handles one answer per read and aborts when two streams complete together, so it cannot
// keep more than one query in flight.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runDnsperf, type DnsperfOptions } from './dnsperf.ts';
import { assertLoopback } from './probe.ts';
import { CLOCK_TICKS_PER_SECOND, runToEnd, treeCpuTicks } from './procs.ts';
import type { Server } from './servers.ts';

export interface EncryptedRun {
  mix: string;
  transport: 'dot' | 'doh';
  qps: number;
  /** Queries that got no answer (dnsperf), or requests that failed, errored or timed out (h2load). */
  failed: number;
  serverCpuPct: number;
  command: string;
}

/** A self-signed P-256 certificate for 127.0.0.1 (the bench's clients do not check it). */
export function makeBenchCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'bench-dns.pem');
  const key = join(dir, 'bench-dns.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=bench', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

/** A DNS query (ID 0, as RFC 8484 advises, RD set) for "name TYPE". */
function wireQuery(name: string, type: string): Buffer {
  const types: Record<string, number> = { A: 1, NS: 2, CNAME: 5, MX: 15, TXT: 16, AAAA: 28, HTTPS: 65 };
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  const header = Buffer.from([0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(types[type.toUpperCase()] ?? 1, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([header, qname, tail]);
}

/** Turns a dnsperf query file into h2load's URL file: one GET /dns-query?dns= per line. */
export async function writeDohUrls(queryFile: string, port: number, out: string): Promise<void> {
  const lines = (await readFile(queryFile, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  const urls = lines.map((l) => {
    const [name = '', type = 'A'] = l.trim().split(/\s+/);
    return `https://127.0.0.1:${port}/dns-query?dns=${wireQuery(name, type).toString('base64url')}`;
  });
  await writeFile(out, `${urls.join('\n')}\n`);
}

function parseH2load(output: string): { rps: number; failed: number } {
  const rps = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(output)?.[1];
  const req = /requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(output);
  if (rps === undefined || req === null) throw new Error(`could not parse h2load output:\n${output.slice(-2000)}`);
  return { rps: Number(rps), failed: Number(req[1]) + Number(req[2]) + Number(req[3]) };
}

export interface EncryptedOptions {
  server: Server;
  /** The mixes to run, each with its dnsperf query file (blocked, cached: no miss mix, whose names must never repeat). */
  mixes: { mix: string; file: string }[];
  seconds: number;
  warmup: number;
  dir: string;
  dnsperf: Pick<DnsperfOptions, 'clients' | 'outstanding' | 'threads' | 'timeout'>;
  log: (msg: string) => void;
}

/** DoT then DoH on every mix, each after its own warm-up; connections as many as dnsperf's clients, streams per connection = outstanding / clients. */
export async function runEncrypted(o: EncryptedOptions): Promise<EncryptedRun[]> {
  const { server } = o;
  if (server.dotPort === undefined || server.dohPort === undefined) throw new Error(`${server.name} was started without DoH and DoT`);
  if (!existsSync('/usr/bin/h2load')) throw new Error('/usr/bin/h2load is missing: apt-get install nghttp2-client');
  assertLoopback('127.0.0.1');
  const runs: EncryptedRun[] = [];
  const timed = async (run: () => Promise<{ qps: number; failed: number; command: string }>): Promise<{ qps: number; failed: number; command: string; serverCpuPct: number }> => {
    const cpu0 = treeCpuTicks(server.proc.pid);
    const t0 = performance.now();
    const r = await run();
    const wall = (performance.now() - t0) / 1000;
    return { ...r, serverCpuPct: Math.round(((treeCpuTicks(server.proc.pid) - cpu0) / CLOCK_TICKS_PER_SECOND / wall) * 1000) / 10 };
  };
  for (const { mix, file } of o.mixes) {
    const dot = async (seconds: number) => {
      const { stats } = await runDnsperf({ ...o.dnsperf, port: server.dotPort as number, file, seconds, mode: 'dot' });
      return { qps: stats.qps, failed: stats.lost, command: stats.command };
    };
    o.log(`[${mix}] ${server.name} over DoT: warm-up ${o.warmup} s, then ${o.seconds} s`);
    if (o.warmup > 0) await dot(o.warmup);
    runs.push({ mix, transport: 'dot', ...(await timed(() => dot(o.seconds))) });

    const urls = join(o.dir, `doh-${mix}.urls`);
    await writeDohUrls(file, server.dohPort, urls);
    const streams = Math.max(1, Math.round(o.dnsperf.outstanding / o.dnsperf.clients));
    const doh = async (seconds: number) => {
      const args = ['-i', urls, '-c', String(o.dnsperf.clients), '-m', String(streams), '-t', String(o.dnsperf.threads), '-D', String(seconds)];
      const { output } = await runToEnd('h2load', 'h2load', args, { role: 'load' });
      const r = parseH2load(output);
      return { qps: r.rps, failed: r.failed, command: `h2load ${args.join(' ')} (GET /dns-query?dns=...)` };
    };
    o.log(`[${mix}] ${server.name} over DoH: warm-up ${o.warmup} s, then ${o.seconds} s`);
    if (o.warmup > 0) await doh(o.warmup);
    runs.push({ mix, transport: 'doh', ...(await timed(() => doh(o.seconds))) });
    for (const r of runs.slice(-2)) o.log(`  ${r.transport}: ${Math.round(r.qps).toLocaleString('en-US')} qps, failed ${r.failed}, server CPU ${r.serverCpuPct}%`);
  }
  return runs;
}
