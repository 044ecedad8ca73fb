// Background threads yield to the DNS threads: checked on this process's real threads, in a
// child process (a raised nice value cannot be taken back without privileges).
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { getPriority, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKGROUND_THREAD, lowerBackgroundThreads } from '../../../src/util/thread-priority.ts';

interface Seen {
  first: { lowered: number; already: number; problem?: string };
  second: { lowered: number; already: number; problem?: string };
  threads: { name: string; nice: number }[];
}

/** Runs lowerBackgroundThreads(nice), then (then), in a fresh Node process and reports every thread's nice value. */
function inChild(nice: number, then = nice): Seen {
  const module = resolve('src/util/thread-priority.ts');
  const script = `
    import { readdirSync, readFileSync } from 'node:fs';
    import { getPriority } from 'node:os';
    import { lowerBackgroundThreads } from ${JSON.stringify(module)};
    // Start libuv's pool (created on first use) so that its threads exist.
    await import('node:fs/promises').then((fs) => fs.stat('.'));
    const first = lowerBackgroundThreads(${nice});
    const second = lowerBackgroundThreads(${then});
    const threads = readdirSync('/proc/self/task').map((tid) => ({ name: readFileSync('/proc/self/task/' + tid + '/comm', 'utf8').trim(), nice: getPriority(Number(tid)) }));
    console.log(JSON.stringify({ first, second, threads }));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as Seen;
}

const dirs: string[] = [];
/** The children start at the runner's own nice value (nice npm test: above 0); a target below it changes nothing. */
const BASE = getPriority();
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('lowerBackgroundThreads', () => {
  it("raises V8's helpers and libuv's pool to the nice value, leaves the main thread, and is idempotent", () => {
    const seen = inChild(7);
    const background = seen.threads.filter((t) => BACKGROUND_THREAD.test(t.name));
    expect(background.map((t) => t.name)).toEqual(expect.arrayContaining(['V8Worker', 'libuv-worker']));
    for (const t of background) expect(t).toEqual({ name: t.name, nice: Math.max(BASE, 7) });
    expect(seen.threads.find((t) => t.name === 'node' || t.name === 'MainThread')?.nice).toBe(BASE);
    expect(seen.first).toEqual(BASE >= 7 ? { lowered: 0, already: background.length } : { lowered: background.length, already: 0 });
    expect(seen.second).toEqual({ lowered: 0, already: background.length });
  });

  it('lowers a list-render thread once it is online (render-thread.ts)', async () => {
    const priority = resolve('src/util/thread-priority.ts');
    const renderThread = resolve('src/lists/render-thread.ts');
    const domainSet = resolve('src/lists/domain-set.ts');
    // A list big enough that the worker renders for a while; the main thread watches its threads meanwhile.
    const script = `
      import { readdirSync, readFileSync } from 'node:fs';
      import { getPriority } from 'node:os';
      import { configureBackgroundNice } from ${JSON.stringify(priority)};
      import { renderInWorker } from ${JSON.stringify(renderThread)};
      import { DomainSet } from ${JSON.stringify(domainSet)};
      configureBackgroundNice(6);
      const set = DomainSet.from(Array.from({ length: 200000 }, (_, i) => 'host' + i + '.example' + (i % 7) + '.com'));
      const seen = [];
      const watch = setInterval(() => {
        for (const tid of readdirSync('/proc/self/task')) {
          try {
            if (readFileSync('/proc/self/task/' + tid + '/comm', 'utf8').startsWith('dnsward-render')) seen.push(getPriority(Number(tid)));
          } catch {}
        }
      }, 2);
      const files = await renderInWorker({ name: 'big', title: 'Big', description: 'x', version: 'v1', lastModified: new Date(0), domains: [], set, license: 'CC0-1.0', origin: 'maintained' }, undefined, '1 day', undefined);
      clearInterval(watch);
      console.log(JSON.stringify({ files: files.length, seen }));`;
    // From a file, not --eval: a worker inherits the process's flags, and --input-type is for --eval only.
    const dir = await mkdtemp(join(tmpdir(), 'dnsward-render-nice-'));
    dirs.push(dir);
    await writeFile(join(dir, 'render.mjs'), script);
    const out = JSON.parse(execFileSync(process.execPath, [join(dir, 'render.mjs')], { encoding: 'utf8' })) as { files: number; seen: number[] };
    expect(out.files).toBeGreaterThan(0);
    expect(out.seen.length).toBeGreaterThan(0);
    // At nice 6 from the first moments on (a glimpse at 0 before 'online' is allowed).
    expect(out.seen.at(-1)).toBe(Math.max(BASE, 6));
    expect(out.seen.filter((n) => n === Math.max(BASE, 6)).length).toBeGreaterThan(out.seen.length / 2);
  });

  it('leaves a thread that is already nicer than the target as it is', () => {
    const seen = inChild(9, 7);
    const background = seen.threads.filter((t) => BACKGROUND_THREAD.test(t.name));
    for (const t of background) expect(t.nice).toBe(Math.max(BASE, 9));
    expect(seen.second).toEqual({ lowered: 0, already: background.length });
  });

  it('with 0, changes nothing', () => {
    const seen = inChild(0);
    expect(seen.first).toEqual({ lowered: 0, already: 0 });
    for (const t of seen.threads) expect(t.nice).toBe(BASE);
  });

  it('says why when it cannot list the threads, and skips a thread that ended meanwhile', async () => {
    expect(lowerBackgroundThreads(5, '/nonexistent/task')).toMatchObject({ lowered: 0, problem: expect.stringContaining('cannot list /nonexistent/task') as unknown });
    // A thread that ended between the listing and the call.
    const dir = await mkdtemp(join(tmpdir(), 'dnsward-tasks-'));
    dirs.push(dir);
    await mkdir(join(dir, '2147483646'));
    await writeFile(join(dir, '2147483646', 'comm'), 'V8Worker\n');
    // Not a problem to warn about: render threads end all the time.
    expect(lowerBackgroundThreads(5, dir)).toEqual({ lowered: 0, already: 0 });
    // No background thread at all: the threads are named otherwise (another runtime), and the start says so.
    const bare = await mkdtemp(join(tmpdir(), 'dnsward-tasks-'));
    dirs.push(bare);
    await mkdir(join(bare, '2147483645'));
    await writeFile(join(bare, '2147483645', 'comm'), 'MainThread\n');
    expect(lowerBackgroundThreads(5, bare)).toEqual({ lowered: 0, already: 0, problem: `no thread named V8Worker, libuv-worker, dnsward-feed or dnsward-render in ${bare}` });
  });
});
