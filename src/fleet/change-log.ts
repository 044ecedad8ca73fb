// The admin change log as this replica holds it: a copy of the fleet's hash-chained log in
// audit.dir (changes-<instance>.jsonl, checkpointed by this replica's key), the organisation
// entries it leaves, and the sync with the shared state. The shared log (Redis, or memory for
// one replica) decides the order of changes; the copy makes them survive restarts, lets a
// replica start and enforce them while Redis is away, and refills Redis when it lost them.
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCodes } from '../errors.ts';
import type { ChainHead, SharedState } from '../state/types.ts';
import { ChainFile, chainProblem } from './chain-file.ts';
import { type ChangeRecord, changeShapeProblem, inChangeOrder, OrgEntries } from './org-entries.ts';

export interface ChangeLogOptions {
  dir: string;
  instance: string;
  signingKey: KeyObject;
  fsync: boolean;
  logger: Logger;
  /** Lists whose organisation entries changed (applied to the entries already). */
  onChanged: (lists: string[]) => void;
}

export class ChangeLog {
  readonly entries = new OrgEntries();
  private readonly file: ChainFile;
  private readonly lines: string[] = [];
  private readonly recordList: ChangeRecord[] = [];
  private readonly options: ChangeLogOptions;
  private readonly log: Logger;
  private syncing: Promise<void> | undefined;
  private again = false;
  /** Why the shared log cannot be followed (it disagrees with this copy), or undefined. */
  problem: string | undefined;

  private constructor(file: ChainFile, options: ChangeLogOptions) {
    this.file = file;
    this.options = options;
    this.log = options.logger.child({ component: 'changes' });
  }

  static async open(options: ChangeLogOptions): Promise<ChangeLog> {
    const records: { record: ChangeRecord; line: string }[] = [];
    const file = await ChainFile.open({ ...options, kind: 'changes' }, (record, line) => records.push({ record: record as ChangeRecord, line }));
    const log = new ChangeLog(file, options);
    for (const { record, line } of records) log.take(record, line);
    return log;
  }

  get head(): ChainHead {
    return this.file.head;
  }

  /** Every change, oldest first. */
  records(): readonly ChangeRecord[] {
    return this.recordList;
  }

  /**
   * Brings this copy and the shared log level: takes what the shared log has beyond it, or gives
   * the shared log what it lost. Concurrent calls share one run (and one more if asked meanwhile).
   * Rejects with SharedStateUnavailable when the shared state cannot be reached.
   */
  sync(state: SharedState): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.again = false;
          await this.syncOnce(state);
        } while (this.again);
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  async checkpoint(reason: 'interval' | 'shutdown'): Promise<void> {
    await this.file.checkpoint(reason);
  }

  private async syncOnce(state: SharedState): Promise<void> {
    const remote = await state.changesHead();
    const local = this.file.head;
    if (remote.seq === local.seq && remote.hash === local.hash) return this.clearProblem();
    if (remote.seq < local.seq) {
      // The shared log lost records (a Redis without persistence restarted, or a new one): give it ours.
      const ours = remote.seq === 0 ? undefined : this.recordList[remote.seq - 1];
      if (remote.seq > 0 && ours?.hash !== remote.hash) return this.diverged(`the shared change log ends at seq ${remote.seq} with another record than this replica's copy`);
      const result = await state.appendChanges(remote, this.lines.slice(remote.seq));
      if (result === true) {
        this.log.warn({ from: remote.seq + 1, to: local.seq }, 'the shared change log had lost changes; restored them from this replica\'s copy');
        await state.publish({ type: 'changes', seq: local.seq, from: this.options.instance }).catch(() => undefined);
      } else {
        this.again = true; // someone else wrote meanwhile: look again
      }
      return this.clearProblem();
    }
    const lines = await state.changesSince(local.seq);
    const fresh: string[] = [];
    let head = local;
    for (const line of lines) {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        record = undefined;
      }
      const problem = chainProblem(record, head) ?? changeShapeProblem(record as Record<string, unknown>);
      if (problem) return this.diverged(`shared change log record after seq ${head.seq}: ${problem}`);
      const r = record as ChangeRecord;
      head = { seq: r.seq, hash: r.hash };
      fresh.push(line);
    }
    if (fresh.length === 0) return;
    const appended = await this.file.appendChained(fresh);
    const changed = new Set<string>();
    appended.forEach((record, i) => {
      this.take(record as ChangeRecord, fresh[i] as string);
      changed.add((record as ChangeRecord).list);
    });
    this.clearProblem();
    this.log.info({ seq: head.seq, lists: [...changed] }, 'organisation list entries changed');
    this.options.onChanged([...changed]);
    await this.file.checkpoint('interval');
  }

  private take(record: ChangeRecord, line: string): void {
    this.recordList.push(inChangeOrder(record));
    this.lines.push(line);
    this.entries.apply(record);
  }

  private diverged(problem: string): void {
    if (this.problem !== problem) this.log.error({ code: ErrorCodes.AUDIT_CHAIN, problem }, 'the shared change log cannot be followed: list changes of other replicas are not applied here until it is resolved (docs/FLEET.md)');
    this.problem = problem;
  }

  private clearProblem(): void {
    if (this.problem !== undefined) this.log.info('the shared change log agrees with this replica\'s copy again');
    this.problem = undefined;
  }
}
