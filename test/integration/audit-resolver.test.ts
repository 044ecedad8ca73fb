// The block log behind the real resolver: exact event counts for a scripted mix of blocked,
// logged and allowed queries (CNAME cloaking included), pseudonyms on the personal segment,
// and nothing lost when the server stops with queries in flight (in-process stop, and a real
// SIGTERM to `dnsward serve`).
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { appendFile, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEvent, eventHash } from '../../src/audit/event.ts';
import { createAuditSink } from '../../src/audit/index.ts';
import { verifyAuditPath } from '../../src/audit/verify.ts';
import { startDnsward } from '../../src/app.ts';
import type { Config } from '../../src/config/schema.ts';
import { buildQuery, queryTcp, queryUdp } from '../helpers/dns-client.ts';
import { testConfig } from '../helpers/dnsward-server.ts';
import { StubUpstream, defaultHandler, rr } from '../helpers/stub-upstream.ts';
import { tempDir } from '../unit/audit/helpers.ts';

const SERVICE = '127.0.0.2';
const PERSONAL = '127.0.0.3';
const NULLSEG = '127.0.0.4';
const REFUSESEG = '127.0.0.5';
const DEFAULT = '127.0.0.1';

let upstream: StubUpstream;

beforeAll(async () => {
  upstream = await new StubUpstream((q) => {
    if (q.qname === 'cloaked.example') return { answers: [rr.cname('cloaked.example', 'edge.tiktokcdn.com'), rr.a('edge.tiktokcdn.com', '192.0.2.9')] };
    return defaultHandler(q);
  }).start();
});
afterAll(async () => {
  await upstream?.stop();
});

async function auditConfig(extra: Record<string, unknown> = {}): Promise<{ config: Config; dir: string }> {
  const root = await tempDir('dnsward-audit-e2e-');
  const dir = join(root, 'audit');
  const config = testConfig(upstream.port, {
    dns: { listen: ['127.0.0.1:0'], allow: ['127.0.0.0/8', '::1/128'], upstream_timeout_ms: 400, query_timeout_ms: 1500, rate_limit: { enabled: false } },
    audit: { dir, signing_key_file: join(root, 'keys', 'signing.key'), pseudonym_secret_file: join(root, 'keys', 'pseudonym.key'), flush_interval_ms: 100, fsync: false },
    ...extra,
  });
  return { config, dir };
}

const silent = pino({ level: 'silent' });

async function readEvents(dir: string): Promise<AuditEvent[]> {
  const names = (await readdir(dir)).filter((n) => /-\d{3}\.jsonl$/.test(n)).sort();
  const out: AuditEvent[] = [];
  for (const n of names) {
    // Seal lines (the signature ending each write) are not events.
    for (const line of (await readFile(join(dir, n), 'utf8')).split('\n')) if (line && !line.startsWith('{"type":')) out.push(JSON.parse(line) as AuditEvent);
  }
  return out;
}

async function allFilesText(dir: string): Promise<string> {
  const names = await readdir(dir);
  return (await Promise.all(names.map((n) => readFile(join(dir, n), 'utf8')))).join('\n');
}

