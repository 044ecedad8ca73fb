import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createAuditSink } from '../../../src/audit/index.ts';
import { sha256Path } from '../../../src/audit/sha256-into.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { decision, tempDir } from './helpers.ts';

/** The event lines of a file's text (seal lines left out). */
function eventLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('{"type":'));
}

const SEGMENTS = 'segments:\n  - { name: personal, networks: ["10.20.0.0/16"], action: log, lists: [tiktok], pseudonymize: true }\n';

describe('createAuditSink', () => {
  async function setup(extra: string): Promise<{ dir: string; keys: string; yaml: string }> {
    const root = await tempDir();
    const dir = join(root, 'audit');
    const keys = join(root, 'keys');
    const yaml = `${SEGMENTS}instance: a\naudit:\n  dir: ${dir}\n  signing_key_file: ${keys}/signing.key\n  pseudonym_secret_file: ${keys}/pseudonym.key\n${extra}`;
    return { dir, keys, yaml };
  }

  function capture(): { logger: Logger; lines: Record<string, unknown>[] } {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(...c.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)), cb()) }));
    return { logger, lines };
  }

  it('writes the block log, creating both keys outside audit.dir, and pseudonymises with the stored secret', async () => {
    const { dir, keys, yaml } = await setup('');
    const { logger, lines } = capture();
    const sink = await createAuditSink(parseConfig(yaml), logger);
    sink.record(decision(0, { segment: 'personal', client: '10.20.0.7', pseudonymize: true, action: 'logged', response: 'answer' }));
    await sink.close();
    expect((await readdir(keys)).sort()).toEqual(['pseudonym.key', 'signing.key']);
    const file = (await readdir(dir)).find((n) => n.endsWith('-000.jsonl'))!;
    const text = await readFile(join(dir, file), 'utf8');
    expect(text).toContain('"client":"anon:');
    expect(text).not.toContain('10.20.0.7');
    expect(JSON.stringify(lines)).not.toContain('10.20.0.7');
    expect(lines.some((l) => l.component === 'decision')).toBe(false);
    expect(sink.stats()).toMatchObject({ written: 1, seq: 1 });

    // A second start keeps the pseudonym (same secret file).
    const again = await createAuditSink(parseConfig(yaml), capture().logger);
    again.record(decision(1, { segment: 'personal', client: '10.20.0.7', pseudonymize: true, action: 'logged', response: 'answer' }));
    await again.close();
    const clients = eventLines(await readFile(join(dir, file), 'utf8')).map((l) => (JSON.parse(l) as { client: string }).client);
    expect(clients[0]).toBe(clients[1]);
  });

  it('says at info level when the block log hashes with node:crypto (DNSWARD_SHA256=js, FIPS, no addon), and not when the addon hashes', async () => {
    const { yaml } = await setup('');
    const { logger, lines } = capture();
    const sink = await createAuditSink(parseConfig(yaml), logger);
    await sink.close();
    const said = lines.filter((l) => String(l.msg).startsWith('block log: hashing with node:crypto'));
    // The js-sha256 project runs this with DNSWARD_SHA256=js, the others with the addon npm ci built.
    expect(said.length).toBe(sha256Path.path === 'js' ? 1 : 0);
    if (sha256Path.path === 'js') expect(said[0]).toMatchObject({ level: 30, reason: sha256Path.reason });
  });

  it('also writes one pino line per decision with log_decisions, without the address on pseudonymised segments', async () => {
    const { yaml } = await setup('  log_decisions: true\n');
    const { logger, lines } = capture();
    const sink = await createAuditSink(parseConfig(yaml), logger);
    sink.record(decision(0, { segment: 'personal', client: '10.20.0.7', pseudonymize: true, action: 'logged', response: 'answer' }));
    await sink.close();
    expect(lines.filter((l) => l.component === 'decision')).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toContain('10.20.0.7');
  });

  it('writes the same through the worker thread (worker_thread: true), and its close() ends the thread', async () => {
    const { dir, yaml } = await setup('  worker_thread: true\n');
    const sink = await createAuditSink(parseConfig(yaml), capture().logger);
    for (let i = 0; i < 2000; i++) sink.record(decision(i, { segment: 'personal', client: `10.20.0.${i % 7}`, pseudonymize: true, action: 'logged', response: 'answer' }));
    await sink.flush();
    expect(sink.stats()).toMatchObject({ recorded: 2000, written: 2000, dropped: 0, buffered: 0 });
    await sink.close();
    const file = (await readdir(dir)).find((n) => n.endsWith('-000.jsonl'))!;
    const text = await readFile(join(dir, file), 'utf8');
    expect(eventLines(text)).toHaveLength(2000);
    expect(text).not.toContain('10.20.0.');
    const { verifyAuditPath } = await import('../../../src/audit/verify.ts');
    const report = await verifyAuditPath(dir);
    expect(report.problems).toEqual([]);
    expect(report.instances[0]).toMatchObject({ lastSeq: 2000, lastCheckpointSeq: 2000 });
  });

  it('reports a worker-side start failure as the same coded error', async () => {
    const { dir, yaml } = await setup('  worker_thread: true\n');
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(join(dir, '..'), { recursive: true });
    await writeFile(dir, 'a file where audit.dir should be');
    await expect(createAuditSink(parseConfig(yaml), capture().logger)).rejects.toMatchObject({ code: 'DNSWARD_ERR_AUDIT_WRITE', message: expect.stringContaining('audit.dir: cannot create') });
  });

  it('prints the new signing key and its fingerprint at first start, so it can be pinned elsewhere', async () => {
    const { keys, yaml } = await setup('');
    const { logger, lines } = capture();
    await (await createAuditSink(parseConfig(yaml), logger)).close();
    const created = lines.find((l) => String(l.msg).includes('created a new signing key'));
    const { createPublicKey } = await import('node:crypto');
    const der = createPublicKey(await readFile(join(keys, 'signing.key'), 'utf8')).export({ format: 'der', type: 'spki' });
    const { createHash } = await import('node:crypto');
    expect(created).toMatchObject({ fingerprint: `sha256:${createHash('sha256').update(der).digest('hex')}` });
    const again = capture();
    await (await createAuditSink(parseConfig(yaml), again.logger)).close();
    expect(again.lines.some((l) => String(l.msg).includes('created a new signing key'))).toBe(false);
    expect(again.lines.find((l) => l.msg === 'block log opened')).toMatchObject({ fingerprint: created!.fingerprint });
  });

  it('only logs (no files, no keys) with enabled: false', async () => {
    const { dir, keys, yaml } = await setup('  enabled: false\n');
    const { logger, lines } = capture();
    const sink = await createAuditSink(parseConfig(yaml), logger);
    sink.record(decision(0));
    await sink.close();
    expect(lines.filter((l) => l.component === 'decision')).toHaveLength(1);
    await expect(readdir(dir)).rejects.toThrow();
    await expect(readdir(keys)).rejects.toThrow();
  });
});
