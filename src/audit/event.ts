// The block-log event (schema version 1, docs/AUDIT.md), its canonical encoding and its hash.
import { hash as oneShotHash } from 'node:crypto';
import { sha256HexInto } from './sha256-into.ts';
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
 * Writes `value` as a JSON string at `off`; returns where it ends. Printable ASCII is copied a
 * character at a time (a name is a few dozen): a regular expression test and a Buffer write
 * per string cost twice as much, and the block log writes four per event. Anything else is
 * written as JSON.stringify escapes it, in UTF-8.
 */
function writeString(buf: Buffer, off: number, value: string): number {
  let at = off + 1;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return off + buf.write(JSON.stringify(value), off, 'utf8');
    buf[at++] = c;
  }
  buf[off] = 0x22;
  buf[at] = 0x22;
  return at + 1;
}

/** Writes a non-negative safe integer in decimal (as JSON does) at `off`; returns where it ends. */
function writeInteger(buf: Buffer, off: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) return off + buf.write(JSON.stringify(n), off, 'latin1');
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  for (let i = digits - 1, x = n; i >= 0; i--, x = Math.floor(x / 10)) buf[off + i] = 0x30 + (x % 10);
  return off + digits;
}

/**
 * The bytes of a run of members whose values repeat from one event to the next under load
 * (instance, list, its version, segment, qtype, the fixed words): kept for the last
 * RUN_SLOTS combinations, found by comparing values (usually the same string objects), so
 * that events from a few segments interleaved do not rebuild them every time.
 */
const RUN_SLOTS = 8;

class MemberRun {
  private readonly values: (string | undefined)[] = new Array<string | undefined>(4 * RUN_SLOTS).fill(undefined);
  private readonly slots: Buffer[] = [];
  private next = 0;
  private readonly text: (a: string, b: string, c: string, d: string) => string;

  constructor(text: (a: string, b: string, c: string, d: string) => string) {
    this.text = text;
  }

  of(a: string, b = '', c = '', d = ''): Buffer {
    const v = this.values;
    for (let i = 0, k = 0; i < this.slots.length; i++, k += 4) {
      if (v[k] === a && v[k + 1] === b && v[k + 2] === c && v[k + 3] === d) return this.slots[i] as Buffer;
    }
    const slot = this.next;
    this.next = (slot + 1) % RUN_SLOTS;
    const bytes = Buffer.from(this.text(a, b, c, d), 'utf8');
    this.slots[slot] = bytes;
    v[4 * slot] = a;
    v[4 * slot + 1] = b;
    v[4 * slot + 2] = c;
    v[4 * slot + 3] = d;
    return bytes;
  }
}

/** Stands for an absent transport in a MemberRun (never a transport's name). */
const NO_TRANSPORT = '\u0000';
const headRun = new MemberRun((action) => `{"action":${quote(action)},"client":`);
const sourceRun = new MemberRun((instance, list, version) => `,"instance":${quote(instance)},"list":${quote(list)},"list_version":${quote(version)},"prev":"`);
const QNAME_KEY = Buffer.from('","qname":', 'latin1');
const answerRun = new MemberRun((qtype, response) => `,"qtype":${quote(qtype)},"response":${quote(response)},"rule":`);
const segmentRun = new MemberRun((segment) => `,"segment":${quote(segment)},"seq":`);
const transportRun = new MemberRun((transport) => (transport === NO_TRANSPORT ? ',"ts":' : `,"transport":${quote(transport)},"ts":`));
const HASH_KEY = Buffer.from(',"hash":"', 'latin1');
const LINE_END = Buffer.from('"}\n', 'latin1');

/** Bytes encodeEventInto may need at most for this body (JSON escapes take up to 6 bytes per character). */
export function maxEventBytes(body: EventBody): number {
  return (
    400 +
    6 * (body.ts.length + body.instance.length + body.segment.length + body.client.length + body.qname.length + body.qtype.length + body.list.length + body.rule.length + body.list_version.length)
  );
}

