// Builds the batched datagram addon (native/datagram.cc) and the block log's in-place SHA-256
// (native/hash.cc) with node-gyp: npm ci runs it (the `install` script), `npm run build:addon`
// runs it by hand. It never fails an install: where an addon cannot be built or loaded (not
// Linux, no compiler, no headers), it says why and dnsward uses its fallback (UDP on node:dgram:
// src/server/datagram-addon.ts; the block log's hash on node:crypto: src/audit/sha256-into.ts).
// Each addon is kept or removed on its own. `--strict` exits 1 when either is missing, for checks.
//
// Node's headers come from the running Node's own install (include/node, shipped with every
// Node tarball), so node-gyp downloads nothing. Set DNSWARD_SKIP_ADDON=1 to skip the build.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const strict = process.argv.includes('--strict');
const release = join(here, 'build', 'Release');

/** Each addon is kept or dropped on its own: one that fails must not take the other with it. */
const ADDONS = [
  { file: 'dnsward_datagram.node', built: 'UDP uses recvmmsg/sendmmsg batches', fallback: 'UDP uses node:dgram' },
  { file: 'dnsward_hash.node', built: 'the block log hashes in place', fallback: 'the block log hashes with node:crypto' },
] as const;
const fallbacks = ADDONS.map((a) => a.fallback).join(', ');

function done(ok: boolean, message: string): never {
  process.stderr.write(`dnsward: ${message}\n`);
  process.exit(ok || !strict ? 0 : 1);
}

if (process.env.DNSWARD_SKIP_ADDON === '1') done(true, `DNSWARD_SKIP_ADDON=1: native addons not built; ${fallbacks}`);
if (process.platform !== 'linux') done(true, `native addons not built on ${process.platform} (the datagram addon needs recvmmsg/sendmmsg); ${fallbacks}`);

/** node-gyp: the one npm runs scripts with (npm_config_node_gyp), else the one its npm bundles, else the npm beside this Node's, else PATH. */
function nodeGyp(): string[] {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, fromNpm];
  const npmDir = process.env.npm_execpath ? resolve(dirname(process.env.npm_execpath), '..') : '';
  const bundled = join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (npmDir && existsSync(bundled)) return [process.execPath, bundled];
  // Run by hand (node native/build.ts): the npm installed beside this Node.
  const besideNode = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(besideNode)) return [process.execPath, besideNode];
  return ['node-gyp'];
}

/** The running Node's headers (<prefix>/include/node), so node-gyp needs no download. */
function nodeDir(): string | undefined {
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

const [command, ...prefixArgs] = nodeGyp() as [string, ...string[]];
const dir = nodeDir();
const args = [...prefixArgs, 'rebuild', '--directory', here, ...(dir ? [`--nodedir=${dir}`] : [])];
// A stale build must not outlive a failed one: the loader would take it.
rmSync(join(here, 'build'), { recursive: true, force: true });
const result = spawnSync(command, args, { encoding: 'utf8', timeout: 300_000, env: { ...process.env, JOBS: '1' } });
const why = result.status === 0 ? '' : `\nnode-gyp: ${result.status ?? result.signal ?? 'did not run'}. Needs g++, make and python3.\n${result.error ? result.error.message : buildErrors(`${result.stdout}\n${result.stderr}`)}`;

/** The compiler's own error lines (node-gyp's trailer says only "not ok"), else the output's last lines. */
function buildErrors(output: string): string {
  const all = output.trim().split('\n');
  const errors = all.filter((line) => /\berror\b/i.test(line) && !line.startsWith('gyp ERR!')).slice(0, 8);
  return (errors.length > 0 ? errors : all.slice(-12)).join('\n');
}

/** Why an addon cannot be used (not built, or does not load in a fresh process), or undefined when it can. */
function unusable(path: string): string | undefined {
  if (!existsSync(path)) return 'not built';
  const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path)})`], { encoding: 'utf8', timeout: 30_000 });
  return check.status === 0 ? undefined : `built but does not load: ${check.stderr.trim().split('\n')[0] ?? ''}`;
}

const lines: string[] = [];
let allUsable = true;
for (const addon of ADDONS) {
  const path = join(release, addon.file);
  const problem = unusable(path);
  if (problem === undefined) {
    lines.push(`${addon.file} built (${path}): ${addon.built}`);
  } else {
    allUsable = false;
    rmSync(path, { force: true });
    lines.push(`${addon.file} ${problem}; ${addon.fallback}`);
  }
}
done(allUsable, lines.join('\ndnsward: ') + (allUsable ? '' : why));
