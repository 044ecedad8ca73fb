// Witnessing: each replica records the other replicas' newest signed block-log checkpoints in
// its own hash-chained, checkpointed witness log (witness-<instance>.jsonl in audit.dir). A
// log rewritten on one host then contradicts what its peers witnessed, and `audit verify`
// given the directories of several replicas cross-checks them (src/fleet/verify-fleet.ts).
// A checkpoint is recorded only when its signature holds, at most once per witness interval
// per peer, and always when it contradicts an earlier one (a head that went back, or another
// hash for a seq already witnessed): that is evidence, and it is logged as an error.
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { type Checkpoint, checkCheckpointSignature, isCheckpoint } from '../audit/checkpoint.ts';
import { checkpointFileName, lastCompleteLine } from '../audit/files.ts';
import { publicKeyFromRaw } from '../audit/keys.ts';
import { join } from 'node:path';
import { ErrorCodes } from '../errors.ts';
import { ChainFile } from './chain-file.ts';

/** One witness record (chained: seq, prev, hash). */
export interface WitnessRecord {
  ts: string;
  /** The witness (this replica). */
  instance: string;
  peer: string;
  /** The peer's signed checkpoint, as the peer published it. */
  checkpoint: Checkpoint;
}

export interface WitnessOptions {
  dir: string;
  instance: string;
  signingKey: KeyObject;
  fsync: boolean;
  logger: Logger;
  intervalMs: number;
  now?: () => number;
}

interface Witnessed {
  seq: number;
  hash: string;
  key: string;
  at: number;
}

export class WitnessLog {
  private readonly file: ChainFile;
  private readonly options: WitnessOptions;
  private readonly log: Logger;
  private readonly last = new Map<string, Witnessed>();
  /** Records written by this process. */
  recorded = 0;
  /** Contradictions seen by this process (a peer's head went back or changed). */
  contradictions: string[] = [];

  private constructor(file: ChainFile, options: WitnessOptions) {
    this.file = file;
    this.options = options;
    this.log = options.logger.child({ component: 'witness' });
  }

  static async open(options: WitnessOptions): Promise<WitnessLog> {
    const seen: { peer: string; cp: Checkpoint; ts: string }[] = [];
    const file = await ChainFile.open({ ...options, kind: 'witness' }, (record) => {
      const r = record as unknown as WitnessRecord;
      if (typeof r.peer === 'string' && isCheckpoint(r.checkpoint)) seen.push({ peer: r.peer, cp: r.checkpoint, ts: r.ts });
    });
    const log = new WitnessLog(file, options);
    for (const s of seen) log.last.set(s.peer, { seq: s.cp.seq, hash: s.cp.hash, key: s.cp.key, at: Date.parse(s.ts) });
    return log;
  }

  /** The peers' latest witnessed heads. */
  witnessed(): Record<string, { seq: number; at: string }> {
    return Object.fromEntries([...this.last].map(([peer, w]) => [peer, { seq: w.seq, at: new Date(w.at).toISOString() }]));
  }

  /** Records the peers' checkpoints that are new enough (or contradict what was witnessed); returns how many. */
  async witness(peers: readonly { instance: string; checkpoint: unknown }[]): Promise<number> {
    const now = (this.options.now ?? Date.now)();
    let written = 0;
    for (const { instance: peer, checkpoint } of peers) {
      if (peer === this.options.instance || !isCheckpoint(checkpoint) || checkpoint.kind !== 'head' || checkpoint.instance !== peer) continue;
      const bad = signatureProblem(checkpoint);
      if (bad) {
        this.log.warn({ peer, seq: checkpoint.seq, problem: bad }, 'a peer published a checkpoint whose signature does not hold; not witnessed');
        continue;
      }
      const before = this.last.get(peer);
      const contradiction = before && (checkpoint.seq < before.seq || (checkpoint.seq === before.seq && checkpoint.hash !== before.hash));
      if (contradiction) {
        const what = `${peer} published seq ${checkpoint.seq} (${checkpoint.hash.slice(0, 12)}) after seq ${before.seq} (${before.hash.slice(0, 12)}) was witnessed: its block log went back or was rewritten`;
        this.contradictions.push(what);
        this.log.error({ code: ErrorCodes.AUDIT_CHAIN, peer }, what);
      } else if (before && (checkpoint.seq === before.seq || now - before.at < this.options.intervalMs)) {
        continue;
      }
      if (before && before.key !== checkpoint.key) this.log.warn({ peer, key: checkpoint.key }, 'a peer signs with another key than before');
      const body: WitnessRecord = { ts: new Date(now).toISOString(), instance: this.options.instance, peer, checkpoint };
      await this.file.appendNew(body as unknown as Record<string, unknown>);
      this.last.set(peer, { seq: checkpoint.seq, hash: checkpoint.hash, key: checkpoint.key, at: now });
      written++;
    }
    if (written > 0) {
      this.recorded += written;
      await this.file.checkpoint('interval');
    }
    return written;
  }

  async close(): Promise<void> {
    await this.file.checkpoint('shutdown');
  }
}

function signatureProblem(cp: Checkpoint): string | undefined {
  try {
    return checkCheckpointSignature(cp, publicKeyFromRaw(cp.key));
  } catch (error) {
    return `malformed key: ${(error as Error).message}`;
  }
}

/** This replica's newest signed head checkpoint of its block log (undefined before the first). */
export async function latestCheckpoint(dir: string, instance: string): Promise<Checkpoint | undefined> {
  try {
    const { text } = await lastCompleteLine(join(dir, checkpointFileName(instance)));
    const parsed: unknown = text === undefined ? undefined : JSON.parse(text);
    return isCheckpoint(parsed) && parsed.kind === 'head' ? parsed : undefined;
  } catch {
    return undefined;
  }
}
