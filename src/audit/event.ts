// The block-log event (schema version 1, docs/AUDIT.md), its canonical encoding and its hash.
import { hash as oneShotHash } from 'node:crypto';
import type { DecisionAction, DecisionResponse, DecisionTransport } from './types.ts';

export const SCHEMA_VERSION = 1;
/** `prev` of the very first event of an instance's chain. */
export const GENESIS = '0'.repeat(64);

/** One line of a block-log file. Field names are the public schema: additions only. */
export interface AuditEvent {
  /** ISO 8601 UTC with milliseconds. */
  ts: string;
  instance: string;
  segment: string;
  /** Client address, or "anon:<16 hex>" on pseudonymised segments. */
  client: string;
  qname: string;
  /** Mnemonic ("A", "AAAA", "HTTPS"), or "TYPE<n>" (RFC 3597) for others. */
  qtype: string;
  action: DecisionAction;
  list: string;
  rule: string;
  list_version: string;
  response: DecisionResponse;
  /** How the query came in (udp, tcp, dot, doh); absent in records written before the field existed. */
  transport?: DecisionTransport;
  /** 1, 2, 3, ... per instance, across restarts and files. */
  seq: number;
  /** `hash` of the previous event of this instance (GENESIS for seq 1). */
  prev: string;
  /** SHA-256 (hex) of the canonical encoding of every other field. */
  hash: string;
}

/** Field order of the files, the API and CSV (the order). */
export const EVENT_FIELDS = ['ts', 'instance', 'segment', 'client', 'qname', 'qtype', 'action', 'list', 'rule', 'list_version', 'response', 'transport', 'seq', 'prev', 'hash'] as const;

/** Mnemonic of a qtype ("A", "HTTPS", or "TYPE<n>"): the one table is in src/dns/constants.ts. */
export { qtypeName } from '../dns/constants.ts';

/**
 * Canonical encoding: RFC 8785 (JCS) of the event without `hash`: members sorted by name,
 * no whitespace, JSON string escaping, integers as digits. Generic over the members present,
 * so fields added later are covered without changing the verifier.
 */
export function canonicalize(record: Readonly<Record<string, unknown>>, omit = 'hash'): string {
  const keys = Object.keys(record).filter((k) => k !== omit && record[k] !== undefined).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (i > 0) out += ',';
    out += JSON.stringify(key) + ':' + canonicalValue(record[key]);
  }
  return out + '}';
}

function canonicalValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('non-finite number in an audit record');
    return JSON.stringify(value);
  }
  if (typeof value === 'boolean' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) return '[' + value.map(canonicalValue).join(',') + ']';
  if (typeof value === 'object') return canonicalize(value as Record<string, unknown>, '');
  throw new TypeError(`unsupported ${typeof value} in an audit record`);
}

export function sha256Hex(text: string | Buffer): string {
  // One-shot crypto.hash: a third of the cost of createHash().update().digest() for short inputs.
  return oneShotHash('sha256', text, 'hex');
}

/** The `hash` an event must carry. */
export function eventHash(record: Readonly<Record<string, unknown>>): string {
  return sha256Hex(canonicalize(record));
}

/** Event fields before chaining (what the writer builds from a Decision). */
export type EventBody = Omit<AuditEvent, 'seq' | 'prev' | 'hash'>;

/** Printable ASCII without `"` and `\`: written as is between quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function quote(value: string): string {
  return PLAIN.test(value) ? `"${value}"` : JSON.stringify(value);
}

/**
 * quote() of one field, remembering its last value: instance, segment, list, its version, the
 * qtype and the rule repeat from one event to the next under load, and a string comparison
 * (often the same string object) is cheaper than the regular expression (~20 ns a field).
 */
class QuotedField {
  private last = '';
  private quoted = '""';

  of(value: string): string {
    if (value !== this.last) {
      this.last = value;
      this.quoted = quote(value);
    }
    return this.quoted;
  }
}

const instanceField = new QuotedField();
const segmentField = new QuotedField();
const listField = new QuotedField();
const versionField = new QuotedField();
const qtypeField = new QuotedField();
const ruleField = new QuotedField();

/** Bytes encodeEventInto may need at most for this body (JSON escapes take up to 6 bytes per character). */
export function maxEventBytes(body: EventBody): number {
  return (
    400 +
    6 * (body.ts.length + body.instance.length + body.segment.length + body.client.length + body.qname.length + body.qtype.length + body.list.length + body.rule.length + body.list_version.length)
  );
}

/**
 * Fast path for the writer: writes the event's file line into `buf` at `off` without building
 * strings. The line's members are in canonical (sorted) order with `hash` appended last, so the
 * canonical encoding is the line's own bytes up to the `,"hash"` member: it is hashed in place.
 * Same result as canonicalize() for the schema-1 fields (checked by the tests).
 */
export function encodeEventInto(buf: Buffer, off: number, body: EventBody, seq: number, prev: string): { end: number; hash: string } {
  // One transient string (young garbage) written with one call: cheaper than a write per member.
  // action, response and transport are fixed words and ts comes from toISOString(): never escaped.
  const canonical =
    `{"action":"${body.action}","client":${quote(body.client)},"instance":${instanceField.of(body.instance)},"list":${listField.of(body.list)},` +
    `"list_version":${versionField.of(body.list_version)},"prev":"${prev}","qname":${quote(body.qname)},"qtype":${qtypeField.of(body.qtype)},` +
    `"response":"${body.response}","rule":${ruleField.of(body.rule)},"segment":${segmentField.of(body.segment)},"seq":${seq},` +
    (body.transport === undefined ? '' : `"transport":"${body.transport}",`) +
    `"ts":"${body.ts}"}`;
  const n = buf.write(canonical, off, 'utf8');
  // The string's UTF-8 bytes are the n bytes just written; hashing the string spares a Buffer view per event.
  const hash = oneShotHash('sha256', canonical, 'hex');
  // Replace the closing "}" by the hash member.
  const end = off + n - 1 + buf.write(`,"hash":"${hash}"}\n`, off + n - 1, 'latin1');
  return { end, hash };
}

let scratch = Buffer.allocUnsafe(4096);

/** The file line of one event as a string (tests and tools; the writer uses encodeEventInto). */
export function encodeEvent(body: EventBody, seq: number, prev: string): { hash: string; line: string } {
  const need = maxEventBytes(body);
  if (scratch.length < need) scratch = Buffer.allocUnsafe(need);
  const { end, hash } = encodeEventInto(scratch, 0, body, seq, prev);
  return { hash, line: scratch.toString('utf8', 0, end) };
}

/** An event's members in the schema's order (the files keep canonical order; the API and exports show this one). */
export function inSchemaOrder(record: Readonly<Record<string, unknown>>): AuditEvent {
  const out: Record<string, unknown> = {};
  for (const field of EVENT_FIELDS) if (record[field] !== undefined) out[field] = record[field];
  for (const key of Object.keys(record)) if (!(key in out)) out[key] = record[key];
  return out as unknown as AuditEvent;
}
