// Adding and removing the organisation's own list entries (POST and DELETE
// /api/lists/<name>/entries). A change is checked (a valid name, a reason, not on the
// never-block list, not already there), appended to the shared change log in one
// compare-and-append step (retried when another replica appended first), then taken into this
// replica's copy and its policy before the answer, and announced so that every other replica
// installs it too. Without the shared state a change is refused, never kept half-made.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { findListedSuffix, isSameOrSubdomain, normalizeDomain } from '../dns/domain-name.ts';
import { parseListFile } from '../lists/list-file.ts';
import type { ListRegistry } from '../lists/registry.ts';
import type { ListSnapshot } from '../lists/types.ts';
import { type SharedState, SharedStateUnavailable } from '../state/types.ts';
import { chainLine } from './chain-file.ts';
import type { ChangeLog } from './change-log.ts';
import { type ChangeAction, type ChangeRecord, inChangeOrder } from './org-entries.ts';
import { withOrgEntries } from './overlay.ts';

export interface ChangeRequest {
  action: ChangeAction;
  list: string;
  /** As given; normalised here. */
  domain: string;
  reason: unknown;
  /** The token's name. */
  actor: string;
}

export interface ListSummary {
  name: string;
  version: string;
  entries: number;
  /** The organisation's entries on it. */
  org_entries: number;
}

export type ChangeOutcome =
  | { ok: true; change: ChangeRecord; list: ListSummary }
  | { ok: false; status: 400 | 404 | 409 | 503; error: string; message: string };

export interface ListChangesDeps {
  state: SharedState;
  changes: ChangeLog;
  lists: ListRegistry;
  instance: string;
  /** lists.dir: never-block.txt is read from here. */
  listsDir: string;
  logger: Logger;
  now?: () => number;
}

const MAX_REASON = 500;
const ATTEMPTS = 5;

export class ListChanges {
  private readonly deps: ListChangesDeps;
  private readonly log: Logger;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(deps: ListChangesDeps) {
    this.deps = deps;
    this.log = deps.logger.child({ component: 'changes' });
  }

  /** One change at a time per replica; the shared log orders the replicas' changes. */
  change(request: ChangeRequest): Promise<ChangeOutcome> {
    const run = this.queue.then(() => this.apply(request));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async apply(request: ChangeRequest): Promise<ChangeOutcome> {
    const domain = normalizeDomain(request.domain);
    if (domain === undefined) return refuse(400, 'bad_request', `"${request.domain}" is not a domain name; write e.g. "tiktok-mirror.example" (an entry covers its subdomains too)`);
    const reason = typeof request.reason === 'string' ? request.reason.trim() : '';
    if (reason === '' || reason.length > MAX_REASON || [...reason].some((c) => c < ' ' || c === '\u007f')) {
      return refuse(400, 'bad_request', `reason: say why, in 1..${MAX_REASON} characters on one line (it goes into the admin change log)`);
    }
    const base = this.deps.lists.base(request.list);
    if (base === undefined) return refuse(404, 'not_found', `no list "${request.list}"; use one of: ${this.deps.lists.names().join(', ') || '(none loaded)'}`);
    if (request.action === 'add') {
      const rule = await this.neverBlockRule(domain);
      if (rule) return refuse(409, 'never_block', rule);
      const suffix = await publicSuffix(domain);
      if (suffix) return refuse(409, 'public_suffix', suffix);
    }
    const { state, changes } = this.deps;
    if (state.status().state !== 'up') return unavailable(state);
    try {
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        await changes.sync(state);
        if (changes.problem) return refuse(503, 'unavailable', `list changes are refused while the shared change log disagrees with this replica's copy: ${changes.problem}`);
        const conflict = this.conflict(request.action, base, request.list, domain);
        if (conflict) return conflict;
        const head = changes.head;
        const ts = new Date((this.deps.now ?? Date.now)()).toISOString();
        const body = { ts, instance: this.deps.instance, actor: request.actor, action: request.action, list: request.list, domain, reason };
        const after = changes.entries.after({ ...body, seq: head.seq + 1 });
        const versions = { list_version_before: this.deps.lists.get(request.list)?.version ?? base.version, list_version_after: withOrgEntries(base, after).version };
        const { line, record } = chainLine({ ...body, ...versions }, head.seq + 1, head.hash);
        if ((await state.appendChanges(head, [line])) !== true) continue; // another replica appended first
        await changes.sync(state);
        state.publish({ type: 'changes', seq: record.seq, from: this.deps.instance }).catch((error: unknown) => this.log.warn({ err: error }, 'could not announce a list change; other replicas pick it up within a heartbeat'));
        const change = inChangeOrder(record);
        this.log.info({ seq: change.seq, actor: change.actor, action: change.action, list: change.list, domain, version: change.list_version_after }, 'list change in force');
        return { ok: true, change, list: this.summary(request.list) };
      }
      return refuse(503, 'unavailable', `the change log kept moving (${ATTEMPTS} attempts); try again`);
    } catch (error) {
      if (error instanceof SharedStateUnavailable) return unavailable(state, error);
      throw error;
    }
  }

