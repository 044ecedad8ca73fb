// Three replicas on the real Redis share the organisation's list entries: a change made on any
// replica is in force on every replica within 2 seconds, refused with a reason when it must
// be, recorded in the admin change log (GET /api/audit/changes, `audit verify`), and it
// survives restarts, even one while Redis is unreachable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeRecord } from '../../src/fleet/org-entries.ts';
import { verifyFleetDirs } from '../../src/fleet/verify-fleet.ts';
import { queryUdp } from '../helpers/dns-client.ts';
import type { TestServer } from '../helpers/dnsward-server.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';
import { AUDITOR, api, dropPrefix, freePort, SHARED_REDIS, startReplica, uniquePrefix, waitFor } from './fleet-support.ts';

const SERVICE = '127.0.0.2';
const NAME = 'tiktok-mirror.example.com';

async function blocked(server: TestServer, name: string): Promise<boolean> {
  return (await queryUdp(server.port, { name, from: SERVICE })).rcode === 3;
}

describe('organisation list entries across a fleet', () => {
  const prefix = uniquePrefix('lists');
  const redis = { url: SHARED_REDIS, key_prefix: prefix };
  let upstream: StubUpstream;
  const replicas: TestServer[] = [];
  let a: TestServer;
  let b: TestServer;
  let c: TestServer;

  beforeAll(async () => {
    upstream = new StubUpstream();
    await upstream.start();
    for (const instance of ['a', 'b', 'c']) replicas.push(await startReplica({ instance, upstreamPort: upstream.port, redis }));
    [a, b, c] = replicas as [TestServer, TestServer, TestServer];
    for (const r of replicas) await waitFor('redis up', () => r.app.health.report().redis?.state === 'up');
  });

  afterAll(async () => {
    await Promise.allSettled(replicas.map((r) => r.stop()));
    await upstream?.stop();
    await dropPrefix(prefix);
  });

  it('an entry added on one replica is enforced on every replica within 2 seconds', async () => {
    expect(await blocked(b, `www.${NAME}`)).toBe(false);
    const started = Date.now();
    const added = await api(a, 'POST', '/api/lists/tiktok/entries', { body: { domain: NAME, reason: 'mirror of tiktok.com seen in the proxy logs' } });
    expect(added.status).toBe(201);
    const change = added.body.change as ChangeRecord;
    expect(change).toMatchObject({ seq: 1, instance: 'a', actor: 'alice', action: 'add', list: 'tiktok', domain: NAME, reason: 'mirror of tiktok.com seen in the proxy logs' });
    expect(change.list_version_before).not.toBe(change.list_version_after);
    expect(added.body.list).toMatchObject({ name: 'tiktok', version: change.list_version_after, org_entries: 1 });
    // In force on the replica that took it before the answer.
    expect(await blocked(a, `www.${NAME}`)).toBe(true);
    for (const r of [b, c]) await waitFor(`${NAME} blocked on another replica`, () => blocked(r, `www.${NAME}`), 2000, 10);
    expect(Date.now() - started).toBeLessThan(2000);
    for (const r of replicas) expect(r.app.lists.get('tiktok')?.version).toBe(change.list_version_after);
    // The public feed serves the list as enforced; who added the entry and why stay in the change log.
    const json = await waitFor('the feed to serve the new version', async () => {
      const res = await fetch(`http://127.0.0.1:${c.app.http?.port}/lists/tiktok/json`);
      const body = (await res.json()) as { version: string; domains: string[]; provenance: { domain: string; sources: string[] }[] };
      return body.version === change.list_version_after ? body : undefined;
    });
    expect(json.domains).toContain(NAME);
    expect(json.provenance.find((e) => e.domain === NAME)).toMatchObject({ sources: ['ORG'] });
    expect(JSON.stringify(json)).not.toContain('proxy logs');
  }, 30_000);

  it('refuses what it must, with the reason', async () => {
    const auditor = await api(b, 'POST', '/api/lists/tiktok/entries', { token: AUDITOR, body: { domain: 'x.example.com', reason: 'r' } });
    expect(auditor.status).toBe(403);
    expect((await api(b, 'POST', '/api/lists/tiktok/entries', { token: null, body: { domain: 'x.example.com', reason: 'r' } })).status).toBe(401);

    const never = await api(b, 'POST', '/api/lists/tiktok/entries', { body: { domain: 'app-measurement.com', reason: 'the app reports there' } });
    expect(never.status).toBe(409);
    expect(never.body.error).toBe('never_block');
    expect(never.body.message).toMatch(/^"app-measurement\.com" would block "app-measurement\.com", which .*never-block\.txt:\d+ says must never be blocked \(Google Firebase analytics, used by very many apps\)/);
    const parent = await api(b, 'POST', '/api/lists/bytedance/entries', { body: { domain: 'amazonaws.com', reason: 'everything' } });
    expect(parent).toMatchObject({ status: 409, body: { error: 'never_block' } });
    // A specific host under a protected name may be listed.
    expect((await api(b, 'POST', '/api/lists/bytedance/entries', { body: { domain: 'tiktok-assets.s3.amazonaws.com', reason: 'a bucket of the app' } })).status).toBe(201);

    const suffix = await api(b, 'POST', '/api/lists/tiktok/entries', { body: { domain: 'co.jp', reason: 'r' } });
    expect(suffix.status).toBe(409);
    expect(suffix.body.message).toContain('public suffix');

    const covered = await api(c, 'POST', '/api/lists/tiktok/entries', { body: { domain: 'www.tiktok.com', reason: 'r' } });
    expect(covered).toMatchObject({ status: 409, body: { error: 'exists' } });
    expect(covered.body.message).toContain('already blocked by "tiktok.com"');
    const again = await api(c, 'POST', '/api/lists/tiktok/entries', { body: { domain: NAME, reason: 'r' } });
    expect(again.status).toBe(409);
    expect(again.body.message).toContain('added by alice');

    const maintained = await api(c, 'DELETE', '/api/lists/tiktok/entries/tiktok.com', { body: { reason: 'r' } });
    expect(maintained.status).toBe(409);
    expect(maintained.body.error).toBe('maintained_entry');
    expect((await api(c, 'DELETE', '/api/lists/tiktok/entries/never-added.example.com?reason=r')).status).toBe(404);
    expect((await api(c, 'POST', '/api/lists/nope/entries', { body: { domain: 'x.example.com', reason: 'r' } })).status).toBe(404);
    expect((await api(c, 'POST', '/api/lists/tiktok/entries', { body: { domain: 'x.example.com' } })).status).toBe(400);
    expect((await api(c, 'POST', '/api/lists/tiktok/entries', { body: { domain: 'not a name', reason: 'r' } })).status).toBe(400);
    // Nothing refused reached the change log.
    await waitFor('the accepted change on c', () => c.app.fleet.changeLog.head.seq === 2, 2000);
  });

  it('changes made at the same moment on two replicas are both kept, in one chain', async () => {
    const [one, two] = await Promise.all([
      api(a, 'POST', '/api/lists/tiktok/entries', { body: { domain: 'one.example.org', reason: 'first' } }),
      api(b, 'POST', '/api/lists/tiktok/entries', { body: { domain: 'two.example.org', reason: 'second' } }),
    ]);
    expect([one.status, two.status]).toEqual([201, 201]);
    const seqs = [(one.body.change as ChangeRecord).seq, (two.body.change as ChangeRecord).seq].sort();
    expect(seqs).toEqual([3, 4]);
    for (const r of replicas) await waitFor('both changes everywhere', () => r.app.fleet.changeLog.head.seq === 4, 2000);
    const heads = new Set(replicas.map((r) => r.app.fleet.changeLog.head.hash));
    expect(heads.size).toBe(1);
  });

  it('an entry removed on one replica stops being blocked on every replica within 2 seconds', async () => {
    const started = Date.now();
    const removed = await api(b, 'DELETE', `/api/lists/tiktok/entries/${NAME}`, { body: { reason: 'the mirror is gone' } });
    expect(removed.status).toBe(200);
    expect(removed.body.change).toMatchObject({ action: 'remove', domain: NAME, actor: 'alice', reason: 'the mirror is gone', instance: 'b' });
    for (const r of [a, c]) await waitFor(`${NAME} unblocked`, async () => !(await blocked(r, `www.${NAME}`)), 2000, 10);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('auditors read the change log on any replica; the fleet view shows the same lists everywhere', async () => {
    const page = await api(c, 'GET', '/api/audit/changes', { token: AUDITOR });
    expect(page.status).toBe(200);
    const changes = page.body.changes as ChangeRecord[];
    expect(changes.map((x) => [x.seq, x.action, x.domain])).toEqual([
      [1, 'add', NAME],
      [2, 'add', 'tiktok-assets.s3.amazonaws.com'],
      [3, 'add', expect.stringMatching(/^(one|two)\.example\.org$/)],
      [4, 'add', expect.stringMatching(/^(one|two)\.example\.org$/)],
      [5, 'remove', NAME],
    ]);
    expect(Object.keys(changes[0] as object)).toEqual(['seq', 'ts', 'instance', 'actor', 'action', 'list', 'domain', 'reason', 'list_version_before', 'list_version_after', 'prev', 'hash']);
    expect(changes[4]?.list_version_before).toBe(changes[3]?.list_version_after);
    const filtered = await api(a, 'GET', '/api/audit/changes?action=remove', { token: AUDITOR });
    expect((filtered.body.changes as ChangeRecord[]).map((x) => x.seq)).toEqual([5]);
    const polled = await api(a, 'GET', `/api/audit/changes?cursor=${String(page.body.next)}`, { token: AUDITOR });
    expect(polled.body.changes).toEqual([]);
    expect((await api(a, 'GET', '/api/audit/changes?bogus=1', { token: AUDITOR })).status).toBe(400);
    expect((await api(a, 'GET', '/api/audit/changes', { token: null })).status).toBe(401);

    const view = await waitFor('a consistent fleet view', async () => {
      const v = await api(b, 'GET', '/api/fleet', { token: AUDITOR });
      return v.body.consistent === true ? v : undefined;
    });
    const live = view.body.replicas as { instance: string; self: boolean; version: string; redis: string; lists: { name: string; version: string; entries: number }[]; audit: { written: number; spooled: number } }[];
    expect(live.map((r) => [r.instance, r.self, r.redis])).toEqual([
      ['a', false, 'up'],
      ['b', true, 'up'],
      ['c', false, 'up'],
    ]);
    const tiktok = live.map((r) => r.lists.find((l) => l.name === 'tiktok'));
    expect(new Set(tiktok.map((l) => l?.version)).size).toBe(1);
    expect(tiktok[0]).toMatchObject({ version: a.app.lists.get('tiktok')?.version, org_entries: 2 });
    expect(typeof live[0]?.audit.spooled).toBe('number');
  });

  it('the changes survive a restart, also one while Redis is unreachable, and the copies verify', async () => {
    const config = b.app.config;
    replicas.splice(1, 1);
    await b.stop();
    const deadPort = await freePort();
    // Started against a Redis that is not there: the organisation's entries come from its own copy of the change log.
    const offline = await startReplica({ instance: 'b', upstreamPort: upstream.port, redis: { url: `redis://127.0.0.1:${deadPort}/0`, key_prefix: prefix }, audit: config.audit });
    try {
      expect(offline.app.health.report().redis?.state).not.toBe('up');
      expect(offline.app.health.report().status).toBe('degraded');
      expect(await blocked(offline, 'www.one.example.org')).toBe(true);
      expect(await blocked(offline, `www.${NAME}`)).toBe(false);
      const refused = await api(offline, 'POST', '/api/lists/tiktok/entries', { body: { domain: 'late.example.com', reason: 'r' } });
      expect(refused.status).toBe(503);
      expect(refused.body.message).toContain('refused while the shared state (Redis) is unreachable');
    } finally {
      await offline.stop();
    }
    const back = await startReplica({ instance: 'b', upstreamPort: upstream.port, redis, audit: config.audit });
    replicas.splice(1, 0, back);
    expect(await blocked(back, 'www.two.example.org')).toBe(true);
    expect(back.app.fleet.changeLog.head.seq).toBe(5);

    const report = await verifyFleetDirs(replicas.map((r) => r.app.config.audit.dir));
    expect(report.problems).toEqual([]);
    expect(report.notes).toContain('the 3 change log copies agree (5 change(s))');
    expect(report.chains.filter((x) => x.kind === 'changes').map((x) => [x.instance, x.records])).toEqual([
      ['a', 5],
      ['b', 5],
      ['c', 5],
    ]);
  }, 60_000);
});