describe('block log behind the resolver', () => {
  it('records exactly one event per block and log-only decision, none for allowed queries', async () => {
    const { config, dir } = await auditConfig();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
    const sink = await createAuditSink(config, logger);
    const app = await startDnsward(config, { logger, decisions: sink });
    const port = app.dns[0]!.port;
    try {
      // service (block): 5 listed names over UDP and TCP, A/AAAA/HTTPS, + one CNAME-cloaked name; 3 unlisted names.
      for (const [name, type] of [['tiktok.com', 1], ['www.tiktok.com', 28], ['api.tiktokv.com', 65], ['musical.ly', 1]] as const) {
        expect((await queryUdp(port, { name, type, from: SERVICE })).rcode).toBe(3);
      }
      expect((await queryTcp(port, { name: 'v16.tiktokcdn.com', from: SERVICE })).rcode).toBe(3);
      expect((await queryUdp(port, { name: 'cloaked.example', from: SERVICE })).rcode).toBe(3);
      for (const name of ['example.org', 'example.net', 'nottiktok.com']) expect((await queryUdp(port, { name, from: SERVICE })).rcode).toBe(0);
      // personal (log): 4 listed names (one twice), one cloaked; 2 unlisted.
      for (const name of ['tiktok.com', 'www.tiktok.com', 'www.tiktok.com', 'musical.ly']) expect((await queryUdp(port, { name, from: PERSONAL })).rcode).toBe(0);
      expect((await queryUdp(port, { name: 'cloaked.example', from: PERSONAL })).rcode).toBe(0);
      for (const name of ['example.org', 'example.com']) await queryUdp(port, { name, from: PERSONAL });
      // null / refused segments: one each.
      await queryUdp(port, { name: 'tiktok.com', from: NULLSEG });
      await queryUdp(port, { name: 'tiktok.com', from: REFUSESEG });
      // default (allow): listed names, no events.
      for (const name of ['tiktok.com', 'www.tiktok.com', 'cloaked.example']) expect((await queryUdp(port, { name, from: DEFAULT })).rcode).toBe(0);
    } finally {
      await app.stop();
    }

    const events = await readEvents(dir);
    const summary = events.map((e) => `${e.segment} ${e.action} ${e.qname} ${e.qtype} ${e.rule} ${e.response}`);
    expect(summary).toEqual([
      'service blocked tiktok.com A tiktok.com nxdomain',
      'service blocked www.tiktok.com AAAA tiktok.com nxdomain',
      'service blocked api.tiktokv.com HTTPS tiktokv.com nxdomain',
      'service blocked musical.ly A musical.ly nxdomain',
      'service blocked v16.tiktokcdn.com A tiktokcdn.com nxdomain',
      'service blocked cloaked.example A cname:tiktokcdn.com nxdomain',
      'personal logged tiktok.com A tiktok.com answer',
      'personal logged www.tiktok.com A tiktok.com answer',
      'personal logged www.tiktok.com A tiktok.com answer',
      'personal logged musical.ly A musical.ly answer',
      'personal logged cloaked.example A cname:tiktokcdn.com answer',
      'nullseg blocked tiktok.com A tiktok.com null',
      'refuseseg blocked tiktok.com A tiktok.com refused',
    ]);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    for (const e of events) {
      expect(e.instance).toBe('test');
      expect(e.list).toBe('tiktok');
      expect(e.list_version).toBe(app.lists.get('tiktok')!.version);
      expect(e.ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
    expect(events.filter((e) => e.segment === 'service').every((e) => e.client === SERVICE)).toBe(true);
    const personal = events.filter((e) => e.segment === 'personal');
    expect(new Set(personal.map((e) => e.client)).size).toBe(1);
    expect(personal[0]!.client).toMatch(/^anon:[0-9a-f]{16}$/);
    expect(await allFilesText(dir)).not.toContain(PERSONAL);
    expect(lines.join('')).not.toContain(PERSONAL);
    const report = await verifyAuditPath(dir);
    expect(report.problems).toEqual([]);
    expect(report.instances[0]).toMatchObject({ lastSeq: 13, lastCheckpointSeq: 13 });
  });

  it.each([true, false])('loses nothing when the server stops with queries in flight (worker thread: %s)', async (workerThread) => {
    const { config, dir } = await auditConfig();
    config.audit.worker_thread = workerThread;
    const sink = await createAuditSink(config, silent);
    const app = await startDnsward(config, { logger: silent, decisions: sink });
    const port = app.dns[0]!.port;
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, SERVICE, () => resolve()));
    let answered = 0;
    socket.on('message', (msg) => {
      if ((msg.readUInt16BE(2) & 0xf) === 3) answered++;
    });
    let sent = 0;
    let stopping: Promise<void> | undefined;
    for (let burst = 0; burst < 40; burst++) {
      for (let i = 0; i < 100; i++) {
        socket.send(buildQuery({ name: `h${sent}.tiktok.com`, id: sent & 0xffff }), port, '127.0.0.1');
        sent++;
      }
      await new Promise((r) => setImmediate(r));
      if (burst === 20) stopping = app.stop();
    }
    await stopping;
    await new Promise((r) => setTimeout(r, 50));
    socket.close();
    const stats = sink.stats();
    const events = await readEvents(dir);
    expect(answered).toBeGreaterThan(100);
    expect(stats.dropped).toBe(0);
    expect(stats.written).toBe(stats.recorded);
    expect(events).toHaveLength(stats.recorded);
    expect(events.length).toBeGreaterThanOrEqual(answered);
    expect(events.length).toBeLessThanOrEqual(sent);
    const report = await verifyAuditPath(dir);
    expect(report.problems).toEqual([]);
    expect(report.instances[0]!.lastCheckpointSeq).toBe(events.length);
  });

  it('loses nothing across a real SIGTERM to dnsward serve with queries in flight', async () => {
    const { dir, file } = await serveConfig('sigterm');
    const serve = await startServe(file);
    const traffic = await sendBursts(serve.port, { bursts: 60, during: (burst) => burst === 30 && serve.child.kill('SIGTERM') });
    expect(await serve.exited).toEqual({ code: 0, signal: null });
    const events = await readEvents(dir);
    expect(traffic.answered).toBeGreaterThan(100);
    expect(events.length).toBeGreaterThanOrEqual(traffic.answered);
    expect(events.length).toBeLessThanOrEqual(traffic.sent);
    const report = await verifyAuditPath(dir);
    expect(report.problems).toEqual([]);
    expect(report.instances[0]!.lastCheckpointSeq).toBe(events.length);
  });

  it('verifies after a SIGKILL in mid-burst and a restart: a write cut short is set aside, declared, and not adopted', async () => {
    const { dir, file } = await serveConfig('killed');
    const first = await startServe(file);
    // Two sealed writes first (a flush interval is 100 ms), then a burst the kill interrupts.
    for (let i = 0; i < 2; i++) {
      await sendBursts(first.port, { bursts: 1 });
      await new Promise((r) => setTimeout(r, 250));
    }
    const traffic = await sendBursts(first.port, { bursts: 60, during: (burst) => burst === 30 && first.child.kill('SIGKILL') });
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(traffic.answered).toBeGreaterThan(100);
    const [name] = await eventFileNames(dir);
    const path = join(dir, name!);
    // The kill came between two writes or inside one. The kernel can stop a write at a page
    // boundary when the process is killed; the test makes sure that case is exercised too:
    // it cuts the last write (events and seal) in the middle of its second line.
    const text = await readFile(path, 'utf8');
    const lines = text.split('\n').slice(0, -1);
    const lastSeal = lines.findLastIndex((l) => l.startsWith('{"type":"seal"'));
    const before = lines.slice(0, lastSeal).findLastIndex((l) => l.startsWith('{"type":"seal"'));
    expect(before).toBeGreaterThan(0);
    expect(lastSeal - before).toBeGreaterThan(2);
    const writeStart = Buffer.byteLength(lines.slice(0, before + 1).map((l) => l + '\n').join(''));
    const cutAt = writeStart + Buffer.byteLength(lines[before + 1]! + '\n') + 40;
    await truncate(path, cutAt);
    const signed = JSON.parse(lines[before]!) as { seq: number; hash: string };
    const sealedSeq = signed.seq;

    const second = await startServe(file);
    const after = await sendBursts(second.port, { bursts: 2 });
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(after.answered).toBeGreaterThan(0);

    const verify = await cli(['audit', 'verify', dir, '--public-key', join(dir, 'audit-killed.pub.pem')]);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`unsealed tail: 1 record(s), seq ${sealedSeq + 1}..${sealedSeq + 1} of a write the run started`);
    expect(verify.stdout).toContain('an incomplete last line (40 bytes, a write cut in mid-line) was cut at the restart');
    expect(verify.stdout).toMatch(/note: instance killed: the run started \S+ ended without a shutdown seal/);
    // Not adopted: the restarted run continued from the last sealed record.
    const events = await readEvents(dir);
    const firstNew = events.find((e) => e.seq === sealedSeq + 1)!;
    expect(firstNew.prev).toBe(signed.hash);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
  });

  it('does not sign records appended while it was stopped: verify with the pinned key fails naming the first forged seq', async () => {
    const { dir, file } = await serveConfig('forged');
    const first = await startServe(file);
    await sendBursts(first.port, { bursts: 1 });
    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });

    // The attacker, who can write audit.dir but has no key, appends two records with correctly
    // recomputed hashes that continue the chain.
    const [name] = await eventFileNames(dir);
    const path = join(dir, name!);
    const last = (await readEvents(dir)).at(-1)!;
    let prev = last.hash;
    let forged = '';
    for (const seq of [last.seq + 1, last.seq + 2]) {
      const record: Record<string, unknown> = { ...last, seq, prev, qname: `innocent${seq}.example`, ts: new Date().toISOString() };
      delete record.hash;
      record.hash = eventHash(record);
      prev = record.hash as string;
      forged += JSON.stringify(record) + '\n';
    }
    await appendFile(path, forged);

    const second = await startServe(file);
    await sendBursts(second.port, { bursts: 1 });
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });

    const verify = await cli(['audit', 'verify', dir, '--public-key', join(dir, 'audit-forged.pub.pem')]);
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(new RegExp(`^DNSWARD_ERR_AUDIT_CHAIN: ${name}:\\d+: seq ${last.seq + 1}: 2 line\\(s\\), seq ${last.seq + 1}\\.\\.${last.seq + 2} after the last seal were set aside .*dnsward did not write them`));
    // Never under a genuine signature: not in the log, which went on from the signed head.
    const events = await readEvents(dir);
    expect(events.some((e) => e.qname.startsWith('innocent'))).toBe(false);
    expect(events.find((e) => e.seq === last.seq + 1)?.prev).toBe(last.hash);
  });
});

