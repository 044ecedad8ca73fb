// Adding and removing organisation entries on one replica (the fleet tests do several): every
// refusal says why, an accepted change carries the list version before and after, and without
// the shared state nothing is changed.
import { describe, expect, it } from 'vitest';
import { REDIS_DEFAULTS } from '../../../src/config/sections/redis.ts';
import { ChangeLog } from '../../../src/fleet/change-log.ts';
import { ListChanges } from '../../../src/fleet/list-changes.ts';
import { withOrgEntries } from '../../../src/fleet/overlay.ts';
import { loadListDir } from '../../../src/lists/list-file.ts';
import { ListRegistry } from '../../../src/lists/registry.ts';
import { MemoryState } from '../../../src/state/memory.ts';
import { RedisState } from '../../../src/state/redis.ts';
import type { SharedState } from '../../../src/state/types.ts';
import { freePort } from '../../integration/fleet-support.ts';
import { KEY, silent, tempDir } from '../audit/helpers.ts';

async function replica(state: SharedState = new MemoryState()): Promise<{ changes: ListChanges; lists: ListRegistry; log: ChangeLog }> {
  const lists = new ListRegistry();
  for (const s of await loadListDir('lists')) lists.set(s);
  const log = await ChangeLog.open({ dir: await tempDir(), instance: 'a', signingKey: KEY, fsync: false, logger: silent, onChanged: (names) => lists.reapply(names) });
  lists.setOverlay((base) => withOrgEntries(base, log.entries.of(base.name)));
  const changes = new ListChanges({ state, changes: log, lists, instance: 'a', listsDir: 'lists', logger: silent, now: () => Date.parse('2026-12-01T10:00:00.000Z') });
  return { changes, lists, log };
}

const add = (domain: string, reason: unknown = 'seen in the proxy logs', list = 'tiktok') => ({ action: 'add' as const, list, domain, reason, actor: 'alice' });

describe('ListChanges', () => {
  it('adds an entry: in force here at once, with who, when, why and both versions', async () => {
    const { changes, lists, log } = await replica();
    const before = lists.get('tiktok')?.version;
    const outcome = await changes.change(add('Mirror.Example.COM.'));
    expect(outcome).toMatchObject({
      ok: true,
      change: { seq: 1, ts: '2026-12-01T10:00:00.000Z', instance: 'a', actor: 'alice', action: 'add', list: 'tiktok', domain: 'mirror.example.com', reason: 'seen in the proxy logs', list_version_before: before },
      list: { name: 'tiktok', org_entries: 1 },
    });
    if (!outcome.ok) return;
    expect(lists.get('tiktok')?.version).toBe(outcome.change.list_version_after);
    expect(lists.get('tiktok')?.domains).toContain('mirror.example.com');
    expect(log.head.seq).toBe(1);
    const removed = await changes.change({ ...add('mirror.example.com', 'gone'), action: 'remove' });
    expect(removed).toMatchObject({ ok: true, change: { seq: 2, action: 'remove', list_version_before: outcome.change.list_version_after, list_version_after: before } });
    expect(lists.get('tiktok')?.version).toBe(before);
  });

  it('refuses with a status and a reason', async () => {
    const { changes, log } = await replica();
    const refusal = async (request: Parameters<ListChanges['change']>[0]) => {
      const o = await changes.change(request);
      return o.ok ? undefined : [o.status, o.error, o.message];
    };
    expect(await refusal(add('not a name'))).toEqual([400, 'bad_request', expect.stringContaining('is not a domain name')]);
    expect(await refusal(add('x.example.com', ''))).toEqual([400, 'bad_request', expect.stringContaining('reason: say why')]);
    expect(await refusal(add('x.example.com', 'two\nlines'))).toEqual([400, 'bad_request', expect.any(String)]);
    expect(await refusal(add('x.example.com', 5))).toEqual([400, 'bad_request', expect.any(String)]);
    expect(await refusal(add('x.example.com', 'r', 'nope'))).toEqual([404, 'not_found', expect.stringContaining('use one of: bytedance, doh-bypass, tiktok')]);
    expect(await refusal(add('cloudfront.net'))).toEqual([409, 'never_block', expect.stringMatching(/"cloudfront\.net" would block "cloudfront\.net", which lists\/never-block\.txt:\d+ says must never be blocked \(Amazon CloudFront\); add a specific host instead/)]);
    expect(await refusal(add('github.io'))).toEqual([409, 'public_suffix', expect.stringContaining('is a public suffix')]);
    expect(await refusal(add('www.tiktok.com'))).toEqual([409, 'exists', '"www.tiktok.com" is already blocked by "tiktok.com" in the list "tiktok"']);
    expect(await refusal({ ...add('tiktok.com'), action: 'remove' })).toEqual([409, 'maintained_entry', expect.stringContaining('the organisation can only remove its own entries')]);
    expect(await refusal({ ...add('nothing.example.com'), action: 'remove' })).toEqual([404, 'not_found', '"nothing.example.com" is not an organisation entry of list "tiktok"']);
    expect((await changes.change(add('corp.example'))).ok).toBe(true);
    expect(await refusal(add('corp.example'))).toEqual([409, 'exists', expect.stringContaining('already an organisation entry of list "tiktok" (added by alice at 2026-12-01T10:00:00.000Z)')]);
    expect(await refusal(add('www.corp.example'))).toEqual([409, 'exists', '"www.corp.example" is already blocked by the organisation entry "corp.example"']);
    // An unknown top-level domain (an internal name) is allowed.
    expect((await changes.change(add('tiktok-proxy.corp.internal'))).ok).toBe(true);
    expect(log.head.seq).toBe(2);
  });

  it('refuses every change while the shared state is unreachable, and changes nothing', async () => {
    const state = new RedisState({ ...REDIS_DEFAULTS, url: `redis://127.0.0.1:${await freePort()}/0` }, 'a', silent);
    try {
      const { changes, lists, log } = await replica(state);
      const before = lists.get('tiktok')?.version;
      const outcome = await changes.change(add('mirror.example.com'));
      expect(outcome).toMatchObject({ ok: false, status: 503, error: 'unavailable' });
      expect(outcome.ok ? '' : outcome.message).toContain('list changes are refused while the shared state (Redis) is unreachable');
      expect(lists.get('tiktok')?.version).toBe(before);
      expect(log.head.seq).toBe(0);
    } finally {
      await state.close();
    }
  });

  it('two replicas changing at once both succeed, one after the other in the chain', async () => {
    const state = new MemoryState();
    const a = await replica(state);
    const b = await replica(state);
    const [one, two] = await Promise.all([a.changes.change(add('one.example.com')), b.changes.change(add('two.example.com'))]);
    expect([one.ok, two.ok]).toEqual([true, true]);
    await a.log.sync(state);
    await b.log.sync(state);
    expect(a.log.head).toEqual(b.log.head);
    expect(a.log.head.seq).toBe(2);
    expect(a.lists.get('tiktok')?.version).toBe(b.lists.get('tiktok')?.version);
  });
});
