// `dnsward audit verify` and `dnsward audit export` as a user runs them: bin/dnsward in a child process.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decision, tempDir, writeLog } from '../unit/audit/helpers.ts';

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

describe('dnsward audit export', () => {
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
    expect(rows[0]).toBe('ts,instance,segment,client,qname,qtype,action,list,rule,list_version,response,seq,prev,hash');
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
