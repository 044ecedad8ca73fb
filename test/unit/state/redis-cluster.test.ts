// The shared-state contract on a real Redis Cluster of three masters this test starts: every
// script's keys are in one slot, and the clients follow the slots.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { REDIS_DEFAULTS } from '../../../src/config/sections/redis.ts';
import { RedisState } from '../../../src/state/redis.ts';
import { freePort, waitFor } from '../../integration/fleet-support.ts';
import { sharedStateContract } from './contract.ts';

const nodes: ChildProcess[] = [];
const ports: number[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dnsward-test-cluster-'));
  for (let i = 0; i < 3; i++) {
    // The node's cluster bus listens on port + 10000: keep that below the ephemeral range (32768) too.
    const port = await freePort(22_767);
    ports.push(port);
    nodes.push(
      spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' }),
    );
  }
  await waitFor('the nodes', () => ports.every((p) => spawnSync('redis-cli', ['-p', String(p), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG'), 10_000, 50);
  const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  await waitFor('the cluster', () => ports.every((p) => spawnSync('redis-cli', ['-p', String(p), 'cluster', 'info'], { encoding: 'utf8' }).stdout.includes('cluster_state:ok')), 10_000, 100);
}, 30_000);

afterAll(() => {
  for (const node of nodes) node.kill('SIGKILL');
});

let n = 0;
sharedStateContract('RedisState on a Cluster', async () => {
  const state = new RedisState({ ...REDIS_DEFAULTS, cluster: ports.slice(0, 2).map((p) => `127.0.0.1:${p}`), key_prefix: `dnsward:cluster${n++}:` }, 'unit', pino({ level: 'silent' }));
  await waitFor('cluster up', () => state.status().state === 'up', 10_000);
  return state;
});
