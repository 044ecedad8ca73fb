import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { POOL_NICE_DELTA, POOL_THREAD_NAME, lowerPoolPriority } from '../../../src/util/thread-priority.ts';

// Runs in a child process: lowering the test runner's own pool would slow every later test.
const CHILD = `
import { readFile } from 'node:fs/promises';
import { lowerPoolPriority } from ${JSON.stringify(resolve('src/util/thread-priority.ts'))};
import { threadNices } from ${JSON.stringify(resolve('test/helpers/thread-nice.ts'))};
await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(() => readFile(process.execPath, { encoding: null, flag: 'r' }).then((b) => b.length)));
const before = threadNices('self');
const changed = lowerPoolPriority();
console.log(JSON.stringify({ changed, before, after: threadNices('self'), pid: process.pid }));
`;

describe.runIf(process.platform === 'linux')('lowerPoolPriority', () => {
  it("puts libuv's pool threads below the process, and leaves every other thread alone", () => {
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const { changed, before, after, pid } = JSON.parse(run.stdout) as { changed: number; before: { tid: number; name: string; nice: number }[]; after: { tid: number; name: string; nice: number }[]; pid: number };
    const pool = after.filter((t) => t.name === POOL_THREAD_NAME);
    expect(pool.length).toBeGreaterThan(0);
    expect(changed).toBe(pool.length);
    const base = (before.find((t) => t.tid === pid) as { nice: number }).nice;
    for (const t of pool) expect(t.nice).toBe(Math.min(19, base + POOL_NICE_DELTA));
    for (const t of after.filter((x) => x.name !== POOL_THREAD_NAME)) expect(t.nice).toBe(before.find((b) => b.tid === t.tid)?.nice ?? base);
  });

  it('changes nothing when the task directory cannot be read', () => {
    expect(lowerPoolPriority(POOL_NICE_DELTA, '/nonexistent/task')).toBe(0);
  });
});
