// Builds the batched datagram addon (native/datagram.cc) and the block log's in-place SHA-256
// (native/hash.cc; without it dnsward hashes with node:crypto) with node-gyp: npm ci runs it (the
// `install` script), `npm run build:addon` runs it by hand. It never fails an install: where
// the addon cannot be built (not Linux, no compiler, no headers), it says why and dnsward
// uses node:dgram (src/server/datagram-addon.ts). `--strict` exits 1 instead, for checks.
//
// Node's headers come from the running Node's own install (include/node, shipped with every
// Node tarball), so node-gyp downloads nothing. Set DNSWARD_SKIP_ADDON=1 to skip the build.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const strict = process.argv.includes('--strict');
const output = join(here, 'build', 'Release', 'dnsward_datagram.node');
const hashOutput = join(here, 'build', 'Release', 'dnsward_hash.node');

function done(ok: boolean, message: string): never {
  process.stderr.write(`dnsward: ${message}\n`);
  process.exit(ok || !strict ? 0 : 1);
}

if (process.env.DNSWARD_SKIP_ADDON === '1') done(true, 'DNSWARD_SKIP_ADDON=1: datagram addon not built; UDP uses node:dgram');
if (process.platform !== 'linux') done(true, `datagram addon not built on ${process.platform} (it needs recvmmsg/sendmmsg); UDP uses node:dgram`);

/** node-gyp: the one npm runs scripts with (npm_config_node_gyp), else the one npm bundles, else PATH. */
function nodeGyp(): string[] {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, fromNpm];
  const npmDir = process.env.npm_execpath ? resolve(dirname(process.env.npm_execpath), '..') : '';
  const bundled = join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (npmDir && existsSync(bundled)) return [process.execPath, bundled];
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
if (result.status !== 0 || !existsSync(output) || !existsSync(hashOutput)) {
  const why = result.error ? result.error.message : (result.stderr || result.stdout || '').trim().split('\n').slice(-12).join('\n');
  rmSync(join(here, 'build'), { recursive: true, force: true });
  done(false, `native addons not built (node-gyp: ${result.status ?? result.signal ?? 'did not run'}); UDP uses node:dgram, the block log node:crypto. Needs g++, make and python3.\n${why}`);
}
// Load it once in a fresh process: a build that does not load is no build.
const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(output)}); require(${JSON.stringify(hashOutput)})`], { encoding: 'utf8', timeout: 30_000 });
if (check.status !== 0) {
  rmSync(join(here, 'build'), { recursive: true, force: true });
  done(false, `native addons built but do not load; UDP uses node:dgram, the block log node:crypto.\n${check.stderr.trim()}`);
}
done(true, `datagram addon built (${output}): UDP uses recvmmsg/sendmmsg batches; the block log hashes in place (${hashOutput})`);
