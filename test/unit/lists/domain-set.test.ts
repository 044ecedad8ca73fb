import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainSet } from '../../../src/lists/domain-set.ts';
import { DomainMatcher } from '../../../src/policy/domain-matcher.ts';

describe('DomainSet', () => {
  it('adds, deduplicates and finds names, growing past its initial size', () => {
    const set = new DomainSet(2, 8);
    const names = Array.from({ length: 5000 }, (_, i) => `host${i}.example${i % 7}.com`);
    for (const n of names) expect(set.add(n)).toBe(true);
    for (const n of names) expect(set.add(n)).toBe(false);
    expect(set.size).toBe(5000);
    for (const n of names) expect(set.has(n)).toBe(true);
    expect(set.has('host5000.example0.com')).toBe(false);
    expect(set.has('ost1.example1.com')).toBe(false);
  });

  it('addBytes and add agree', () => {
    const set = new DomainSet();
    const bytes = Buffer.from('xx tiktok.com yy', 'latin1');
    expect(set.addBytes(bytes, 3, 13)).toBe(true);
    expect(set.has('tiktok.com')).toBe(true);
    expect(set.add('tiktok.com')).toBe(false);
  });

  it('finds suffix ranges by the same hash lookups use', () => {
    const set = DomainSet.from(['tiktok.com']);
    const name = 'www.tiktok.com';
    expect(set.hasRange(name, 4, name.length, DomainSet.hash(name, 4, name.length))).toBe(true);
    expect(set.hasRange(name, 0, name.length, DomainSet.hash(name, 0, name.length))).toBe(false);
  });

  it('materialises its names sorted', () => {
    expect(DomainSet.from(['b.com', 'a.com', 'c.org']).toSortedArray()).toEqual(['a.com', 'b.com', 'c.org']);
  });

  it('is a set: random names round-trip (property)', () => {
    const label = fc.stringMatching(/^[a-z0-9]{1,12}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(label, label), { maxLength: 300 }), (pairs) => {
        const names = pairs.map(([a, b]) => `${a}.${b}`);
        const set = new DomainSet(1, 1);
        for (const n of names) set.add(n);
        expect(set.size).toBe(new Set(names).size);
        for (const n of names) expect(set.has(n)).toBe(true);
      }),
    );
  });
});

describe('DomainSet against a Set (property)', () => {
  it('agrees on every add, delete and lookup, through growth, deletions and copies', () => {
    // About 90 possible names: adds repeat, deletes hit, the table runs near its load limit, so probe
    // runs collide and wrap around its end.
    const name = fc.tuple(fc.stringMatching(/^[a-e]{1,2}$/), fc.constantFrom('x', 'yy', 'example.org')).map(([a, b]) => `${a}.${b}`);
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), name }),
      fc.record({ kind: fc.constant('addBytes' as const), name }),
      fc.record({ kind: fc.constant('delete' as const), name }),
      fc.record({ kind: fc.constant('clone' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 200, maxLength: 600 }), fc.integer({ min: 0, max: 40 }), (ops, expected) => {
        let set = new DomainSet(expected, expected * 4);
        const model = new Set<string>();
        for (const o of ops) {
          if (o.kind === 'clone') {
            set = set.clone();
          } else if (o.kind === 'delete') {
            expect(set.delete(o.name)).toBe(model.delete(o.name));
          } else {
            const added = o.kind === 'add' ? set.add(o.name) : set.addBytes(Buffer.from(`  ${o.name}`, 'latin1'), 2, o.name.length + 2);
            expect(added).toBe(!model.has(o.name));
            model.add(o.name);
          }
        }
        expect(set.size).toBe(model.size);
        for (const n of model) expect(set.has(n), n).toBe(true);
        for (const o of ops) if (o.kind !== 'clone') expect(set.has(o.name)).toBe(model.has(o.name));
        expect(set.toSortedArray()).toEqual([...model].sort());
        const view = DomainSet.fromShared(set.clone().share());
        expect(view.toSortedArray()).toEqual([...model].sort());
      }),
      { numRuns: 200 },
    );
  });

  it('keeps names of 253 octets, the longest a name can be', () => {
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(long.length).toBe(253);
    const set = new DomainSet(1, 1);
    expect(set.add(long)).toBe(true);
    expect(set.add(`x${long}`)).toBe(false);
    expect(set.add('after.example')).toBe(true);
    expect(set.has(long)).toBe(true);
    expect(set.toSortedArray()).toEqual([long, 'after.example']);
    expect(set.delete(long)).toBe(true);
    expect(set.toSortedArray()).toEqual(['after.example']);
  });
});

