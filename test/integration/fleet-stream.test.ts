// The shared block log: three replicas on the real Redis each keep their own chained files and
// append their events to one stream; the auditor API of any replica answers for the whole
// fleet. Each replica witnesses the others' signed checkpoints, so a log cut on one host (whole
// writes and checkpoints removed: consistent on its own) contradicts what its peers witnessed.
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointFileName, listEventFiles } from '../../src/audit/files.ts';
import { verifyAuditPath } from '../../src/audit/verify.ts';
import { verifyFleetDirs } from '../../src/fleet/verify-fleet.ts';
import { queryUdp } from '../helpers/dns-client.ts';
import type { TestServer } from '../helpers/dnsward-server.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';
import { AUDITOR, api, dropPrefix, SHARED_REDIS, startReplica, streamEvents, uniquePrefix, waitFor } from './fleet-support.ts';

const SERVICE = '127.0.0.2';
const PERSONAL = '127.0.0.3';
const PER_REPLICA = 20;

describe('the fleet-wide block log and witnessing', () => {
  const prefix = uniquePrefix('stream');
  let upstream: StubUpstream;
  const replicas: TestServer[] = [];
  let stopped = false;

  beforeAll(async () => {
    upstream = new StubUpstream();
    await upstream.start();
    for (const instance of ['a', 'b', 'c']) {
      replicas.push(await startReplica({ instance, upstreamPort: upstream.port, redis: { url: SHARED_REDIS, key_prefix: prefix }, overrides: { lists: { dir: 'lists', feed: false } } }));
    }
    for (const r of replicas) await waitFor('redis up', () => r.app.health.report().redis?.state === 'up');
  });

  afterAll(async () => {
    if (!stopped) await Promise.allSettled(replicas.map((r) => r.stop()));
    await upstream?.stop();
    await dropPrefix(prefix);
  });

  it('the auditor API of any replica answers for the whole fleet', async () => {
    // Two bursts, so each replica's log has several sealed writes.
    for (const burst of [0, 1]) {
      for (const r of replicas) {
        for (let i = 0; i < PER_REPLICA / 2; i++) expect((await queryUdp(r.port, { name: `e${burst}-${i}.${r.app.config.instance}.tiktok.com`, from: SERVICE })).rcode).toBe(3);
      }
      // The first burst shipped from the files before the second starts: the shipper then goes
      // live, and the second burst is shipped from the writer's hand-over (checked below).
      if (burst === 0) await waitFor('the first burst shipped', () => replicas.every((r) => r.app.fleet.stats().shipped === PER_REPLICA / 2 && r.app.fleet.stats().spooled === 0), 10_000, 50);
    }
    await queryUdp((replicas[1] as TestServer).port, { name: 'www.tiktok.com', from: PERSONAL });
    const total = 3 * PER_REPLICA + 1;
    const page = await waitFor('every event in the stream', async () => {
      const p = await api(replicas[0] as TestServer, 'GET', '/api/audit/events?limit=1000', { token: AUDITOR });
      return (p.body.events as unknown[]).length === total ? p : undefined;
    });
    expect(page.body.scope).toBe('fleet');
    expect(page.body.next).toBeNull();
    const events = page.body.events as { instance: string; seq: number; qname: string; client: string; action: string }[];
    expect(new Set(events.map((e) => e.instance))).toEqual(new Set(['a', 'b', 'c']));
    expect(new Set(events.map((e) => `${e.instance}:${e.seq}`)).size).toBe(total);
    const logged = events.find((e) => e.action === 'logged');
    expect(logged?.client).toMatch(/^anon:[0-9a-f]{16}$/);

    // Filters and paging over the stream, from another replica.
    const c = replicas[2] as TestServer;
    const onlyB = await api(c, 'GET', '/api/audit/events?qname=b.tiktok.com&limit=7', { token: AUDITOR });
    expect((onlyB.body.events as { qname: string }[]).every((e) => e.qname.endsWith('.b.tiktok.com'))).toBe(true);
    expect((onlyB.body.events as unknown[]).length).toBe(7);
    const rest = await api(c, 'GET', `/api/audit/events?qname=b.tiktok.com&limit=100&cursor=${String(onlyB.body.next)}`, { token: AUDITOR });
    expect((rest.body.events as unknown[]).length).toBe(PER_REPLICA - 7);
    const summary = await api(c, 'GET', '/api/audit/summary', { token: AUDITOR });
    expect(summary.body).toMatchObject({ total, scope: 'fleet', truncated: false, by_action: { blocked: 3 * PER_REPLICA, logged: 1 } });
    const timeline = await api(c, 'GET', '/api/audit/timeline?by=action', { token: AUDITOR });
    expect(timeline.body).toMatchObject({ total, truncated: false });

    // The stream itself: each event once, as the replica wrote it.
    const stream = await streamEvents(SHARED_REDIS, prefix);
    expect(stream.length).toBe(total);
    const dir = (replicas[0] as TestServer).app.config.audit.dir;
    const fileLines = (await Promise.all((await listEventFiles(dir, 'a')).map((f) => readFile(f.path, 'utf8')))).join('').split('\n').filter((l) => l.startsWith('{"action"'));
    expect(stream.filter((e) => e.instance === 'a').map((e) => e.line)).toEqual(fileLines);
    // The second burst went live: taken from the writer's hand-over, not read back from the files.
    const spans = (replicas[0] as TestServer).app.fleet.stats().streamSpans;
    expect(spans.live).toBeGreaterThan(0);
    // ... and /metrics says so, by where each span came from.
    const text = await (await fetch(`http://127.0.0.1:${(replicas[0] as TestServer).app.api?.port}/metrics`)).text();
    const counted = (from: string): number => Number(new RegExp(`^dnsward_audit_stream_spans_total\\{from="${from}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    expect(counted('live')).toBe(spans.live);
    expect(counted('files')).toBe(spans.files);
    expect(counted('files')).toBeGreaterThan(0);
  });

  it('a second process under an instance name already in use is told so', async () => {
    const twin = await startReplica({ instance: 'a', upstreamPort: upstream.port, redis: { url: SHARED_REDIS, key_prefix: prefix }, overrides: { lists: { dir: 'lists', feed: false } } });
    try {
      for (const r of [twin, replicas[0] as TestServer]) {
        await waitFor('the conflict in /healthz', () => r.app.health.report().degraded.some((d) => d.startsWith('another process (started ') && d.endsWith('writes heartbeats as instance "a": give every replica its own instance name')), 5000, 50);
      }
    } finally {
      await twin.stop();
    }
  });

  it("each replica witnesses the others' checkpoints; a log cut on one host contradicts them", async () => {
    const dirs = replicas.map((r) => r.app.config.audit.dir);
    const lastCheckpoint = async (r: TestServer): Promise<number> => {
      const text = await readFile(join(r.app.config.audit.dir, checkpointFileName(r.app.config.instance)), 'utf8').catch(() => '');
      return Math.max(0, ...text.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { seq: number }).seq));
    };
    // Everything so far under a signed checkpoint; then more writes after it.
    for (const r of replicas) await waitFor('a checkpoint of the head', async () => (await lastCheckpoint(r)) === r.app.health.report().audit?.written, 5000, 100);
    const checkpointedA = await lastCheckpoint(replicas[0] as TestServer);
    // Each replica's head once its 5 late events are written (the answers go before the write).
    const finalHead = new Map(replicas.map((r) => [r, (r.app.health.report().audit?.written ?? 0) + 5]));
    for (const r of replicas) {
      for (let i = 0; i < 5; i++) expect((await queryUdp(r.port, { name: `late-${i}.${r.app.config.instance}.tiktok.com`, from: SERVICE })).rcode).toBe(3);
    }
    // Every replica has witnessed the final head of every other.
    await waitFor(
      'final heads witnessed',
      async () => {
        for (const r of replicas) {
          const seq = r.app.health.report().audit?.written ?? 0;
          if (seq !== finalHead.get(r)) return false;
          for (const peer of replicas) {
            if (peer === r) continue;
            const text = await readFile(join(peer.app.config.audit.dir, `witness-${peer.app.config.instance}.jsonl`), 'utf8').catch(() => '');
            const seen = text.split('\n').filter((l) => l.includes(`"peer":"${r.app.config.instance}"`)).map((l) => (JSON.parse(l) as { checkpoint: { seq: number } }).checkpoint.seq);
            if (Math.max(0, ...seen) !== seq) return false;
          }
        }
        return true;
      },
      10_000,
      100,
    );
    const view = await api(replicas[0] as TestServer, 'GET', '/api/fleet', { token: AUDITOR });
    expect((view.body.replicas as { checkpoint: { seq: number } | null }[]).every((r) => (r.checkpoint?.seq ?? 0) > 0)).toBe(true);
    stopped = true;
    await Promise.allSettled(replicas.map((r) => r.stop()));

    const intact = await verifyFleetDirs(dirs);
    expect(intact.problems).toEqual([]);
    const cli = spawnSync(process.execPath, ['bin/dnsward', 'audit', 'verify', ...dirs], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    for (const instance of ['a', 'b', 'c']) {
      expect(cli.stdout).toContain(`OK: instance ${instance}:`);
      expect(cli.stdout).toContain(`OK: witness log witness-${instance}.jsonl:`);
    }
    for (const instance of ['a', 'b', 'c']) expect(intact.notes.some((n) => n.startsWith(`${instance}: `) && n.endsWith('witnessed checkpoint(s) match its block log'))).toBe(true);
    expect(intact.chains.filter((x) => x.kind === 'witness').every((x) => x.records >= 2 && x.lastCheckpointSeq === x.lastSeq)).toBe(true);

    // On a's host: cut the writes after that checkpoint (events and seals) and the checkpoints beyond it.
    const dirA = dirs[0] as string;
    const [file] = await listEventFiles(dirA, 'a');
    const lines = (await readFile(file?.path as string, 'utf8')).split('\n').filter((l) => l !== '');
    const sealAt = lines.findIndex((l) => l.startsWith('{"type":"seal"') && (JSON.parse(l) as { seq: number; count: number }).seq === checkpointedA && (JSON.parse(l) as { count: number }).count > 0);
    expect(sealAt).toBeGreaterThan(0);
    await writeFile(file?.path as string, lines.slice(0, sealAt + 1).map((l) => `${l}\n`).join(''));
    const cpPath = join(dirA, checkpointFileName('a'));
    const cps = (await readFile(cpPath, 'utf8')).split('\n').filter((l) => l !== '' && (JSON.parse(l) as { seq: number }).seq <= checkpointedA);
    await writeFile(cpPath, cps.map((l) => `${l}\n`).join(''));
    const keptSeq = checkpointedA;

    // Alone, a's directory is consistent ...
    expect((await verifyAuditPath(dirA)).problems).toEqual([]);
    // ... but not with what b and c witnessed.
    const cut = await verifyFleetDirs(dirs);
    const cliCut = spawnSync(process.execPath, ['bin/dnsward', 'audit', 'verify', ...dirs], { encoding: 'utf8' });
    expect(cliCut.status, cliCut.stdout).toBe(1);
    expect(cliCut.stderr).toMatch(/^DNSWARD_ERR_AUDIT_CHAIN: witness-(b|c)\.jsonl:\d+: seq \d+: (b|c) witnessed a's signed checkpoint/);
    expect(cut.problems).toHaveLength(1);
    expect(cut.problems[0]?.message).toMatch(new RegExp(`^(b|c) witnessed a's signed checkpoint for seq \\d+ at .*, but a's log ends at seq ${keptSeq}: records ${keptSeq + 1}\\.\\.\\d+ were removed$`));
  });
});
