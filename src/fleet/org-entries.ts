// The organisation's own list entries: records of the admin change log (one per add or
// remove), and the entries they leave when folded in order. The change log is the only
// source of truth; this is its current state, rebuilt from it at start.
import type { ChainRecord } from './chain-file.ts';

export type ChangeAction = 'add' | 'remove';

/** One admin change: who, when, what, why, and the list's version before and after. */
export interface ChangeRecord extends ChainRecord {
  /** When the change was made (ISO 8601 UTC, ms). */
  ts: string;
  /** The replica that took it. */
  instance: string;
  /** The API token's name (auth.tokens[].name). */
  actor: string;
  action: ChangeAction;
  list: string;
  domain: string;
  reason: string;
  list_version_before: string;
  list_version_after: string;
}

/** Member order of the API and exports. */
export const CHANGE_FIELDS = ['seq', 'ts', 'instance', 'actor', 'action', 'list', 'domain', 'reason', 'list_version_before', 'list_version_after', 'prev', 'hash'] as const;

/** Why a (hash-checked) record is not a change record, or undefined. */
export function changeShapeProblem(r: Readonly<Record<string, unknown>>): string | undefined {
  for (const field of CHANGE_FIELDS) if (!(field in r)) return `field "${field}" is missing`;
  if (r.action !== 'add' && r.action !== 'remove') return `action ${JSON.stringify(r.action)} is not "add" or "remove"`;
  for (const field of ['ts', 'instance', 'actor', 'list', 'domain', 'reason', 'list_version_before', 'list_version_after'] as const) {
    if (typeof r[field] !== 'string') return `${field} is not a string`;
  }
  return undefined;
}

/** The change's members in CHANGE_FIELDS order. */
export function inChangeOrder(record: Readonly<Record<string, unknown>>): ChangeRecord {
  const out: Record<string, unknown> = {};
  for (const field of CHANGE_FIELDS) out[field] = record[field];
  return out as ChangeRecord;
}

export interface OrgEntry {
  domain: string;
  reason: string;
  actor: string;
  /** When it was added (ISO). */
  ts: string;
  /** The change record that added it. */
  seq: number;
}

export class OrgEntries {
  private readonly byList = new Map<string, Map<string, OrgEntry>>();

  /** Folds one change in (records must come in seq order). */
  apply(record: ChangeRecord): void {
    let entries = this.byList.get(record.list);
    if (record.action === 'add') {
      if (!entries) this.byList.set(record.list, (entries = new Map()));
      entries.set(record.domain, { domain: record.domain, reason: record.reason, actor: record.actor, ts: record.ts, seq: record.seq });
    } else {
      entries?.delete(record.domain);
      if (entries?.size === 0) this.byList.delete(record.list);
    }
  }

  /** A list's organisation entries, sorted by name. */
  of(list: string): OrgEntry[] {
    return [...(this.byList.get(list)?.values() ?? [])].sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  }

  get(list: string, domain: string): OrgEntry | undefined {
    return this.byList.get(list)?.get(domain);
  }

  /** The entries a list would have after `record` (not applied). */
  after(record: Pick<ChangeRecord, 'action' | 'list' | 'domain' | 'reason' | 'actor' | 'ts' | 'seq'>): OrgEntry[] {
    const rest = this.of(record.list).filter((e) => e.domain !== record.domain);
    if (record.action === 'remove') return rest;
    return [...rest, { domain: record.domain, reason: record.reason, actor: record.actor, ts: record.ts, seq: record.seq }].sort((a, b) => (a.domain < b.domain ? -1 : 1));
  }

  /** Lists that have organisation entries. */
  lists(): string[] {
    return [...this.byList.keys()].sort();
  }
}
