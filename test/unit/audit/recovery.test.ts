import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointLog } from '../../../src/audit/checkpoint-log.ts';
import { GENESIS, encodeEvent } from '../../../src/audit/event.ts';
import { rawPublicKey } from '../../../src/audit/keys.ts';
import { ensureAuditDir, lastGoodSeal, recoverChain } from '../../../src/audit/recovery.ts';
import { type UnsignedSeal, sealLine, signSeal } from '../../../src/audit/seal.ts';
import { KEY, captureLogs, decision, tempDir, writeLog } from './helpers.ts';

const FILE = 'audit-a-2026-11-28-000.jsonl';
const RUN = '2026-11-28T13:00:00.000Z';

function checkpoints(dir: string): CheckpointLog {
  return new CheckpointLog({ dir, instance: 'a', signingKey: KEY, publicKeyRaw: rawPublicKey(KEY), runStarted: RUN, fsync: false, now: Date.now });
}

async function fileLines(dir: string, name = FILE): Promise<Record<string, unknown>[]> {
  return (await readFile(join(dir, name), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

function eventLine(i: number, seq: number, prev: string): { line: string; hash: string } {
  const d = decision(i);
  return encodeEvent({ ts: new Date(d.ts).toISOString(), instance: 'a', segment: d.segment, client: d.client, qname: d.qname, qtype: 'A', action: d.action, list: d.list, rule: d.rule, list_version: d.listVersion, response: d.response }, seq, prev);
}

describe('recoverChain', () => {
  it('starts an empty directory at the genesis', async () => {
    const dir = await tempDir();
    expect(await recoverChain(dir, 'a', checkpoints(dir), captureLogs().logger, RUN)).toEqual({
      seq: 0,
      hash: GENESIS,
      file: '',
      current: undefined,
      checkpointedSeq: 0,
      anchor: undefined,
      tail: undefined,
    });
  });

  it('continues from the last good seal, in its file, at its size', async () => {
    const dir = await tempDir();
    await writeLog(dir, 4);
    const all = await fileLines(dir);
    const size = (await readFile(join(dir, FILE))).length;
    const chain = await recoverChain(dir, 'a', checkpoints(dir), captureLogs().logger, RUN);
    expect(chain).toMatchObject({ seq: 4, hash: all[3]!.hash, file: FILE, current: { date: '2026-11-28', index: 0, name: FILE, bytes: size }, checkpointedSeq: 4, tail: undefined });
    expect(chain.anchor).toMatchObject({ reason: 'shutdown', seq: 4 });
  });

  it('moves an incomplete last line aside (copied, then cut), with a warning', async () => {
    const dir = await tempDir();
    await writeLog(dir, 2);
    const before = await readFile(join(dir, FILE), 'utf8');
    await appendFile(join(dir, FILE), '{"seq":3,"ha');
    const { logger, lines } = captureLogs();
    const chain = await recoverChain(dir, 'a', checkpoints(dir), logger, RUN);
    expect(chain.seq).toBe(2);
    expect(await readFile(join(dir, FILE), 'utf8')).toBe(before);
    expect(chain.tail).toMatchObject({ after: 'shutdown', lines: 0, partial_bytes: 12, bytes: 12, files: 1, moved_to: 'audit-a.unsealed-20261128T130000000Z.jsonl' });
    expect(await readFile(join(dir, chain.tail!.moved_to), 'utf8')).toBe('{"seq":3,"ha');
    expect(lines.find((l) => l.level === 40)).toMatchObject({ partialBytes: 12 });
  });

  it('describes what follows the last seal: how many lines, which seqs, whether they continue the chain', async () => {
    const dir = await tempDir();
    await writeLog(dir, 2);
    const head = (await fileLines(dir)).at(-1)!;
    const e3 = eventLine(3, 3, head.hash as string);
    const e4 = eventLine(4, 4, e3.hash);
    await appendFile(join(dir, FILE), e3.line + e4.line);
    const { logger, lines } = captureLogs();
    const chain = await recoverChain(dir, 'a', checkpoints(dir), logger, RUN);
    expect(chain.tail).toMatchObject({ after: 'shutdown', after_run: '2026-11-28T12:00:00.000Z', had_checkpoints: true, lines: 2, first_seq: 3, last_seq: 4, chained: true, bad_seals: 0, partial_bytes: 0 });
    expect(chain.tail!.sha256).toMatch(/^[0-9a-f]{64}$/);
    // After a clean shutdown they cannot be dnsward's: an error, not a warning.
    expect(lines.find((l) => l.level === 50)).toMatchObject({ code: 'DNSWARD_ERR_AUDIT_CHAIN', lines: 2, firstSeq: 3 });
  });

  it('does not stop at a seal that does not verify: it is part of the tail', async () => {
    const dir = await tempDir();
    await writeLog(dir, 2);
    const all = (await readFile(join(dir, FILE), 'utf8')).trim().split('\n');
    const forgedSeal = JSON.parse(all.at(-1)!) as Record<string, unknown>;
    forgedSeal.seq = 5;
    await appendFile(join(dir, FILE), JSON.stringify(forgedSeal) + '\n');
    const chain = await recoverChain(dir, 'a', checkpoints(dir), captureLogs().logger, RUN);
    expect(chain.seq).toBe(2);
    expect(chain.tail).toMatchObject({ lines: 1, bad_seals: 1, chained: false });
  });

  it('does not continue from a signed seal whose hash is not 64 hex digits: it is part of the tail', async () => {
    const dir = await tempDir();
    await writeLog(dir, 2);
    const all = (await readFile(join(dir, FILE), 'utf8')).trim().split('\n');
    const last = JSON.parse(all.at(-1)!) as UnsignedSeal;
    const odd = signSeal({ reason: 'shutdown', instance: 'a', run_started: last.run_started, ts: last.ts, seq: 2, hash: 'not-a-hash', count: 0 }, KEY);
    await appendFile(join(dir, FILE), sealLine(odd));
    const chain = await recoverChain(dir, 'a', checkpoints(dir), captureLogs().logger, RUN);
    expect(chain).toMatchObject({ seq: 2, hash: JSON.parse(all.at(-1)!).hash });
    expect(chain.tail).toMatchObject({ lines: 1, bad_seals: 1 });
  });

  it('moves newer files without a good seal aside whole, and everything when the log has no good seal at all', async () => {
    const dir = await tempDir();
    await writeLog(dir, 2);
    await writeFile(join(dir, 'audit-a-2026-11-29-000.jsonl'), 'x\ny\n');
    const chain = await recoverChain(dir, 'a', checkpoints(dir), captureLogs().logger, RUN);
    expect(chain).toMatchObject({ seq: 2, file: FILE, tail: { lines: 2, files: 1 } });
    expect((await readdir(dir)).filter((n) => n.endsWith('-000.jsonl'))).toEqual([FILE]);

    const bare = await tempDir();
    await writeFile(join(bare, FILE), eventLine(1, 1, GENESIS).line);
    const none = await recoverChain(bare, 'a', checkpoints(bare), captureLogs().logger, RUN);
    expect(none).toMatchObject({ seq: 0, hash: GENESIS, current: undefined, tail: { after: 'none', lines: 1, chained: true, first_seq: 1, had_checkpoints: false } });
    expect((await readdir(bare)).filter((n) => n.endsWith('-000.jsonl'))).toEqual([]);
  });

  it('never writes over an earlier set-aside file', async () => {
    const dir = await tempDir();
    await writeLog(dir, 1);
    await appendFile(join(dir, FILE), 'a');
    const first = await recoverChain(dir, 'a', checkpoints(dir), captureLogs().logger, RUN);
    await appendFile(join(dir, FILE), 'b');
    const second = await recoverChain(dir, 'a', checkpoints(dir), captureLogs().logger, RUN);
    expect(second.tail!.moved_to).not.toBe(first.tail!.moved_to);
    expect(await readFile(join(dir, first.tail!.moved_to), 'utf8')).toBe('a');
    expect(await readFile(join(dir, second.tail!.moved_to), 'utf8')).toBe('b');
  });

  it('reports (and continues) when the log is shorter than its last signed checkpoint', async () => {
    const dir = await tempDir();
    await writeLog(dir, 5);
    // A checkpoint of a head the log does not reach (as when records were cut off).
    const { logger, lines: logs } = captureLogs();
    const cps = checkpoints(dir);
    await cps.append({ kind: 'head', reason: 'interval', seq: 9, hash: GENESIS, file: FILE, dropped: 0 });
    const chain = await recoverChain(dir, 'a', cps, logger, RUN);
    expect(chain).toMatchObject({ seq: 5, checkpointedSeq: 9 });
    expect(logs.find((l) => l.level === 50)).toMatchObject({ code: 'DNSWARD_ERR_AUDIT_CHAIN', checkpointSeq: 9, logSeq: 5 });
  });
});

describe('lastGoodSeal', () => {
  it('finds the last seal line that verifies and belongs to the instance, and where its line ends', async () => {
    const dir = await tempDir();
    await writeLog(dir, 3);
    const text = await readFile(join(dir, FILE), 'utf8');
    expect(await lastGoodSeal(join(dir, FILE), 'a')).toMatchObject({ seal: { reason: 'shutdown', seq: 3 }, end: Buffer.byteLength(text) });
    expect(await lastGoodSeal(join(dir, FILE), 'b')).toBeUndefined();
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