describe('DomainMatcher over sets', () => {
  const matcher = DomainMatcher.build([
    { name: 'tiktok', version: 'v1', domains: ['tiktok.com', 'tiktokv.com'] },
    { name: 'extra', version: 'v2', domains: ['www.tiktok.com', 'other.net'] },
  ]);
  const both = matcher.maskFor(['tiktok', 'extra']);

  it('matches a listed name and its subdomains, never look-alikes', () => {
    expect(matcher.match('tiktok.com', both)?.rule).toBe('tiktok.com');
    expect(matcher.match('a.b.tiktokv.com', both)?.rule).toBe('tiktokv.com');
    expect(matcher.match('notiktok.com', both)).toBeUndefined();
    expect(matcher.match('tiktok.com.evil', both)).toBeUndefined();
    expect(matcher.match('com', both)).toBeUndefined();
    expect(matcher.match('', both)).toBeUndefined();
  });

  it('returns the most specific rule and its list', () => {
    expect(matcher.match('x.www.tiktok.com', both)).toEqual({ rule: 'www.tiktok.com', list: { name: 'extra', version: 'v2' } });
    expect(matcher.match('x.www.tiktok.com', matcher.maskFor(['tiktok']))).toEqual({ rule: 'tiktok.com', list: { name: 'tiktok', version: 'v1' } });
  });

  it('only consults the lists in the mask', () => {
    expect(matcher.match('other.net', matcher.maskFor(['tiktok']))).toBeUndefined();
    expect(matcher.match('other.net', matcher.maskFor(['extra']))?.list.name).toBe('extra');
    expect(matcher.match('tiktok.com', 0)).toBeUndefined();
  });
});

describe('DomainSet memory', () => {
  it('counts the bytes it uses (each name, its length byte, the slot table), not the room it reserved', () => {
    const set = new DomainSet(100_000, 4_000_000);
    const names = Array.from({ length: 1000 }, (_, i) => `n${i}.example.org`);
    for (const n of names) set.add(n);
    const nameBytes = names.reduce((sum, n) => sum + n.length, 0);
    // 100,000 expected names: a table of 2^18 slots (load at most 0.75), 4 bytes each.
    expect(set.byteSize).toBe(nameBytes + names.length + 4 * 2 ** 18);
    for (const n of names) expect(set.has(n)).toBe(true);
    expect(set.has('n1000.example.org')).toBe(false);
  });

  it('refuses a name starting with a NUL byte (the mark of a deleted name), by string and by bytes', () => {
    const set = DomainSet.from(['a.example']);
    expect(set.add('\0b.example')).toBe(false);
    expect(set.addBytes(Buffer.from('\0b.example', 'latin1'), 0, 10)).toBe(false);
    expect(set.has('\0b.example')).toBe(false);
    expect(set.size).toBe(1);
    expect(set.toSortedArray()).toEqual(['a.example']);
  });

  it('refuses a name with a character above U+00FF, which the byte pool cannot hold', () => {
    const set = DomainSet.from(['a.example']);
    expect(set.add('\u0161a')).toBe(false);
    expect(set.add('\u0100.com')).toBe(false);
    expect(set.has('aa')).toBe(false);
    expect(set.add('aa')).toBe(true);
    expect(set.size).toBe(2);
  });
});

describe('DomainSet.exportNames', () => {
  it('copies the names out as one typed array that DomainSet.names reads back, in insertion order', async () => {
    const set = DomainSet.from(['b.example.com', 'a.example.com']);
    set.add('c.example.org');
    const block = await set.exportNames();
    expect(DomainSet.names(block)).toEqual(['b.example.com', 'a.example.com', 'c.example.org']);
    // A copy: the set keeps working after the block's memory is transferred away.
    structuredClone(block, { transfer: [block.pool.buffer as ArrayBuffer] });
    expect(block.pool.byteLength).toBe(0);
    expect(set.has('a.example.com')).toBe(true);
    expect(set.toSortedArray()).toEqual(['a.example.com', 'b.example.com', 'c.example.org']);
  });
});