/**
 * Fast path for the writer: writes the event's file line into `buf` at `off`, and where it ends
 * and where its hash's 64 hex digits are into `result` (the writer passes one it reuses). The
 * line's members are in canonical (sorted) order with `hash` appended last, so the canonical
 * encoding is the line's own bytes up to the `,"hash"` member: it is hashed in place. Same
 * result as canonicalize() for the schema-1 fields (checked by the tests).
 * Written member by member rather than as one template string: the string's parts and its
 * flattening were half of the bytes a blocked query allocated (docs/BENCHMARKS.md, stop 23).
 * `prev` and the hash stay bytes: a 64-character string per event, made and written back,
 * was ~150 ns and 80 bytes of garbage (stop 32).
 */
export interface EncodedEvent {
  /** Where the line ends in the buffer. */
  end: number;
  /** Where the line's hash (64 hex digits, ASCII) starts in the buffer. */
  hashAt: number;
}

const HASH_HEX = /^[0-9a-f]{64}$/;

/** Whether `value` is written as every event's hash is: 64 lowercase hex digits (an event's hash and prev, a seal's hash). */
export function isHashHex(value: unknown): value is string {
  return typeof value === 'string' && HASH_HEX.test(value);
}

/** 64 hex digits as the bytes encodeEventInto takes for `prev`. */
export function hashBytes(hash: string): Buffer {
  if (!isHashHex(hash)) throw new TypeError('a block-log hash is 64 lowercase hex digits');
  return Buffer.from(hash, 'latin1');
}

export function encodeEventInto(buf: Buffer, off: number, body: EventBody, seq: number, prev: Uint8Array, result: EncodedEvent = { end: 0, hashAt: 0 }): EncodedEvent {
  if (prev.length !== 64) throw new RangeError('encodeEventInto: prev is the 64 hex digits of a hash, as bytes (hashBytes)');
  let at = off;
  const head = headRun.of(body.action);
  buf.set(head, at);
  at = writeString(buf, at + head.length, body.client);
  const source = sourceRun.of(body.instance, body.list, body.list_version);
  buf.set(source, at);
  at += source.length;
  buf.set(prev, at);
  at += 64;
  buf.set(QNAME_KEY, at);
  at = writeString(buf, at + QNAME_KEY.length, body.qname);
  // The rule varies with the name asked (one of a list's entries): written in place like the qname.
  const answer = answerRun.of(body.qtype, body.response);
  buf.set(answer, at);
  at = writeString(buf, at + answer.length, body.rule);
  const segment = segmentRun.of(body.segment);
  buf.set(segment, at);
  at = writeInteger(buf, at + segment.length, seq);
  const transport = transportRun.of(body.transport ?? NO_TRANSPORT);
  buf.set(transport, at);
  at = writeString(buf, at + transport.length, body.ts);
  buf[at++] = 0x7d; // }
  // The hash member replaces the closing "}": its digits go where they will stay, past the hashed bytes.
  const hashAt = at - 1 + HASH_KEY.length;
  sha256HexInto(buf, off, at, hashAt);
  buf.set(HASH_KEY, at - 1);
  at = hashAt + 64;
  buf.set(LINE_END, at);
  result.end = at + LINE_END.length;
  result.hashAt = hashAt;
  return result;
}

let scratch = Buffer.allocUnsafe(4096);

/** The file line of one event as a string (tests and tools; the writer uses encodeEventInto). */
export function encodeEvent(body: EventBody, seq: number, prev: string): { hash: string; line: string } {
  const need = maxEventBytes(body);
  if (scratch.length < need) scratch = Buffer.allocUnsafe(need);
  const { end, hashAt } = encodeEventInto(scratch, 0, body, seq, hashBytes(prev));
  return { hash: scratch.toString('latin1', hashAt, hashAt + 64), line: scratch.toString('utf8', 0, end) };
}

/** An event's members in the schema's order (the files keep canonical order; the API and exports show this one). */
export function inSchemaOrder(record: Readonly<Record<string, unknown>>): AuditEvent {
  const out: Record<string, unknown> = {};
  for (const field of EVENT_FIELDS) if (record[field] !== undefined) out[field] = record[field];
  for (const key of Object.keys(record)) if (!(key in out)) out[key] = record[key];
  return out as unknown as AuditEvent;
}