  summary(name: string): ListSummary {
    const list = this.deps.lists.get(name);
    return { name, version: list?.version ?? '', entries: list ? (list.set?.size ?? list.domains.length) : 0, org_entries: this.deps.changes.entries.of(name).length };
  }

  /** Why the change cannot be made to the list as it is now, or undefined. */
  private conflict(action: ChangeAction, base: ListSnapshot, list: string, domain: string): ChangeOutcome | undefined {
    const entries = this.deps.changes.entries;
    const own = entries.get(list, domain);
    const baseNames = base.set ?? new Set(base.domains);
    if (action === 'remove') {
      if (own) return undefined;
      if (baseNames.has(domain)) {
        return refuse(409, 'maintained_entry', `"${domain}" is an entry of the maintained list "${list}", not one the organisation added: the organisation can only remove its own entries; to stop blocking it for some clients, put it on their segment's allowlist`);
      }
      return refuse(404, 'not_found', `"${domain}" is not an organisation entry of list "${list}"`);
    }
    if (own) return refuse(409, 'exists', `"${domain}" is already an organisation entry of list "${list}" (added by ${own.actor} at ${own.ts})`);
    const covering = findListedSuffix(domain, baseNames);
    if (covering) return refuse(409, 'exists', `"${domain}" is already blocked by "${covering}" in the list "${list}"`);
    const orgNames = new Set(entries.of(list).map((e) => e.domain));
    const orgCovering = findListedSuffix(domain, orgNames);
    if (orgCovering) return refuse(409, 'exists', `"${domain}" is already blocked by the organisation entry "${orgCovering}"`);
    return undefined;
  }

  /** The never-block rule the name would break, as a sentence, or undefined. */
  private async neverBlockRule(domain: string): Promise<string | undefined> {
    const { NEVER_BLOCK_FILE } = await import('../lists/check.ts');
    const file = join(this.deps.listsDir, NEVER_BLOCK_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    for (const entry of parseListFile(text, file).entries) {
      if (isSameOrSubdomain(entry.domain, domain)) {
        return `"${domain}" would block "${entry.domain}", which ${file}:${entry.line} says must never be blocked (${entry.note || 'shared infrastructure'}); add a specific host instead`;
      }
    }
    return undefined;
  }
}

/** Refuses a public suffix or an IP address (an unknown top-level domain, e.g. an internal one, is allowed). */
async function publicSuffix(domain: string): Promise<string | undefined> {
  // tldts (the public suffix list) loads only when a change is made.
  const { publicSuffixProblem } = await import('../lists/check.ts');
  const problem = publicSuffixProblem(domain);
  return problem && !problem.includes('unknown top-level domain') ? `"${domain}" ${problem}` : undefined;
}

function refuse(status: 400 | 404 | 409 | 503, error: string, message: string): ChangeOutcome {
  return { ok: false, status, error, message };
}

function unavailable(state: SharedState, error?: Error): ChangeOutcome {
  const status = state.status();
  const why = error?.message ?? status.error ?? `it is ${status.state}`;
  return refuse(503, 'unavailable', `list changes are refused while the shared state (Redis) is unreachable (${why}), so that no replica misses one; the lists in force stay as they are; try again when /healthz no longer reports redis`);
}
