// The block log's hash of each event line, written as hex into the line's own buffer: by the
// small addon native/hash.cc (Node's OpenSSL, no allocation) where npm ci built it, else by
// node:crypto (a view of the range and a hex string per call). Both give the same bytes.
// DNSWARD_SHA256=js forces node:crypto (the test suite runs the block log's tests on both), and
// so does FIPS mode.
import { getFips, hash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Hashes buf[start, end) with SHA-256 and writes the 64 hex digits at buf[at, at + 64) (outside the range). */
export type Sha256HexInto = (buf: Buffer, start: number, end: number, at: number) => void;

/** Where `npm ci` (native/build.ts) leaves the addon; the same from src/audit and dist/audit. */
export const HASH_ADDON_FILE = new URL('../../native/build/Release/dnsward_hash.node', import.meta.url);

/** The addon's checks, so that both paths refuse the same calls (a RangeError, nothing written). */
function checkRange(buf: Buffer, start: number, end: number, at: number): void {
  if (!Buffer.isBuffer(buf)) throw new TypeError('sha256HexInto: not a Buffer');
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || !Number.isSafeInteger(at) || start < 0 || end < 0 || at < 0) {
    throw new RangeError('sha256HexInto: start, end and at must be non-negative integers');
  }
  if (start > end || end > buf.length || at + 64 > buf.length || (at < end && at + 64 > start)) {
    throw new RangeError('sha256HexInto: range outside the buffer or overlapping the digest');
  }
}

export const jsSha256HexInto: Sha256HexInto = (buf, start, end, at) => {
  checkRange(buf, start, end, at);
  buf.write(hash('sha256', buf.subarray(start, end), 'hex'), at, 'latin1');
};

/** The addon's function, or why it cannot be used here. */
export function loadNativeSha256(file: URL = HASH_ADDON_FILE): { fn: Sha256HexInto } | { error: string } {
  if (!existsSync(file)) return { error: `${fileURLToPath(file)} is not built (npm run build:addon)` };
  try {
    const addon = createRequire(import.meta.url)(fileURLToPath(file)) as { available?: boolean; sha256HexInto?: Sha256HexInto };
    if (addon.available !== true || typeof addon.sha256HexInto !== 'function') return { error: 'this Node does not export OpenSSL SHA-256 functions' };
    return { fn: addon.sha256HexInto };
  } catch (error) {
    return { error: `the addon does not load: ${(error as Error).message.split('\n')[0]}` };
  }
}

/** Which hash the block log uses: the addon unless told otherwise, under FIPS, or where it is missing. */
export function chooseSha256(env: NodeJS.ProcessEnv, fips: boolean): { fn: Sha256HexInto; path: 'native' | 'js'; reason: string } {
  if (env.DNSWARD_SHA256 === 'js') return { fn: jsSha256HexInto, path: 'js', reason: 'DNSWARD_SHA256=js' };
  // The addon calls OpenSSL's SHA256_* directly, around the providers that FIPS mode selects.
  if (fips) return { fn: jsSha256HexInto, path: 'js', reason: 'FIPS mode (node --force-fips or an OpenSSL FIPS config)' };
  const native = loadNativeSha256();
  return 'fn' in native ? { fn: native.fn, path: 'native', reason: 'native/hash.cc' } : { fn: jsSha256HexInto, path: 'js', reason: native.error };
}

// FIPS cannot be switched on in a running process (--force-fips, or OpenSSL's config, at start).
const chosen = chooseSha256(process.env, getFips() === 1);

/** The function the block log uses (chosen once, at load). */
export const sha256HexInto: Sha256HexInto = chosen.fn;
/** Which one, and why (tests and the start-up log). */
export const sha256Path: { path: 'native' | 'js'; reason: string } = { path: chosen.path, reason: chosen.reason };
