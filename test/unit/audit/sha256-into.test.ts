import { hash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HASH_ADDON_FILE, jsSha256HexInto, loadNativeSha256, sha256HexInto, sha256Path } from '../../../src/audit/sha256-into.ts';

const native = loadNativeSha256();

describe('sha256HexInto', () => {
  it('is the addon wherever npm ci built it, unless DNSWARD_SHA256=js', () => {
    const expected = process.env.DNSWARD_SHA256 !== 'js' && existsSync(HASH_ADDON_FILE) ? 'native' : 'js';
    expect(sha256Path.path, sha256Path.reason).toBe(expected);
  });

  const paths = [['js', jsSha256HexInto] as const, ...('fn' in native ? [['native', native.fn] as const] : [])];

  it.each(paths)('%s: writes the hex SHA-256 of the range at `at`, and touches nothing else', (_name, fn) => {
    for (const length of [0, 1, 55, 56, 63, 64, 65, 300, 4096]) {
      for (const start of [0, 3]) {
        const buf = randomBytes(start + length + 100);
        const before = Buffer.from(buf);
        const at = start + length + 10;
        fn(buf, start, start + length, at);
        expect(buf.toString('latin1', at, at + 64)).toBe(hash('sha256', before.subarray(start, start + length), 'hex'));
        expect(buf.subarray(0, at)).toEqual(before.subarray(0, at));
        expect(buf.subarray(at + 64)).toEqual(before.subarray(at + 64));
      }
    }
  });

  it.runIf('fn' in native)('native: refuses a range outside the buffer or a digest over the hashed bytes (never writes out of bounds)', () => {
    const fn = (native as { fn: typeof sha256HexInto }).fn;
    const buf = Buffer.alloc(200);
    expect(() => fn(buf, 0, 201, 0)).toThrow(/outside the buffer or overlapping/);
    expect(() => fn(buf, 0, 10, 137)).toThrow(/outside the buffer or overlapping/);
    expect(() => fn(buf, 20, 10, 100)).toThrow(/outside the buffer or overlapping/);
    expect(() => fn(buf, 0, 100, 99)).toThrow(/outside the buffer or overlapping/);
    expect(() => fn(buf, 0, 100, -1)).toThrow(/outside the buffer or overlapping|integers/);
    expect(() => (fn as unknown as (b: unknown, s: number, e: number, a: number) => void)('text', 0, 1, 10)).toThrow(/not a Buffer/);
    expect(buf.equals(Buffer.alloc(200))).toBe(true);
    fn(buf, 0, 100, 136);
    expect(buf.toString('latin1', 136, 200)).toBe(hash('sha256', Buffer.alloc(100), 'hex'));
  });

  it('reports a missing addon instead of throwing', () => {
    const missing = loadNativeSha256(new URL('file:///nonexistent/dnsward_hash.node'));
    expect(missing).toEqual({ error: expect.stringContaining('is not built') as unknown });
  });
});
