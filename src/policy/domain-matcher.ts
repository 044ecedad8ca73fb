// Suffix matching of query names against the loaded lists.
//
// Each list is a compact DomainSet (src/lists/domain-set.ts). A lookup walks the query
// name once from its end, computing the hash of every suffix, and probes the sets of the
// segment's lists at each label boundary: no allocation unless it matches. Swapping in a
// new list is building a new matcher over the existing sets (no copy of the names).
import { DomainSet } from '../lists/domain-set.ts';

export interface ListRef {
  name: string;
  version: string;
}

export interface DomainMatch {
  /** The listed domain that matched (the name itself or a parent). */
  rule: string;
  list: ListRef;
}

export interface MatcherInput extends ListRef {
  domains: readonly string[];
  /** The list's names as a compact set; built from `domains` (and remembered) when absent. */
  set?: DomainSet;
}

/** At most 31 lists fit in a mask (bit 31 is the sign bit of a JS int). */
export const MAX_LISTS = 31;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Sets built from plain domain arrays, per snapshot object, so a swap of another list reuses them. */
const builtSets = new WeakMap<object, DomainSet>();

export class DomainMatcher {
  readonly lists: readonly ListRef[];
  /** One set per list, in the order of `lists` (DNS workers get them shared: src/replica/worker-policy.ts). */
  readonly sets: readonly DomainSet[];

  private constructor(lists: readonly ListRef[], sets: readonly DomainSet[]) {
    this.lists = lists;
    this.sets = sets;
  }

  static build(lists: readonly MatcherInput[]): DomainMatcher {
    if (lists.length > MAX_LISTS) throw new RangeError(`at most ${MAX_LISTS} lists can be loaded at once (got ${lists.length})`);
    return new DomainMatcher(
      lists.map((l) => ({ name: l.name, version: l.version })),
      lists.map((l) => setOf(l)),
    );
  }

  /** Bitmask for a set of list names (unknown names contribute nothing). */
  maskFor(names: readonly string[]): number {
    let mask = 0;
    this.lists.forEach((list, index) => {
      if (names.includes(list.name)) mask |= 1 << index;
    });
    return mask;
  }

  /** The most specific listed suffix of `name` (lowercased, no trailing dot) in the lists of `mask`. */
  match(name: string, mask: number): DomainMatch | undefined {
    if (mask === 0) return undefined;
    const sets = this.sets;
    const end = name.length;
    let hash = FNV_OFFSET;
    let bestStart = -1;
    let bestList = -1;
    for (let i = end - 1; i >= 0; i--) {
      hash = Math.imul(hash ^ name.charCodeAt(i), FNV_PRIME);
      if (i !== 0 && name.charCodeAt(i - 1) !== 46) continue;
      for (let bits = mask; bits !== 0; bits &= bits - 1) {
        const index = 31 - Math.clz32(bits & -bits);
        const set = sets[index];
        if (set !== undefined && set.hasRange(name, i, end, hash)) {
          bestStart = i;
          bestList = index;
          break;
        }
      }
    }
    if (bestStart < 0) return undefined;
    return { rule: bestStart === 0 ? name : name.slice(bestStart), list: this.lists[bestList] as ListRef };
  }

  /** Distinct names across all lists' sets (a name in two lists counts twice). */
  get size(): number {
    let total = 0;
    for (const set of this.sets) total += set.size;
    return total;
  }

  get byteSize(): number {
    let total = 0;
    for (const set of this.sets) total += set.byteSize;
    return total;
  }
}

function setOf(list: MatcherInput): DomainSet {
  if (list.set) return list.set;
  let set = builtSets.get(list);
  if (set === undefined) {
    set = DomainSet.from(list.domains);
    builtSets.set(list, set);
  }
  return set;
}