/** A config file for `dnsward serve` with its own block log: 127.0.0.2 is a blocking segment. */
async function serveConfig(instance: string): Promise<{ dir: string; file: string }> {
  const { config, dir } = await auditConfig();
  const file = join(dir, '..', 'dnsward.yaml');
  const yaml = {
    dns: config.dns,
    upstreams: config.upstreams,
    // Relative paths resolve against the config file's directory (a temporary one here).
    lists: { dir: join(process.cwd(), 'lists') },
    segments: [{ name: 'service', networks: [`${SERVICE}/32`], action: 'block', lists: ['tiktok'] }, { name: 'default', networks: ['0.0.0.0/0'], action: 'allow' }],
    http: { enabled: false },
    api: { enabled: false },
    audit: config.audit,
    instance,
  };
  await writeFile(file, JSON.stringify(yaml));
  return { dir, file };
}

interface Serve {
  child: ChildProcessWithoutNullStreams;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts bin/dnsward serve and resolves once it is ready, with its DNS port. */
async function startServe(file: string): Promise<Serve> {
  const child = spawn(process.execPath, ['bin/dnsward', 'serve', '--config', file], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready: ${out}`)), 15_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"msg":"dnsward ready"/.test(out) && /"dns":\["127\.0\.0\.1:(\d+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return { child, port, exited };
}

/** Bursts of 100 listed names from the blocking segment, 2 ms apart; `during` runs after each burst. */
async function sendBursts(port: number, options: { bursts: number; during?: (burst: number) => unknown }): Promise<{ sent: number; answered: number }> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, SERVICE, () => resolve()));
  let answered = 0;
  socket.on('message', (msg) => {
    if ((msg.readUInt16BE(2) & 0xf) === 3) answered++;
  });
  let sent = 0;
  for (let burst = 0; burst < options.bursts; burst++) {
    for (let i = 0; i < 100; i++) {
      socket.send(buildQuery({ name: `s${sent}-${port}.tiktok.com`, id: sent & 0xffff }), port, '127.0.0.1');
      sent++;
    }
    await new Promise((r) => setTimeout(r, 2));
    options.during?.(burst);
  }
  await new Promise((r) => setTimeout(r, 200));
  socket.close();
  return { sent, answered };
}

async function eventFileNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => /-\d{3}\.jsonl$/.test(n)).sort();
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/dnsward', ...args], (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}