describe('DomainSet.delete and clone', () => {
  it('removes names from a copy, the original untouched, every other name still found (probe runs shifted back)', async () => {
    // A small table with many names forces long probe runs, so deletions must shift entries back.
    const names = Array.from({ length: 5000 }, (_, i) => `h${i}.z${i % 7}.example`);
    const original = DomainSet.from(names);
    const copy = original.clone();
    const removed = names.filter((_, i) => i % 3 === 0);
    for (const n of removed) expect(copy.delete(n)).toBe(true);
    expect(copy.delete(removed[0] as string)).toBe(false);
    expect(copy.delete('never.example')).toBe(false);
    expect(copy.size).toBe(names.length - removed.length);
    expect(original.size).toBe(names.length);
    const gone = new Set(removed);
    for (const n of names) {
      expect(copy.has(n), n).toBe(!gone.has(n));
      expect(original.has(n), n).toBe(true);
      const hash = DomainSet.hash(n, 0, n.length);
      expect(copy.hasRange(n, 0, n.length, hash)).toBe(!gone.has(n));
    }
    expect(copy.toSortedArray()).toEqual(names.filter((n) => !gone.has(n)).sort());
    expect(DomainSet.names(await copy.exportNames()).sort()).toEqual(names.filter((n) => !gone.has(n)).sort());
    // Adding after deletions (and growing past the table) keeps everything findable.
    for (let i = 0; i < 3000; i++) copy.add(`more${i}.example`);
    expect(copy.has('more2999.example')).toBe(true);
    expect(copy.has(names[1] as string)).toBe(true);
    expect(copy.has(removed[1] as string)).toBe(false);
  });
});

describe('DomainSet.namesUnder', () => {
  it('finds the names equal to a root or below it, and not look-alikes', () => {
    const set = DomainSet.from(['awsdns-55.com', 'ns-440.awsdns-55.com', 'xawsdns-55.com', 'a.b.akam.net', 'akam.net.example', 'tiktok.com']);
    set.delete('a.b.akam.net');
    set.add('c.akam.net');
    expect(set.namesUnder(['awsdns-55.com', 'akam.net']).sort()).toEqual(['awsdns-55.com', 'c.akam.net', 'ns-440.awsdns-55.com']);
    expect(set.namesUnder([])).toEqual([]);
  });

  describe('shared storage (DNS worker threads)', () => {
    const names = Array.from({ length: 3000 }, (_, i) => `h${i}.ex${i % 11}.com`);

    it('answers as the plain set did, after share() and in a view fromShared()', () => {
      const plain = DomainSet.from(names);
      const set = DomainSet.from(names);
      const parts = set.share();
      expect(parts.pool.buffer).toBeInstanceOf(SharedArrayBuffer);
      const view = DomainSet.fromShared(parts);
      const probes = [...names, 'h3000.ex0.com', 'ex1.com', 'x.h1.ex1.com', 'h1.ex1.co'];
      for (const n of probes) {
        expect(set.has(n), n).toBe(plain.has(n));
        expect(view.has(n), n).toBe(plain.has(n));
      }
      expect(view.size).toBe(names.length);
      expect(view.toSortedArray()).toEqual([...names].sort());
      // A deleted entry stays deleted in the view.
      const fewer = plain.clone();
      fewer.delete('h5.ex5.com');
      const fewerView = DomainSet.fromShared(fewer.share());
      expect(fewerView.has('h5.ex5.com')).toBe(false);
      expect(fewerView.size).toBe(names.length - 1);
      expect(fewerView.toSortedArray()).toEqual(names.filter((n) => n !== 'h5.ex5.com').sort());
    });

    it('moves to shared memory once: share() again hands out the same buffers, with no copy', () => {
      const set = DomainSet.from(names);
      const first = set.share();
      const second = set.share();
      for (const key of ['pool', 'slots'] as const) {
        expect(first[key].buffer, key).toBeInstanceOf(SharedArrayBuffer);
        expect(second[key], key).toBe(first[key]);
      }
      // The set holds exactly the shared arrays: its bytes exist once.
      expect(set.byteSize).toBe(first.poolUsed + first.slots.byteLength);
    });

    it('crosses postMessage as the same memory, not a copy', () => {
      const set = DomainSet.from(names);
      const parts = set.share();
      const { port1, port2 } = new MessageChannel();
      port1.postMessage(parts);
      const received = receiveMessageOnPort(port2)?.message as typeof parts;
      port1.close();
      const view = DomainSet.fromShared(received);
      expect(view.has('h7.ex7.com')).toBe(true);
      // A write through one side is seen through the other: one buffer, two views.
      const before = parts.slots[0] as number;
      received.slots[0] = 12345;
      expect(parts.slots[0]).toBe(12345);
      received.slots[0] = before;
      expect(view.has('h7.ex7.com')).toBe(true);
    });
  });
});
