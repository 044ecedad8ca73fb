// One replica's part in the fleet, wired over the shared state (Redis, or memory for a lone
// replica: the same code either way). open() runs before the policy is first built, so the
// organisation's entries from this replica's copy of the change log are in force from the
// first query, whether or not Redis is there; start() begins the background work: following
// the change log (pub/sub, and a poll every heartbeat), heartbeats, witnessing, shipping the
// block log into the stream. None of it is on the query path, and none of it waits for Redis.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Checkpoint } from '../audit/checkpoint.ts';
import { loadSigningKey, rawPublicKey } from '../audit/keys.ts';
import type { AuditReader } from '../audit/reader.ts';
import type { AuditWriterStats, WrittenFeed } from '../audit/writer.ts';
import type { Config } from '../config/schema.ts';
import type { ListRegistry } from '../lists/registry.ts';
import type { FleetEvent, SharedState } from '../state/types.ts';
import { SharedStateUnavailable } from '../state/types.ts';
import { ChangeLog } from './change-log.ts';
import { ListChanges } from './list-changes.ts';
import { withOrgEntries } from './overlay.ts';
import { StreamAuditReader } from './stream-reader.ts';
import { StreamShipper } from './stream-shipper.ts';
import { buildFleetView, type FleetView, forgotten, type Heartbeat } from './view.ts';
import { latestCheckpoint, WitnessLog } from './witness.ts';

export interface FleetRuntime {
  version: string;
  /** The block log (absent when decisions go elsewhere, e.g. in tests). */
  audit?: { stats(): AuditWriterStats; onWritten?: WrittenFeed | undefined } | undefined;
  policyGeneration: () => number;
  /** The replica's health (for the heartbeat). */
  health: () => { status: 'ok' | 'degraded'; degraded: string[] };
  /** Fetches a subscribed source now (another replica shared a new copy). */
  refreshSource?: (name: string) => void;
}

export interface FleetStats {
  redisUp: boolean;
  spooled: number;
  shipped: number;
  changesSeq: number;
  liveReplicas: number;
  witnessRecords: number;
  /** Stream spans shipped from the writer's hand-over (live) and read back from the files. */
  streamSpans: { live: number; files: number };
}

