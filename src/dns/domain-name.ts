// Domain names as lists and config write them: one normaliser (for text and for bytes) and one
// parent-domain walk. Imports nothing, so src/lists, src/config, src/policy and src/audit can
// all use it. Wire-format names (labels on the wire) are src/dns/names.ts.
//
// A valid name, after normalising:
//   - surrounding ASCII whitespace (tab, LF, VT, FF, CR, space) is ignored; whitespace inside is not;
//   - one trailing dot is dropped ("example.com." is "example.com");
//   - ASCII letters are lowercased; any other byte outside a-z 0-9 "-" "_" "." is invalid,
//     so non-ASCII (IDN in Unicode form) is invalid: write it as punycode ("xn--...");
//   - at least two labels, each 1-63 octets, not starting or ending with "-";
//   - at most 253 octets in all.
// test/unit/dns/domain-name.test.ts runs one conformance corpus through both paths.

export const MAX_DOMAIN_OCTETS = 253;
export const MAX_LABEL_OCTETS = 63;

const DOT = 0x2e;
const HYPHEN = 0x2d;
const UNDERSCORE = 0x5f;

function isAsciiSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Normalises buf[start, end) into `out` (at least MAX_DOMAIN_OCTETS bytes), from out[0].
 * Returns the name's length, or -1 when it is not a valid name. No allocation: the list
 * loaders call it for every line of million-name files.
 */
export function normalizeDomainBytes(buf: Uint8Array, start: number, end: number, out: Uint8Array): number {
  while (start < end && isAsciiSpace(buf[start] as number)) start++;
  while (end > start && isAsciiSpace(buf[end - 1] as number)) end--;
  if (end > start && buf[end - 1] === DOT) end--;
  const length = end - start;
  if (length <= 0 || length > MAX_DOMAIN_OCTETS) return -1;
  let labelLength = 0;
  let labels = 1;
  let previous = DOT;
  for (let i = 0; i < length; i++) {
    let c = buf[start + i] as number;
    if (c === DOT) {
      if (labelLength === 0 || previous === HYPHEN) return -1;
      labelLength = 0;
      labels++;
    } else {
      if (c >= 0x41 && c <= 0x5a) c += 32;
      const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === UNDERSCORE || (c === HYPHEN && labelLength > 0);
      if (!ok || ++labelLength > MAX_LABEL_OCTETS) return -1;
    }
    out[i] = c;
    previous = c;
  }
  if (labelLength === 0 || labels < 2 || previous === HYPHEN) return -1;
  return length;
}

const scratch = new Uint8Array(MAX_DOMAIN_OCTETS);

/**
 * The normalised form of a name written as text, or undefined when it is not a valid name.
 * The text's UTF-8 bytes go through normalizeDomainBytes, so both paths agree by construction
 * (String#toLowerCase would fold the Kelvin sign U+212A into "k"; bytes never do).
 */
export function normalizeDomain(input: string): string | undefined {
  const bytes = Buffer.from(input, 'utf8');
  const length = normalizeDomainBytes(bytes, 0, bytes.length, scratch);
  return length < 0 ? undefined : Buffer.from(scratch.buffer, scratch.byteOffset, length).toString('latin1');
}

/** What the walk asks: a Set, a Map, or anything else with has(name). */
export interface NameLookup {
  has(name: string): boolean;
}

/**
 * The parent-domain walk: the first of `name` itself (with from "name"), then its parents
 * nearest first ("a.b.example.com" → "b.example.com" → "example.com" → "com") that `listed`
 * has, or undefined. `name` is normalised (lowercase, no trailing dot). Allocates only the
 * parent strings it tries; the DNS hot path over compact lists uses DomainMatcher instead.
 */
export function findListedSuffix(name: string, listed: NameLookup, from: 'name' | 'parent' = 'name'): string | undefined {
  if (name === '') return undefined;
  if (from === 'name' && listed.has(name)) return name;
  for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
    const parent = name.slice(dot + 1);
    if (listed.has(parent)) return parent;
  }
  return undefined;
}

/** Whether `name` is `domain` or a name below it ("www.example.com" is under "example.com"; "badexample.com" is not). */
export function isSameOrSubdomain(name: string, domain: string): boolean {
  return name.length === domain.length
    ? name === domain
    : name.length > domain.length && name.charCodeAt(name.length - domain.length - 1) === DOT && name.endsWith(domain);
}
