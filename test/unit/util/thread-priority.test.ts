// Background threads yield to the DNS threads: checked on this process's real threads, in a
// child process (a raised nice value cannot be taken back without privileges).
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKGROUND_THREAD, lowerBackgroundThreads } from '../../../src/util/thread-priority.ts';

interface Seen {
  first: { lowered: number; already: number; problem?: string };
  second: { lowered: number; already: number; problem?: string };
  threads: { name: string; nice: number }[];
}

/** Runs lowerBackgroundThreads(nice) twice in a fresh Node process and reports every thread's nice value. */
function inChild(nice: number): Seen {
  const module = resolve('src/util/thread-priority.ts');
  const script = `
    import { readdirSync, readFileSync } from 'node:fs';
    import { getPriority } from 'node:os';
    import { lowerBackgroundThreads } from ${JSON.stringify(module)};
    // Start libuv's pool (created on first use) so that its threads exist.
    await import('node:fs/promises').then((fs) => fs.stat('.'));
    const first = lowerBackgroundThreads(${nice});
    const second = lowerBackgroundThreads(${nice});
    const threads = readdirSync('/proc/self/task').map((tid) => ({ name: readFileSync('/proc/self/task/' + tid + '/comm', 'utf8').trim(), nice: getPriority(Number(tid)) }));
    console.log(JSON.stringify({ first, second, threads }));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as Seen;
}

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('lowerBackgroundThreads', () => {
  it("raises V8's helpers and libuv's pool to the nice value, leaves the main thread, and is idempotent", () => {
    const seen = inChild(7);
    const background = seen.threads.filter((t) => BACKGROUND_THREAD.test(t.name));
    expect(background.map((t) => t.name)).toEqual(expect.arrayContaining(['V8Worker', 'libuv-worker']));
    for (const t of background) expect(t).toEqual({ name: t.name, nice: 7 });
    expect(seen.threads.find((t) => t.name === 'node' || t.name === 'MainThread')?.nice).toBe(0);
    expect(seen.first).toEqual({ lowered: background.length, already: 0 });
    expect(seen.second).toEqual({ lowered: 0, already: background.length });
  });

  it('with 0, changes nothing', () => {
    const seen = inChild(0);
    expect(seen.first).toEqual({ lowered: 0, already: 0 });
    for (const t of seen.threads) expect(t.nice).toBe(0);
  });

  it('says why when it cannot list the threads or set one, and does not throw', async () => {
    expect(lowerBackgroundThreads(5, '/nonexistent/task')).toMatchObject({ lowered: 0, problem: expect.stringContaining('cannot list /nonexistent/task') as unknown });
    // A thread that ended between the listing and the call.
    const dir = await mkdtemp(join(tmpdir(), 'dnsward-tasks-'));
    dirs.push(dir);
    await mkdir(join(dir, '2147483646'));
    await writeFile(join(dir, '2147483646', 'comm'), 'V8Worker\n');
    await mkdir(join(dir, '2147483645'));
    await writeFile(join(dir, '2147483645', 'comm'), 'MainThread\n');
    const result = lowerBackgroundThreads(5, dir);
    expect(result.lowered).toBe(0);
    expect(result.problem).toMatch(/^thread 2147483646 \(V8Worker\): /);
  });
});
