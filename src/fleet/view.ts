// The fleet view (GET /api/fleet): every live replica from its last heartbeat, and whether they
// all enforce the same lists. A heartbeat is what a replica says about itself every
// redis.heartbeat_interval_s; one not renewed for three intervals is no longer live.
import type { Checkpoint } from '../audit/checkpoint.ts';
import type { StateStatus } from '../state/types.ts';

export interface Heartbeat {
  instance: string;
  /** dnsward version. */
  version: string;
  /** Random per process: tells a restart, or two processes claiming one name, apart. */
  run: string;
  started: string;
  /** When this heartbeat was written. */
  ts: string;
  interval_s: number;
  status: 'ok' | 'degraded';
  degraded: string[];
  policy_generation: number;
  lists: { name: string; version: string; entries: number; org_entries: number }[];
  /** The admin change log as applied here. */
  changes: { seq: number; hash: string };
  redis: { state: StateStatus['state']; since: string };
  audit?: { written: number; dropped: number; buffered: number; seq: number; shipped_seq: number; spooled: number } | undefined;
  /** The newest signed checkpoint of this replica's block log (what the others witness). */
  checkpoint?: Checkpoint | undefined;
}

/** One replica in the fleet view (the dashboard reads instance, version, self, lists, last_heartbeat, redis, audit.written and audit.spooled). */
export interface ReplicaView {
  instance: string;
  version: string;
  /** The replica that answered. */
  self: boolean;
  last_heartbeat: string;
  age_s: number;
  /** Redis as this replica sees it: up, down or connecting. */
  redis: StateStatus['state'];
  redis_since: string;
  status: 'ok' | 'degraded';
  degraded: string[];
  started: string;
  policy_generation: number;
  lists: Heartbeat['lists'];
  changes: Heartbeat['changes'];
  audit: Heartbeat['audit'];
  /** The newest signed checkpoint of its block log. */
  checkpoint: { seq: number; ts: string } | null;
}

export interface FleetView {
  /** When the view was made (ISO), by which replica. */
  ts: string;
  by: string;
  redis: StateStatus;
  /** Live replicas, by name. */
  replicas: ReplicaView[];
  /** Replicas whose heartbeat stopped (kept for an hour), newest first. */
  gone: { instance: string; last_heartbeat: string; version: string }[];
  /** Per list: which replicas enforce which version. */
  lists: Record<string, Record<string, string[]>>;
  /** Every live replica enforces the same version of every list, and the same change log. */
  consistent: boolean;
  notes: string[];
}

/** Heartbeats older than this are dropped from the shared state. */
export const FORGET_AFTER_MS = 3_600_000;

export function buildFleetView(self: Heartbeat, beats: Record<string, string> | undefined, redis: StateStatus, now: number): FleetView {
  const notes: string[] = [];
  const all = new Map<string, Heartbeat>();
  for (const [instance, json] of Object.entries(beats ?? {})) {
    try {
      all.set(instance, JSON.parse(json) as Heartbeat);
    } catch {
      notes.push(`the heartbeat of ${instance} is not valid JSON`);
    }
  }
  all.set(self.instance, self);
  if (beats === undefined) notes.push('redis is unreachable: only this replica is shown');
  const live: FleetView['replicas'] = [];
  const gone: FleetView['gone'] = [];
  for (const beat of all.values()) {
    const age = now - Date.parse(beat.ts);
    if (beat.instance === self.instance || age <= 3 * beat.interval_s * 1000) live.push(replicaView(beat, beat.instance === self.instance, age));
    else if (age <= FORGET_AFTER_MS) gone.push({ instance: beat.instance, last_heartbeat: beat.ts, version: beat.version });
  }
  live.sort((a, b) => a.instance.localeCompare(b.instance));
  gone.sort((a, b) => b.last_heartbeat.localeCompare(a.last_heartbeat));
  const lists: FleetView['lists'] = {};
  for (const r of live) {
    for (const l of r.lists) {
      const versions = (lists[l.name] ??= {});
      (versions[l.version] ??= []).push(r.instance);
    }
  }
  const names = Object.keys(lists);
  const sameLists = names.every((name) => Object.keys(lists[name] ?? {}).length === 1 && Object.values(lists[name] ?? {})[0]?.length === live.length);
  const sameChanges = new Set(live.map((r) => `${r.changes.seq}:${r.changes.hash}`)).size <= 1;
  if (!sameChanges) notes.push('the replicas are at different points of the admin change log (a change is being installed, or one cannot follow it)');
  return { ts: new Date(now).toISOString(), by: self.instance, redis, replicas: live, gone, lists, consistent: sameLists && sameChanges, notes };
}

function replicaView(beat: Heartbeat, self: boolean, ageMs: number): ReplicaView {
  return {
    instance: beat.instance,
    version: beat.version,
    self,
    last_heartbeat: beat.ts,
    age_s: Math.max(0, Math.round(ageMs / 100) / 10),
    redis: beat.redis.state,
    redis_since: beat.redis.since,
    status: beat.status,
    degraded: beat.degraded,
    started: beat.started,
    policy_generation: beat.policy_generation,
    lists: beat.lists,
    changes: beat.changes,
    audit: beat.audit,
    checkpoint: beat.checkpoint ? { seq: beat.checkpoint.seq, ts: beat.checkpoint.ts } : null,
  };
}

/** Instances whose heartbeat is older than FORGET_AFTER_MS. */
export function forgotten(beats: Record<string, string>, now: number): string[] {
  return Object.entries(beats)
    .filter(([, json]) => {
      try {
        return now - Date.parse((JSON.parse(json) as Heartbeat).ts) > FORGET_AFTER_MS;
      } catch {
        return true;
      }
    })
    .map(([instance]) => instance);
}
