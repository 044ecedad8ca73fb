import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointLog } from '../../../src/audit/checkpoint-log.ts';
import { GENESIS } from '../../../src/audit/event.ts';
import { rawPublicKey } from '../../../src/audit/keys.ts';
import { ensureAuditDir, recoverChain } from '../../../src/audit/recovery.ts';
import { KEY, captureLogs, tempDir, writeLog } from './helpers.ts';

const FILE = 'audit-a-2026-11-28-000.jsonl';

function checkpoints(dir: string): CheckpointLog {
  return new CheckpointLog({ dir, instance: 'a', signingKey: KEY, publicKeyRaw: rawPublicKey(KEY), runStarted: 'x', fsync: false, now: Date.now });
}

async function lastRecord(dir: string, name = FILE): Promise<{ seq: number; hash: string }> {
  const lines = (await readFile(join(dir, name), 'utf8')).trim().split('\n');
  return JSON.parse(lines.at(-1)!) as { seq: number; hash: string };
}

describe('recoverChain', () => {
  it('starts an empty directory at the genesis', async () => {
    const dir = await tempDir();
    const { logger } = captureLogs();
    expect(await recoverChain(dir, 'a', checkpoints(dir), logger)).toEqual({ seq: 0, hash: GENESIS, file: '', current: undefined, checkpointedSeq: 0 });
  });

  it('continues from the last event of the newest file, whose size it reports', async () => {
    const dir = await tempDir();
    await writeLog(dir, 4);
    const last = await lastRecord(dir);
    const size = (await readFile(join(dir, FILE))).length;
    const chain = await recoverChain(dir, 'a', checkpoints(dir), captureLogs().logger);
    expect(chain).toEqual({ seq: 4, hash: last.hash, file: FILE, current: { date: '2026-11-28', index: 0, name: FILE, bytes: size }, checkpointedSeq: 4 });
  });

  it('cuts an incomplete last line, with a warning', async () => {
    const dir = await tempDir();
    await writeLog(dir, 2);
    const before = await readFile(join(dir, FILE), 'utf8');
    await appendFile(join(dir, FILE), '{"seq":3,"ha');
    const { logger, lines } = captureLogs();
    const chain = await recoverChain(dir, 'a', checkpoints(dir), logger);
    expect(chain.seq).toBe(2);
    expect(await readFile(join(dir, FILE), 'utf8')).toBe(before);
    expect(lines.find((l) => l.level === 40)).toMatchObject({ file: FILE, bytes: 12 });
  });

  it('looks back past an empty newest file', async () => {
    const dir = await tempDir();
    await writeLog(dir, 3);
    await writeFile(join(dir, 'audit-a-2026-11-29-000.jsonl'), '');
    const chain = await recoverChain(dir, 'a', checkpoints(dir), captureLogs().logger);
    expect(chain).toMatchObject({ seq: 3, file: FILE, current: { name: 'audit-a-2026-11-29-000.jsonl', bytes: 0 } });
  });

  it('refuses a last line that is not an event, naming the file and the command to run', async () => {
    const dir = await tempDir();
    await writeLog(dir, 2);
    await appendFile(join(dir, FILE), '{"seq":"x"}\n');
    await expect(recoverChain(dir, 'a', checkpoints(dir), captureLogs().logger)).rejects.toMatchObject({ code: 'DNSWARD_ERR_AUDIT_CHAIN', message: expect.stringContaining(`${FILE}: the last line is not a valid event`) });
  });

  it('reports (and continues) when the log is shorter than its last signed checkpoint', async () => {
    const dir = await tempDir();
    await writeLog(dir, 5);
    const lines = (await readFile(join(dir, FILE), 'utf8')).split('\n');
    await writeFile(join(dir, FILE), lines.slice(0, 3).join('\n') + '\n');
    const { logger, lines: logs } = captureLogs();
    const chain = await recoverChain(dir, 'a', checkpoints(dir), logger);
    expect(chain).toMatchObject({ seq: 3, checkpointedSeq: 5 });
    expect(logs.find((l) => l.level === 50)).toMatchObject({ code: 'DNSWARD_ERR_AUDIT_CHAIN', checkpointSeq: 5, logSeq: 3 });
  });
});

describe('ensureAuditDir', () => {
  it('creates the directory, or names audit.dir when it cannot', async () => {
    const root = await tempDir();
    await ensureAuditDir(join(root, 'a', 'b'));
    await writeFile(join(root, 'file'), 'x');
    await expect(ensureAuditDir(join(root, 'file', 'sub'))).rejects.toMatchObject({ code: 'DNSWARD_ERR_AUDIT_WRITE', message: expect.stringContaining('audit.dir: cannot create') });
  });
});
