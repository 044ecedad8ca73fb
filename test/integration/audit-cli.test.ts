// `dnsward audit verify` and `dnsward audit export` as a user runs them: bin/dnsward in a child process.
import { execFile, spawn } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { keyFingerprint } from '../../src/audit/keys.ts';
import { FORMULA_CELL, HOSTILE_QNAMES, KEY, RAW_CONTROL, decision, parseCsv, tempDir, writeLog } from '../unit/audit/helpers.ts';

const run = promisify(execFile);
const FILE = 'audit-a-2026-11-28-000.jsonl';
const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/dnsward', ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Runs the CLI with its stdout read by `reader` (which may close it early, as `| head` does). */
function piped(args: string[], reader: (stdout: NodeJS.ReadableStream & { destroy(): void }) => void): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['bin/dnsward', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  reader(child.stdout);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

function mix(i: number): ReturnType<typeof decision> {
  return decision(i, { ts: T0 + i * 60_000, segment: i % 2 ? 'personal' : 'service', action: i % 2 ? 'logged' : 'blocked', pseudonymize: i % 2 === 1, client: i % 2 ? '10.20.0.9' : '10.10.0.5' });
}

describe('dnsward audit verify', () => {
  it('exits 0 on an intact log, and 1 naming file:line and seq after an edit', async () => {
    const dir = await tempDir();
    await writeLog(dir, 10, {}, mix);
    const ok = await cli(['audit', 'verify', dir]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('OK: instance a: 1 file(s), 10 good event(s) (seq 1..10), 1 checkpoint(s)');
    expect(ok.stdout).toContain('not pinned');
    const pinned = await cli(['audit', 'verify', join(dir, FILE), '--public-key', join(dir, 'audit-a.pub.pem')]);
    expect(pinned.code).toBe(0);
    expect(pinned.stdout).toContain('(pinned)');

    const path = join(dir, FILE);
    const lines = (await readFile(path, 'utf8')).split('\n');
    lines[6] = lines[6]!.replace('"segment":"service"', '"segment":"default"');
    await writeFile(path, lines.join('\n'));
    const bad = await cli(['audit', 'verify', dir]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe(`DNSWARD_ERR_AUDIT_CHAIN: ${FILE}:7: seq 7: content does not match its hash: the record was edited`);
    expect(bad.stdout).toContain('FAILED: instance a');
  });

  it('explains usage errors', async () => {
    const missing = await cli(['audit', 'verify', '/nonexistent/dnsward-audit']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('DNSWARD_ERR_USAGE: audit verify: /nonexistent/dnsward-audit does not exist');
    const none = await cli(['audit', 'verify']);
    expect(none.stderr).toContain('usage: dnsward audit verify DIR|FILE');
  });
});

describe('dnsward audit verify: what it refuses, and what it prints', () => {
  it('fails on a directory or a file that holds no block log', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'notes.txt'), 'hello\n');
    const empty = await cli(['audit', 'verify', dir]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('no block log here');
    await writeFile(join(dir, 'empty.jsonl'), '');
    const file = await cli(['audit', 'verify', join(dir, 'empty.jsonl')]);
    expect(file.code).toBe(1);
    expect(file.stderr).toContain('empty.jsonl:0: holds no block-log records');
  });

  it('prints the signing key with its fingerprint, and no control character from file names or records', async () => {
    const dir = await tempDir();
    await writeLog(dir, 3, {}, mix);
    const ok = await cli(['audit', 'verify', dir]);
    expect(ok.stdout).toContain(`(${keyFingerprint(KEY)}) (not pinned`);
    // A file named by someone who can write the directory: ESC and BEL in the instance part.
    await copyFile(join(dir, FILE), join(dir, 'audit-x\u001b]0;owned\u0007-2026-11-28-000.jsonl'));
    const bad = await cli(['audit', 'verify', dir]);
    expect(bad.code).toBe(1);
    expect(bad.stdout + bad.stderr).not.toMatch(RAW_CONTROL);
    expect(bad.stdout).toContain('[instance x\\027]0;owned\\007]');
  });

  it('ends quietly with its verdict when the reader of its output goes away (| head)', async () => {
    const dir = await tempDir();
    await writeLog(dir, 3, {}, mix);
    const res = await piped(['audit', 'verify', dir], (stdout) => stdout.destroy());
    expect(res).toEqual({ code: 0, stderr: '' });
    const lines = (await readFile(join(dir, FILE), 'utf8')).split('\n');
    lines[1] = lines[1]!.replace('"segment":"personal"', '"segment":"other"');
    await writeFile(join(dir, FILE), lines.join('\n'));
    const bad = await piped(['audit', 'verify', dir], (stdout) => stdout.destroy());
    expect(bad).toEqual({ code: 1, stderr: `DNSWARD_ERR_AUDIT_CHAIN: ${FILE}:2: seq 2: content does not match its hash: the record was edited\n` });
  });
});

describe('dnsward audit export', () => {
  it('fails on a missing directory instead of exporting nothing', async () => {
    const res = await cli(['audit', 'export', '--dir', '/nonexistent/dnsward-audit', '--from', '2026-11-28', '--to', '2026-11-29']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('DNSWARD_ERR_USAGE: audit export: /nonexistent/dnsward-audit is not a directory');
    expect(res.stderr).not.toContain('exported');
  });

  it('ends quietly when the reader goes away after the first lines (| head)', async () => {
    const dir = await tempDir();
    await writeLog(dir, 20_000, {}, (i) => decision(i, { ts: T0 + i }));
    let first = '';
    const res = await piped(['audit', 'export', '--dir', dir, '--from', '2026-11-28', '--to', '2026-11-29'], (stdout) => {
      stdout.once('data', (chunk: Buffer) => {
        first = chunk.toString();
        stdout.destroy();
      });
    });
    expect(first).toContain('"seq":1,');
    expect(res).toEqual({ code: 0, stderr: '' });
  });

  it('writes CSV where no cell is a formula and no control character is raw, whether read with "," or ";"', async () => {
    const dir = await tempDir();
    await writeLog(dir, HOSTILE_QNAMES.length, {}, (i) => decision(i, { qname: HOSTILE_QNAMES[i]!, rule: `cname:${HOSTILE_QNAMES[i]!}` }));
    const res = await cli(['audit', 'export', '--dir', dir, '--from', '2026-11-28', '--to', '2026-11-29', '--format', 'csv']);
    expect(res.code).toBe(0);
    expect(res.stdout).not.toMatch(RAW_CONTROL);
    for (const sep of [',', ';'] as const) {
      for (const cell of parseCsv(res.stdout, sep).flat()) expect(cell, `${sep}: ${cell}`).not.toMatch(FORMULA_CELL);
    }
    expect(parseCsv(res.stdout, ',')[1]![4]).toBe("x\\059\\061cmd\\124\\039\\032\\047C\\032calc\\039\\033A0\\059y.tiktok.com");
    // JSONL stays as it is.
    const jsonl = await cli(['audit', 'export', '--dir', dir, '--from', '2026-11-28', '--to', '2026-11-29']);
    expect(jsonl.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { qname: string }).qname)).toEqual(HOSTILE_QNAMES);
  });

  it('writes JSON Lines of a time range and segment, which verify as a chain fragment when unfiltered', async () => {
    const dir = await tempDir();
    await writeLog(dir, 20, {}, mix);
    const from = new Date(T0 + 5 * 60_000).toISOString();
    const to = new Date(T0 + 15 * 60_000).toISOString();
    const all = await cli(['audit', 'export', '--dir', dir, '--from', from, '--to', to]);
    expect(all.code).toBe(0);
    const events = all.stdout.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; client: string });
    expect(events.map((e) => e.seq)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(all.stdout).not.toContain('10.20.0.9');
    expect(all.stderr).toContain('exported 10 event(s)');
    const copy = join(dir, 'handed-over.jsonl');
    await writeFile(copy, all.stdout);
    expect((await cli(['audit', 'verify', copy])).code).toBe(0);

    const service = await cli(['audit', 'export', '--dir', dir, '--from', from, '--to', to, '--segment', 'service']);
    expect(service.stdout.trim().split('\n')).toHaveLength(5);
  });

  it('writes CSV with a header row, to a file with --output', async () => {
    const dir = await tempDir();
    await writeLog(dir, 4, {}, mix);
    const out = join(dir, 'export.csv');
    const res = await cli(['audit', 'export', '--dir', dir, '--from', '2026-11-28', '--to', '2026-11-29', '--format', 'csv', '--output', out]);
    expect(res.code).toBe(0);
    const rows = (await readFile(out, 'utf8')).split('\r\n').filter((l) => l !== '');
    expect(rows[0]).toBe('ts,instance,segment,client,qname,qtype,action,list,rule,list_version,response,transport,seq,prev,hash');
    expect(rows).toHaveLength(5);
  });

  it('reads audit.dir from --config, and names missing or bad options', async () => {
    const dir = await tempDir();
    await writeLog(dir, 3, {}, mix);
    const config = join(dir, 'c.yaml');
    await writeFile(config, `segments:\n  - { name: default, networks: ["0.0.0.0/0"], action: allow }\naudit:\n  dir: ${dir}\n`);
    const viaConfig = await cli(['audit', 'export', '--config', config, '--from', '2026-11-28', '--to', '2026-11-29']);
    expect(viaConfig.stdout.trim().split('\n')).toHaveLength(3);
    expect((await cli(['audit', 'export', '--dir', dir])).stderr).toContain('--from and --to are required');
    expect((await cli(['audit', 'export', '--dir', dir, '--from', 'x', '--to', '2026-11-29'])).stderr).toContain('--from "x" is not a time');
    expect((await cli(['audit', 'export', '--dir', dir, '--from', '2026-11-28', '--to', '2026-11-29', '--format', 'xml'])).stderr).toContain('--format "xml" is not valid');
  });
});
