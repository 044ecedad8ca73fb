import { hash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HASH_ADDON_FILE, chooseSha256, jsSha256HexInto, loadNativeSha256, sha256Path } from '../../../src/audit/sha256-into.ts';

const native = loadNativeSha256();

describe('sha256HexInto', () => {
  it('is the addon wherever npm ci built it, unless DNSWARD_SHA256=js', () => {
    const expected = process.env.DNSWARD_SHA256 !== 'js' && existsSync(HASH_ADDON_FILE) ? 'native' : 'js';
    expect(sha256Path.path, sha256Path.reason).toBe(expected);
  });

  it('is node:crypto under FIPS, whose providers the addon would go around, and when DNSWARD_SHA256=js', () => {
    // A FIPS provider is not installed here (node --force-fips refuses to start): the choice is tested on its own.
    expect(chooseSha256({}, true)).toMatchObject({ fn: jsSha256HexInto, path: 'js', reason: expect.stringContaining('FIPS') as unknown });
    expect(chooseSha256({ DNSWARD_SHA256: 'js' }, false)).toMatchObject({ fn: jsSha256HexInto, path: 'js' });
    expect(chooseSha256({}, false).path).toBe('fn' in native ? 'native' : 'js');
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

  it.each(paths)('%s: refuses a range outside the buffer, a digest over the hashed bytes, or an index that is not a non-negative integer (writes nothing)', (_name, fn) => {
    const buf = Buffer.alloc(200);
    expect(() => fn(buf, 0, 201, 0)).toThrow(/outside the buffer or overlapping/);
    expect(() => fn(buf, 0, 10, 137)).toThrow(/outside the buffer or overlapping/);
    expect(() => fn(buf, 20, 10, 100)).toThrow(/outside the buffer or overlapping/);
    expect(() => fn(buf, 0, 100, 99)).toThrow(/outside the buffer or overlapping/);
    expect(() => fn(buf, 0, 100, -1)).toThrow(/non-negative integers/);
    // As uint32s these would wrap or truncate to in-bounds indexes (2^32 + 136 to 136, 1.5 to 1).
    expect(() => fn(buf, 0, 100, 2 ** 32 + 136)).toThrow(/outside the buffer or overlapping/);
    expect(() => fn(buf, 0, 1.5, 136)).toThrow(/non-negative integers/);
    expect(() => fn(buf, Number.NaN, 10, 136)).toThrow(/non-negative integers/);
    expect(() => fn(buf, 0, 10, Number.POSITIVE_INFINITY)).toThrow(/non-negative integers/);
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
