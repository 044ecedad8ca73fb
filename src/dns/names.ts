// Bounded domain-name reading on raw messages. Written by hand (not dns2's parser) because
// dns2 follows pointer chains without a hop limit and cannot tell "a.b" from a label
// containing a dot; these functions are on the query path and must be allocation-light.
import { MAX_NAME_OCTETS, MAX_POINTER_HOPS } from './constants.ts';

/** Offset just past the name at `offset` (a pointer ends the name), or -1 when malformed. */
export function skipName(buf: Buffer, offset: number): number {
  let pos = offset;
  // The root label's length octet counts too: 255 octets in all (RFC 1035 §2.3.4).
  let octets = 1;
  while (pos < buf.length) {
    const len = buf[pos] as number;
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) return pos + 2 <= buf.length ? pos + 2 : -1;
    if (len > 63) return -1;
    octets += len + 1;
    if (octets > MAX_NAME_OCTETS) return -1;
    pos += len + 1;
  }
  return -1;
}

/**
 * Offset of the length octet that starts the last `labels` labels of the pointer-free name at
 * `offset` (a parsed question's), or `offset` itself when the name has no more labels than
 * that. It walks the name again rather than keep every label's offset from the parse: such
 * an array cost ~180 bytes of garbage a query, for an offset only a block answer needs.
 */
export function suffixOffset(buf: Buffer, offset: number, labels: number): number {
  let count = 0;
  for (let pos = offset; pos < buf.length && buf[pos] !== 0; pos += (buf[pos] as number) + 1) count++;
  let pos = offset;
  for (let skip = count - labels; skip > 0 && pos < buf.length; skip--) pos += (buf[pos] as number) + 1;
  return pos;
}

/**
 * Like skipName, but also follows the compression pointers (backwards only, at most
 * MAX_POINTER_HOPS, 255 octets in all) to prove the name is well formed, without building
 * it. Returns the offset just past the name where it sits, or -1.
 */
export function checkName(buf: Buffer, offset: number): number {
  let pos = offset;
  let hops = 0;
  let octets = 1;
  let limit = offset;
  let end = -1;
  while (pos < buf.length) {
    const len = buf[pos] as number;
    if (len === 0) return end < 0 ? pos + 1 : end;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) return -1;
      const target = ((len & 0x3f) << 8) | (buf[pos + 1] as number);
      if (target >= limit || ++hops > MAX_POINTER_HOPS) return -1;
      if (end < 0) end = pos + 2;
      limit = target;
      pos = target;
      continue;
    }
    if (len > 63) return -1;
    octets += len + 1;
    if (octets > MAX_NAME_OCTETS || pos + 1 + len > buf.length) return -1;
    pos += len + 1;
  }
  return -1;
}

/**
 * Reads the name at `offset`, following compression pointers (backwards only, at most
 * MAX_POINTER_HOPS). Returns the name lowercased (ASCII only), labels joined by ".",
 * without trailing dot ("" for the root), or undefined when malformed, including labels
 * that contain a "." (they would make the dotted form ambiguous).
 */
export function readName(buf: Buffer, offset: number): string | undefined {
  let pos = offset;
  let hops = 0;
  let octets = 1;
  let name = '';
  // A pointer must point before the start of the name that holds it: every jump goes backwards.
  let limit = offset;
  while (pos < buf.length) {
    const len = buf[pos] as number;
    if (len === 0) return name;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) return undefined;
      const target = ((len & 0x3f) << 8) | (buf[pos + 1] as number);
      if (target >= limit || ++hops > MAX_POINTER_HOPS) return undefined;
      limit = target;
      pos = target;
      continue;
    }
    if (len > 63) return undefined;
    const start = pos + 1;
    const end = start + len;
    if (end > buf.length) return undefined;
    octets += len + 1;
    if (octets > MAX_NAME_OCTETS) return undefined;
    const label = labelText(buf, start, end);
    if (label === undefined) return undefined;
    name = name === '' ? label : `${name}.${label}`;
    pos = end;
  }
  return undefined;
}

/** Label bytes as text, ASCII lowercased; undefined if the label contains a "." (0x2e). */
export function labelText(buf: Buffer, start: number, end: number): string | undefined {
  let plain = true;
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    if (c === 0x2e) return undefined;
    if ((c >= 0x41 && c <= 0x5a) || c >= 0x80) plain = false;
  }
  if (plain) return buf.toString('latin1', start, end);
  // Lowercase A-Z only: DNS case-insensitivity is ASCII-only (RFC 4343), so
  // String#toLowerCase (which also folds Latin-1 letters) would merge distinct names.
  let text = '';
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    text += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 32 : c);
  }
  return text;
}

/** Encodes a dotted name (no escapes) to wire format, lowercase as given. */
export function encodeName(name: string): Buffer {
  if (name === '' || name === '.') return Buffer.from([0]);
  const labels = name.replace(/\.$/, '').split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length === 0 || bytes.length > 63) throw new RangeError(`bad label "${label}" in ${name}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}
