import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_POINTER_HOPS } from '../../../src/dns/constants.ts';
import { encodeName, labelText, readName, skipName, suffixOffset } from '../../../src/dns/names.ts';

/** Wire labels (latin1 text per label), terminated by the root unless `end` is given. */
function labels(parts: readonly string[], end: Buffer = Buffer.from([0])): Buffer {
  const out: Buffer[] = [];
  for (const part of parts) {
    const bytes = Buffer.from(part, 'latin1');
    out.push(Buffer.from([bytes.length]), bytes);
  }
  out.push(end);
  return Buffer.concat(out);
}

const ptr = (target: number): Buffer => Buffer.from([0xc0 | (target >> 8), target & 0xff]);

/**
 * "a" at offset 0, then `hops` pointers each pointing at the previous one.
 * Returns the buffer and the offset of the last pointer (reading from there takes `hops` jumps).
 */
function pointerChain(hops: number): { buf: Buffer; start: number } {
  const parts: Buffer[] = [labels(['a'])];
  let previous = 0;
  let offset = 3;
  for (let i = 0; i < hops; i++) {
    parts.push(ptr(previous));
    previous = offset;
    offset += 2;
  }
  return { buf: Buffer.concat(parts), start: previous };
}

describe('skipName', () => {
  it('skips the root', () => {
    expect(skipName(Buffer.from([0]), 0)).toBe(1);
    expect(skipName(Buffer.from([9, 9, 0, 7]), 2)).toBe(3);
  });

  it('skips labels up to and including the root', () => {
    const buf = Buffer.concat([Buffer.from([0xff, 0xff]), labels(['www', 'example', 'com']), Buffer.from([1, 2])]);
    expect(skipName(buf, 2)).toBe(2 + 17);
  });

  it('a pointer ends the name (two octets, not followed)', () => {
    const buf = Buffer.concat([labels(['example']), labels(['www'], ptr(0))]);
    expect(skipName(buf, 9)).toBe(9 + 4 + 2);
    // Even a pointer to itself is only skipped, never followed.
    expect(skipName(ptr(0), 0)).toBe(2);
  });

  it('rejects a truncated pointer', () => {
    expect(skipName(Buffer.from([3, 0x61, 0x62, 0x63, 0xc0]), 0)).toBe(-1);
  });

  it('rejects names that run past the end', () => {
    expect(skipName(Buffer.alloc(0), 0)).toBe(-1);
    expect(skipName(Buffer.from([3, 0x61, 0x62]), 0)).toBe(-1);
    expect(skipName(Buffer.from([3, 0x61, 0x62, 0x63]), 0)).toBe(-1);
    expect(skipName(Buffer.from([0]), 1)).toBe(-1);
  });

  it('rejects label lengths above 63 (0x40 and 0x80 label types)', () => {
    expect(skipName(Buffer.concat([Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0])]), 0)).toBe(-1);
    expect(skipName(Buffer.from([0x80, 0]), 0)).toBe(-1);
    expect(skipName(Buffer.from([0x41, 0]), 0)).toBe(-1);
  });

  it('accepts a 63-octet label', () => {
    const buf = labels(['a'.repeat(63)]);
    expect(skipName(buf, 0)).toBe(65);
  });

  it('accepts a 255-octet name and rejects longer ones', () => {
    const max = labels(['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)]);
    expect(max.length).toBe(255);
    expect(skipName(max, 0)).toBe(255);
    const tooLong = labels(['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(63)]);
    expect(tooLong.length).toBe(257);
    expect(skipName(tooLong, 0)).toBe(-1);
  });

  // BUG: skipName counts label octets without the root octet (octets starts at 0, readName and
  // parseQuery start at 1), so a 256-octet name (labels 63,63,63,62 + root) is accepted.
  // Input: [63 'a'*63][63 'b'*63][63 'c'*63][62 'd'*62][0] → skipName returns 256, readName undefined.
  it('rejects a 256-octet name, like readName does', () => {
    const buf = labels(['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(62)]);
    expect(buf.length).toBe(256);
    expect(readName(buf, 0)).toBeUndefined();
    expect(skipName(buf, 0)).toBe(-1);
  });
});

describe('suffixOffset', () => {
  it('finds the length octet that starts each suffix of a pointer-free name', () => {
    const buf = Buffer.concat([Buffer.alloc(12), labels(['a', 'bb', 'ccc', 'dddd'])]);
    expect([4, 3, 2, 1].map((count) => suffixOffset(buf, 12, count))).toEqual([12, 14, 17, 21]);
    expect(buf[21]).toBe(4);
    // More labels than the name has: the whole name; none: its end (the root octet).
    expect(suffixOffset(buf, 12, 9)).toBe(12);
    expect(suffixOffset(buf, 12, 0)).toBe(26);
    expect(suffixOffset(Buffer.concat([Buffer.alloc(12), labels([])]), 12, 1)).toBe(12);
  });

  it('stops at the end of a buffer that ends inside the name', () => {
    const cut = Buffer.concat([Buffer.alloc(12), labels(['a', 'bb'], Buffer.alloc(0))]).subarray(0, 16);
    // The second label's length octet is there, its bytes are cut: it still counts as a label.
    expect(suffixOffset(cut, 12, 1)).toBe(14);
    expect(suffixOffset(cut, 12, 2)).toBe(12);
  });
});

describe('readName', () => {
  it('reads the root as ""', () => {
    expect(readName(Buffer.from([0]), 0)).toBe('');
  });

  it('reads labels joined by dots, without trailing dot', () => {
    expect(readName(labels(['www', 'example', 'com']), 0)).toBe('www.example.com');
  });

  it('reads at an offset', () => {
    const buf = Buffer.concat([Buffer.from([1, 2, 3]), labels(['x', 'y'])]);
    expect(readName(buf, 3)).toBe('x.y');
  });

  it('follows a backward pointer', () => {
    const buf = Buffer.concat([labels(['example', 'com']), labels(['www'], ptr(0))]);
    expect(readName(buf, 13)).toBe('www.example.com');
  });

  it('follows a pointer to a suffix of an earlier name', () => {
    const buf = Buffer.concat([labels(['www', 'example', 'com']), labels(['mail'], ptr(4))]);
    expect(readName(buf, 17)).toBe('mail.example.com');
  });

  it('follows a name that is only a pointer', () => {
    const buf = Buffer.concat([labels(['example', 'com']), ptr(0)]);
    expect(readName(buf, 13)).toBe('example.com');
  });

  it('follows pointers through several names', () => {
    // "com" at 0; "example" + ptr(0) at 5; "www" + ptr(5) at 15.
    const buf = Buffer.concat([labels(['com']), labels(['example'], ptr(0)), labels(['www'], ptr(5))]);
    expect(readName(buf, 15)).toBe('www.example.com');
  });

  it('rejects a forward pointer', () => {
    const buf = Buffer.concat([ptr(2), labels(['a'])]);
    expect(readName(buf, 0)).toBeUndefined();
    const labelThenForward = Buffer.concat([labels(['www'], ptr(6)), labels(['com'])]);
    expect(readName(labelThenForward, 0)).toBeUndefined();
  });

  it('rejects a pointer to itself', () => {
    const buf = Buffer.concat([labels(['a']), ptr(3)]);
    expect(readName(buf, 3)).toBeUndefined();
  });

  it('rejects a pointer into the name that holds it (to its own first label)', () => {
    // name at 3: "b" then a pointer back to 3.
    const buf = Buffer.concat([labels(['a']), labels(['b'], ptr(3))]);
    expect(readName(buf, 3)).toBeUndefined();
  });

  it('rejects a loop between two names', () => {
    // name at 0: "x" + ptr(4); name at 4: "y" + ptr(0): from 4 the first jump is backward, the second forward.
    const buf = Buffer.concat([labels(['x'], ptr(4)), labels(['y'], ptr(0))]);
    expect(readName(buf, 4)).toBeUndefined();
    expect(readName(buf, 0)).toBeUndefined();
  });

  it('accepts a chain of 100 backward pointers', () => {
    const { buf, start } = pointerChain(100);
    expect(readName(buf, start)).toBe('a');
  });

  it('accepts exactly MAX_POINTER_HOPS pointers and rejects one more', () => {
    const ok = pointerChain(MAX_POINTER_HOPS);
    expect(readName(ok.buf, ok.start)).toBe('a');
    const over = pointerChain(MAX_POINTER_HOPS + 1);
    expect(readName(over.buf, over.start)).toBeUndefined();
  });

  it('rejects a chain of 200 backward pointers', () => {
    const { buf, start } = pointerChain(200);
    expect(readName(buf, start)).toBeUndefined();
  });

  it('rejects a truncated pointer', () => {
    const buf = Buffer.concat([labels(['a']), Buffer.from([1, 0x62, 0xc0])]);
    expect(readName(buf, 3)).toBeUndefined();
  });

  it('rejects a label longer than 63 octets', () => {
    const buf = Buffer.concat([Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0])]);
    expect(readName(buf, 0)).toBeUndefined();
    expect(readName(Buffer.from([0x80, 0]), 0)).toBeUndefined();
    expect(readName(Buffer.from([0x40, 0]), 0)).toBeUndefined();
  });

  it('accepts a 255-octet name and rejects 256 and more', () => {
    const max = labels(['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)]);
    expect(readName(max, 0)).toBe(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`);
    expect(readName(labels(['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(62)]), 0)).toBeUndefined();
    expect(readName(labels(['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(63)]), 0)).toBeUndefined();
  });

  it('counts octets across pointers (a name longer than 255 built by compression)', () => {
    // 3 x 63 at 0 (193 octets); a second name adds one 63-octet label and points at it (257 octets).
    const base = labels(['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63)]);
    const extra = labels(['d'.repeat(63)], ptr(0));
    const buf = Buffer.concat([base, extra]);
    expect(readName(buf, 0)).toBeDefined();
    expect(readName(buf, base.length)).toBeUndefined();
  });

  it('rejects a label containing "."', () => {
    expect(readName(labels(['a.b', 'com']), 0)).toBeUndefined();
    expect(readName(labels(['.']), 0)).toBeUndefined();
  });

  it('rejects names that run past the end', () => {
    expect(readName(Buffer.from([3, 0x61, 0x62, 0x63]), 0)).toBeUndefined();
    expect(readName(Buffer.from([5, 0x61]), 0)).toBeUndefined();
    expect(readName(Buffer.alloc(0), 0)).toBeUndefined();
  });

  it('lowercases ASCII letters only', () => {
    expect(readName(labels(['WwW', 'ExAmPlE', 'COM']), 0)).toBe('www.example.com');
    // 0xC9 (É in latin1) must not be folded to 0xE9 (é): DNS case-insensitivity is ASCII-only.
    const name = readName(Buffer.from([3, 0xc9, 0x41, 0xe9, 0]), 0);
    expect(name).toBe('\u00c9a\u00e9');
    expect(readName(Buffer.from([2, 0xc9, 0x41, 0]), 0)).not.toBe(readName(Buffer.from([2, 0xe9, 0x41, 0]), 0));
  });

  it('keeps characters around A-Z unchanged', () => {
    // "@" (0x40), "[" (0x5b), "`" (0x60), "{" (0x7b) sit next to the letter ranges.
    expect(readName(Buffer.from([4, 0x40, 0x5b, 0x60, 0x7b, 0]), 0)).toBe('@[`{');
    expect(readName(Buffer.from([2, 0x41, 0x5a, 0]), 0)).toBe('az');
  });

  it('lowercases labels reached through pointers', () => {
    const buf = Buffer.concat([labels(['EXAMPLE', 'Com']), labels(['WWW'], ptr(0))]);
    expect(readName(buf, 13)).toBe('www.example.com');
  });
});

describe('labelText', () => {
  it('returns the bytes as latin1 text, ASCII lowercased', () => {
    const buf = Buffer.from('xAbC\u00ffz', 'latin1');
    expect(labelText(buf, 1, 5)).toBe('abc\u00ff');
    expect(labelText(buf, 0, 0)).toBe('');
  });

  it('returns undefined for a "."', () => {
    expect(labelText(Buffer.from('a.b'), 0, 3)).toBeUndefined();
    expect(labelText(Buffer.from('A.b'), 0, 3)).toBeUndefined();
    expect(labelText(Buffer.from('a.b'), 0, 1)).toBe('a');
  });
});

describe('encodeName', () => {
  it('encodes the root', () => {
    expect(encodeName('')).toEqual(Buffer.from([0]));
    expect(encodeName('.')).toEqual(Buffer.from([0]));
  });

  it('encodes labels with a trailing root, with or without a trailing dot', () => {
    const expected = Buffer.from([3, 0x77, 0x77, 0x77, 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0]);
    expect(encodeName('www.example.com')).toEqual(expected);
    expect(encodeName('www.example.com.')).toEqual(expected);
  });

  it('keeps the case as given', () => {
    expect(encodeName('A.b').toString('latin1')).toBe('\u0001A\u0001b\u0000');
  });

  it('rejects empty and over-long labels', () => {
    expect(() => encodeName('a..b')).toThrow(RangeError);
    expect(() => encodeName('.a')).toThrow(RangeError);
    expect(() => encodeName(`${'x'.repeat(64)}.com`)).toThrow(RangeError);
    expect(encodeName(`${'x'.repeat(63)}.com`)).toHaveLength(1 + 63 + 1 + 3 + 1);
  });

  it('round-trips through readName and skipName', () => {
    const label = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/);
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 10 }), fc.nat(5), (parts, pad) => {
        const name = parts.join('.');
        const wire = Buffer.concat([Buffer.alloc(pad, 0xee), encodeName(name)]);
        expect(readName(wire, pad)).toBe(name.toLowerCase());
        expect(skipName(wire, pad)).toBe(wire.length);
      }),
    );
  });

  it('readName never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (bytes, offset) => {
        const buf = Buffer.from(bytes);
        const name = readName(buf, offset);
        const end = skipName(buf, offset);
        if (name !== undefined) expect(name.length).toBeLessThanOrEqual(254);
        expect(end === -1 || (end > offset && end <= buf.length)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
