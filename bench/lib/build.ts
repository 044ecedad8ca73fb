// Benchmarks measure what users run: bin/dnsward from dist/. When src/ is newer than the build,
// bin/dnsward runs the TypeScript through Node's type stripper instead, which costs ~17-30 MB of
// resident memory (an isolate each) and some speed: so a stale build is rebuilt first.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const built = new Set<string>();

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Runs `npm run build` in `repo` when its dist/ is missing or older than src/ (once per repo per run). */
export function ensureBuilt(repo: string, log: (line: string) => void = (line) => console.error(line)): void {
  if (built.has(repo)) return;
  built.add(repo);
  const stamp = join(repo, 'dist', '.build-stamp');
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= newestMtime(join(repo, 'src'))) return;
  log(`${repo}: dist/ is older than src/: npm run build (benchmarks run the build, as users do)`);
  const result = spawnSync('npm', ['run', 'build'], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`npm run build failed in ${repo} (exit ${String(result.status)})`);
}
