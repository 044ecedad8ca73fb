// Suffix matching of query names against every loaded list at once.
// One Map from domain to a bitmask of the lists that contain it; a segment holds the mask
// of its lists, so one lookup per label answers "is this name (or a parent) listed for me".

export interface ListRef {
  name: string;
  version: string;
}

export interface DomainMatch {
  /** The listed domain that matched (the name itself or a parent). */
  rule: string;
  list: ListRef;
}

/** At most 31 lists fit in a mask (bit 31 is the sign bit of a JS int). */
export const MAX_LISTS = 31;

export class DomainMatcher {
  private readonly masks: Map<string, number>;
  readonly lists: readonly ListRef[];

  constructor(lists: readonly ListRef[], masks: Map<string, number>) {
    this.lists = lists;
    this.masks = masks;
  }

  static build(lists: readonly (ListRef & { domains: readonly string[] })[]): DomainMatcher {
    if (lists.length > MAX_LISTS) throw new RangeError(`at most ${MAX_LISTS} lists can be loaded at once (got ${lists.length})`);
    const masks = new Map<string, number>();
    lists.forEach((list, index) => {
      const bit = 1 << index;
      for (const domain of list.domains) masks.set(domain, (masks.get(domain) ?? 0) | bit);
    });
    return new DomainMatcher(
      lists.map((l) => ({ name: l.name, version: l.version })),
      masks,
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

  /** The most specific listed suffix of `name` (lowercased, no trailing dot) within `mask`. */
  match(name: string, mask: number): DomainMatch | undefined {
    if (mask === 0 || name === '') return undefined;
    let candidate = name;
    let dot = -1;
    while (true) {
      const bits = this.masks.get(candidate);
      if (bits !== undefined && (bits & mask) !== 0) {
        return { rule: candidate, list: this.lists[31 - Math.clz32((bits & mask) & -(bits & mask))] as ListRef };
      }
      dot = name.indexOf('.', dot + 1);
      if (dot < 0) return undefined;
      candidate = name.slice(dot + 1);
    }
  }

  get size(): number {
    return this.masks.size;
  }
}

/** True when `name` equals one of `domains` or is a subdomain of one. */
export function matchesAnySuffix(name: string, domains: ReadonlySet<string>): string | undefined {
  if (name === '') return undefined;
  let candidate = name;
  let dot = -1;
  while (true) {
    if (domains.has(candidate)) return candidate;
    dot = name.indexOf('.', dot + 1);
    if (dot < 0) return undefined;
    candidate = name.slice(dot + 1);
  }
}