export class Fleet {
  readonly state: SharedState;
  readonly changeLog: ChangeLog;
  readonly changes: ListChanges;
  private readonly config: Config;
  private readonly log: Logger;
  private readonly lists: ListRegistry;
  private readonly witnessLog: WitnessLog | undefined;
  private shipper: StreamShipper | undefined;
  private runtime: FleetRuntime | undefined;
  private readonly run = randomBytes(6).toString('hex');
  private readonly started = new Date().toISOString();
  private ownCheckpoint: Checkpoint | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void)[] = [];
  private beating: Promise<void> | undefined;
  private nameConflict: string | undefined;
  private conflictSeen = 0;
  private liveReplicas = 1;

  private constructor(config: Config, logger: Logger, state: SharedState, lists: ListRegistry, changeLog: ChangeLog, witness: WitnessLog | undefined) {
    this.config = config;
    this.log = logger.child({ component: 'fleet' });
    this.state = state;
    this.lists = lists;
    this.changeLog = changeLog;
    this.witnessLog = witness;
    this.changes = new ListChanges({ state, changes: changeLog, lists, instance: config.instance, listsDir: config.lists.dir, logger });
  }

  /** Opens this replica's change log and witness log and puts the organisation's entries on the lists. */
  static async open(config: Config, logger: Logger, state: SharedState, lists: ListRegistry): Promise<Fleet> {
    const audit = config.audit;
    await mkdir(audit.dir, { recursive: true });
    const signing = await loadSigningKey(audit.signing_key_file);
    if (signing.created) logger.info({ component: 'fleet', file: audit.signing_key_file, key: rawPublicKey(signing.value) }, 'fleet: created a new signing key for the change log and witness log checkpoints');
    const signingKey = signing.value;
    const common = { dir: audit.dir, instance: config.instance, signingKey, fsync: audit.fsync, logger };
    const changeLog = await ChangeLog.open({ ...common, onChanged: (names) => lists.reapply(names) });
    const witness = audit.enabled && config.redis ? await WitnessLog.open({ ...common, intervalMs: config.redis.witness_interval_s * 1000 }) : undefined;
    const fleet = new Fleet(config, logger, state, lists, changeLog, witness);
    lists.setOverlay((base) => withOrgEntries(base, changeLog.entries.of(base.name)));
    lists.reapply();
    return fleet;
  }

  /** Starts the background work; returns at once (Redis may come later). */
  start(runtime: FleetRuntime): void {
    this.runtime = runtime;
    const audit = runtime.audit;
    if (this.state.kind === 'redis' && this.config.audit.enabled && audit) {
      this.shipper = new StreamShipper({
        dir: this.config.audit.dir,
        instance: this.config.instance,
        state: this.state,
        logger: this.log,
        headSeq: () => audit.stats().seq,
        retentionDays: this.config.redis?.stream_retention_days ?? 0,
        written: audit.onWritten?.bind(audit),
      });
      this.shipper.start();
    }
    this.unsubscribe.push(
      this.state.subscribe((event) => this.onEvent(event)),
      this.state.onStatus((status) => {
        if (status.state !== 'up') return;
        void this.syncChanges();
        void this.beat();
        void this.shipper?.tick();
      }),
    );
    const every = (this.config.redis?.heartbeat_interval_s ?? 2) * 1000;
    this.timer = setInterval(() => void this.beat(), every);
    this.timer.unref();
    void this.syncChanges();
    void this.beat();
  }

  /** The auditor API's reader: the fleet-wide stream with Redis, this replica's files without. */
  reader(local: AuditReader): AuditReader {
    return this.state.kind === 'redis' ? new StreamAuditReader(this.state, local) : local;
  }

  async view(): Promise<FleetView> {
    const self = await this.heartbeat();
    const beats = this.state.status().state === 'up' ? await this.state.replicas().catch(() => undefined) : undefined;
    return buildFleetView(self, beats, this.state.status(), Date.now());
  }

  /** Sentences for /healthz (the Redis state itself is reported there already). */
  degradations(): string[] {
    const out: string[] = [];
    if (this.changeLog.problem) out.push(`the admin change log cannot be followed: ${this.changeLog.problem}`);
    if (this.nameConflict) out.push(this.nameConflict);
    const contradiction = this.witnessLog?.contradictions.at(-1);
    if (contradiction) out.push(`witnessing: ${contradiction}`);
    return out;
  }

  stats(): FleetStats {
    const shipper = this.shipper?.stats();
    return {
      redisUp: this.state.status().state === 'up',
      spooled: shipper?.spooled ?? 0,
      shipped: shipper?.shipped ?? 0,
      changesSeq: this.changeLog.head.seq,
      liveReplicas: this.liveReplicas,
      witnessRecords: this.witnessLog?.recorded ?? 0,
      streamSpans: { ...(this.shipper?.spans ?? { live: 0, files: 0 }) },
    };
  }

  /** Stops the background work; call after the block log is closed, so its last events still reach the stream. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    await this.beating;
    await this.shipper?.stop();
    await this.changeLog.checkpoint('shutdown').catch((error: unknown) => this.log.error({ err: error }, 'change log: shutdown checkpoint failed'));
    await this.witnessLog?.close().catch((error: unknown) => this.log.error({ err: error }, 'witness log: shutdown checkpoint failed'));
    await this.state.close();
  }

  private onEvent(event: FleetEvent): void {
    if (event.type === 'resync' || (event.type === 'changes' && event.from !== this.config.instance)) void this.syncChanges();
    else if (event.type === 'source' && event.from !== this.config.instance) this.runtime?.refreshSource?.(event.name);
  }

  private async syncChanges(): Promise<void> {
    try {
      await this.changeLog.sync(this.state);
    } catch (error) {
      if (!(error instanceof SharedStateUnavailable)) this.log.error({ err: error }, 'following the admin change log failed; retrying at the next heartbeat');
    }
  }

  /** One heartbeat: look for missed changes, write ours, read the others', witness them. One at a time. */
  private beat(): Promise<void> {
    this.beating ??= this.beatOnce()
      .catch((error: unknown) => {
        if (!(error instanceof SharedStateUnavailable)) this.log.error({ err: error }, 'heartbeat failed');
      })
      .finally(() => {
        this.beating = undefined;
      });
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    if (this.config.audit.enabled) this.ownCheckpoint = (await latestCheckpoint(this.config.audit.dir, this.config.instance)) ?? this.ownCheckpoint;
    if (this.state.status().state !== 'up' && this.state.kind === 'redis') {
      // A command is the only way to notice that Redis answers again after a timeout.
      await this.state.changesHead().catch(() => undefined);
      return;
    }
    await this.syncChanges();
    const self = await this.heartbeat();
    const now = Date.now();
    const beats = await this.state.replicas();
    // Two processes under one name overwrite each other's heartbeat: each sees the other's now and then.
    const mine = beats[this.config.instance];
    const other = mine ? (JSON.parse(mine) as Heartbeat) : undefined;
    if (other && other.run !== this.run && now - Date.parse(other.ts) < 3 * other.interval_s * 1000) {
      this.nameConflict = `another process (started ${other.started}) writes heartbeats as instance "${this.config.instance}": give every replica its own instance name`;
      this.conflictSeen = now;
    } else if (this.nameConflict && now - this.conflictSeen > 3 * (this.config.redis?.heartbeat_interval_s ?? 2) * 1000) {
      this.nameConflict = undefined;
    }
    await this.state.putReplica(this.config.instance, JSON.stringify(self));
    const parsed = Object.values(beats).flatMap((json) => {
      try {
        return [JSON.parse(json) as Heartbeat];
      } catch {
        return [];
      }
    });
    this.liveReplicas = parsed.filter((b) => b.instance !== this.config.instance && now - Date.parse(b.ts) <= 3 * b.interval_s * 1000).length + 1;
    await this.witnessLog?.witness(parsed.map((b) => ({ instance: b.instance, checkpoint: b.checkpoint })));
    const old = forgotten(beats, now).filter((i) => i !== this.config.instance);
    if (old.length > 0) await this.state.removeReplicas(old);
  }

  private async heartbeat(): Promise<Heartbeat> {
    const runtime = this.runtime;
    const health = runtime?.health() ?? { status: 'ok' as const, degraded: [] };
    const auditStats = runtime?.audit?.stats();
    const shipper = this.shipper?.stats();
    const status = this.state.status();
    return {
      instance: this.config.instance,
      version: runtime?.version ?? '',
      run: this.run,
      started: this.started,
      ts: new Date().toISOString(),
      interval_s: this.config.redis?.heartbeat_interval_s ?? 2,
      status: health.status,
      degraded: health.degraded,
      policy_generation: runtime?.policyGeneration() ?? 0,
      lists: this.lists.all().map((l) => ({ name: l.name, version: l.version, entries: l.set?.size ?? l.domains.length, org_entries: this.changeLog.entries.of(l.name).length })),
      changes: this.changeLog.head,
      redis: { state: status.state, since: status.since },
      audit: auditStats && {
        written: auditStats.written,
        dropped: auditStats.dropped,
        buffered: auditStats.buffered,
        seq: auditStats.seq,
        shipped_seq: shipper?.shippedSeq ?? auditStats.seq,
        spooled: shipper?.spooled ?? 0,
      },
      checkpoint: this.ownCheckpoint,
    };
  }
}
