// Parser for third-party list formats (config lists.sources): hosts files, plain domains and
// adblock-style rules, one format or a mix ("auto", decided per line). It reads the bytes in
// place into a compact DomainSet, without a string per line, and yields to the event loop in
// time slices, so a million-name list never stalls the query path. A body on disk (a download,
// the last good copy) is read in 1 MB chunks, never whole: the process holds the set, not the
// text. The fetching, caching and refreshing of sources is sources.ts.
import { open, stat } from 'node:fs/promises';
import { normalizeDomainBytes } from '../dns/domain-name.ts';
import { DomainSet, endsWithRoot, suffixWatch } from './domain-set.ts';

export type SourceFormat = 'hosts' | 'domains' | 'adblock';

export interface ParsedSource {
  set: DomainSet;
  /** Rule lines per detected format. */
  formats: Record<SourceFormat, number>;
  /** Lines that are neither comments nor usable rules (first few kept as samples: "<where>:<line>: <text>"). */
  invalid: number;
  invalidSamples: string[];
  /** Rules we cannot represent as "block this name and its subdomains" (allow rules, modifiers, wildcards). */
  ignored: number;
  title: string | undefined;
  /** Longest synchronous slice of the parse, in ms (how long queries could wait). */
  maxSliceMs: number;
  /** How many times the parse yielded to the event loop. */
  slices: number;
  /** Names at or below one of the watched roots (options.watch), found while parsing. */
  under: string[];
}

export interface ParseOptions {
  /**
   * Roots to report names at or below (the collateral guard's "subtree:" names): checked as each
   * name is added, inside the time slices, so the guard does not scan a big set again later.
   */
  watch?: readonly string[];
  /** Names the body in invalid samples (its URL or file); default "line". */
  where?: string;
  /** Updated with every chunk of the body as it is read (the version of a body read from disk). */
  hash?: { update(chunk: Buffer): unknown };
}

/** The parse yields to the event loop once a slice has run this long (checked every 1024 lines). */
const SLICE_MS = 8;
const NEWLINE = 10;
/** Names hosts files carry for the machine itself; never rules. */
const HOSTS_NOISE = new Set(['localhost', 'localhost.localdomain', 'local', 'broadcasthost', 'ip6-localhost', 'ip6-loopback', 'ip6-localnet', 'ip6-mcastprefix', 'ip6-allnodes', 'ip6-allrouters', 'ip6-allhosts', '0.0.0.0']);
/** adblock modifiers that keep "||name^" meaning "block name and subdomains". */
const HARMLESS_MODIFIERS = new Set(['important', 'all', 'document', 'doc']);

function estimateLines(sample: Buffer, total: number): number {
  sample = sample.subarray(0, 65_536);
  let lines = 0;
  for (let i = sample.indexOf(10); i >= 0; i = sample.indexOf(10, i + 1)) lines++;
  if (lines === 0) return 16;
  // 10 % headroom over the sample's rate; the set still grows if the rest differs.
  return Math.ceil((total / sample.length) * lines * 1.1);
}

/**
 * Parses a hosts, domains or adblock list (or a mix, with format "auto") into a DomainSet,
 * yielding to the event loop whenever a slice has run SLICE_MS.
 */
export function parseSourceBody(body: Buffer, format: SourceFormat | 'auto' = 'auto', options: ParseOptions = {}): Promise<ParsedSource> {
  return parseSourceChunks([body], body.length, format, options);
}

/** The same, reading a body on disk in 1 MB chunks (at most `maxBytes`, checked again here: the file may have grown). */
export async function parseSourceFile(file: string, format: SourceFormat | 'auto' = 'auto', options: ParseOptions = {}, maxBytes = Infinity): Promise<ParsedSource> {
  const { size } = await stat(file);
  if (size > maxBytes) throw new Error(`${options.where ?? file} is ${size} bytes, over lists.max_source_bytes (${maxBytes})`);
  return parseSourceChunks(fileChunks(file), size, format, { where: file, ...options });
}

/**
 * A file's bytes, 1 MB at a time, read into one buffer again and again: the parse consumes each
 * chunk before the next read, and a buffer per chunk would be garbage that sits in the
 * allocator (and in resident memory) until a GC.
 */
async function* fileChunks(file: string): AsyncGenerator<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafeSlow(1 << 20);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/**
 * Parses a body arriving in chunks (`size` bytes in all, for sizing the set once); a line may
 * span chunks. A chunk is done with when the next is asked for (its buffer may be reused).
 */
export async function parseSourceChunks(chunks: AsyncIterable<Buffer> | Iterable<Buffer>, size: number, format: SourceFormat | 'auto' = 'auto', options: ParseOptions = {}): Promise<ParsedSource> {
  let set: DomainSet | undefined;
  const result: Omit<ParsedSource, 'set'> = { formats: { hosts: 0, domains: 0, adblock: 0 }, invalid: 0, invalidSamples: [], ignored: 0, title: undefined, maxSliceMs: 0, slices: 1, under: [] };
  const watch = suffixWatch(options.watch ?? []);
  const where = options.where ?? 'line';
  const scratch = new Uint8Array(256);
  let lineNo = 0;
  let body: Buffer = Buffer.alloc(0);
  const invalid = (start: number, end: number): void => {
    result.invalid++;
    if (result.invalidSamples.length < 5) result.invalidSamples.push(`${where}:${lineNo}: ${body.toString('latin1', start, Math.min(end, start + 80))}`);
  };
  const addName = (start: number, end: number): boolean => {
    const length = normalizeDomainBytes(body, start, end, scratch);
    if (length < 0) return false;
    if ((set as DomainSet).addBytes(scratch, 0, length) && watch && endsWithRoot(scratch, 0, length, watch)) result.under.push(Buffer.from(scratch.subarray(0, length)).toString('latin1'));
    return true;
  };

  const handleLine = (s: number, end: number): void => {
    while (s < end && (body[s] as number) <= 32) s++;
    while (end > s && (body[end - 1] as number) <= 32) end--;
    if (s === end) return;
    const c = body[s] as number;
    if (c === 0x23 /* # */ || c === 0x21 /* ! */ || c === 0x3b /* ; */ || c === 0x5b /* [ */) {
      if (result.title === undefined && end - s < 300) {
        const m = /^[#!]\s*Title:\s*(.+)$/i.exec(body.toString('utf8', s, end));
        if (m?.[1]) result.title = m[1].trim();
      }
      return;
    }
    // adblock: ||name^ with optional $modifiers; @@ exceptions are ignored (no allow semantics here).
    if (c === 0x40 /* @ */ && body[s + 1] === 0x40) {
      result.ignored++;
      return;
    }
    if (c === 0x7c /* | */ && body[s + 1] === 0x7c) {
      if (format !== 'auto' && format !== 'adblock') return invalid(s, end);
      const caret = body.indexOf(0x5e /* ^ */, s + 2);
      if (caret < 0 || caret >= end) return invalid(s, end);
      const rest = body.toString('latin1', caret + 1, end);
      if (rest !== '' && rest !== '|') {
        const modifiers = rest.startsWith('$') ? rest.slice(1).split(',') : undefined;
        if (!modifiers || modifiers.some((m) => !HARMLESS_MODIFIERS.has(m.trim().toLowerCase()))) {
          result.ignored++;
          return;
        }
      }
      if (body.indexOf(0x2a /* * */, s + 2) >= 0 && body.indexOf(0x2a, s + 2) < caret) {
        result.ignored++;
        return;
      }
      if (!addName(s + 2, caret)) return invalid(s, end);
      result.formats.adblock++;
      return;
    }
    // First token: an IP address (hosts line) or a name (domains line).
    let t = s;
    while (t < end && (body[t] as number) > 32) t++;
    if (looksLikeIp(body, s, t)) {
      if (format !== 'auto' && format !== 'hosts') return invalid(s, end);
      let any = false;
      let p = t;
      while (p < end) {
        while (p < end && (body[p] as number) <= 32) p++;
        if (p >= end || body[p] === 0x23) break;
        let q = p;
        while (q < end && (body[q] as number) > 32) q++;
        if (!isHostsNoise(body, p, q)) {
          if (addName(p, q)) any = true;
          else invalid(p, q);
        }
        p = q;
      }
      if (any) result.formats.hosts++;
      return;
    }
    if (format !== 'auto' && format !== 'domains') return invalid(s, end);
    // "*.name" (wildcard lists) means the same as "name" here: the name and its subdomains.
    const start = body[s] === 0x2a && body[s + 1] === 0x2e ? s + 2 : s;
    if (isHostsNoise(body, start, t)) return;
    if (!addName(start, t)) return invalid(s, end);
    result.formats.domains++;
  };

  let lines = 0;
  let offset = 0;
  let carry: Buffer | undefined;
  let sliceStart = performance.now();
  /** Parses one line; true when the slice has run its time (the caller then yields). */
  const line = (buf: Buffer, start: number, end: number): boolean => {
    body = buf;
    lineNo++;
    handleLine(start, end);
    return (++lines & 1023) === 0 && performance.now() - sliceStart >= SLICE_MS;
  };
  const yieldSlice = async (): Promise<void> => {
    result.maxSliceMs = Math.max(result.maxSliceMs, performance.now() - sliceStart);
    await new Promise<void>((resolve) => setImmediate(resolve));
    result.slices++;
    sliceStart = performance.now();
  };
  for await (const chunk of chunks) {
    // Waiting for a chunk (a read on libuv's threadpool) let the event loop run: a new slice.
    if (offset > 0) {
      result.slices++;
      sliceStart = performance.now();
    }
    if (set === undefined) {
      rejectNonText(chunk);
      // Sized once from the average line length of the first 64 KB, so a typical list neither
      // grows the set mid-parse nor carries a table twice too big.
      set = new DomainSet(estimateLines(chunk, size), Math.ceil(size * 0.85));
    } else if (offset < 65_536) {
      rejectControlBytes(chunk, offset);
    }
    offset += chunk.length;
    options.hash?.update(chunk);
    let start = 0;
    let nl = chunk.indexOf(NEWLINE);
    if (carry !== undefined) {
      // The line that spans chunks: only its own bytes are copied.
      if (nl < 0) {
        carry = Buffer.concat([carry, chunk]);
        continue;
      }
      const joined = Buffer.concat([carry, chunk.subarray(0, nl)]);
      carry = undefined;
      if (line(joined, 0, joined.length)) await yieldSlice();
      start = nl + 1;
      nl = chunk.indexOf(NEWLINE, start);
    }
    for (; nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      if (line(chunk, start, nl)) await yieldSlice();
      start = nl + 1;
    }
    if (start < chunk.length) carry = Buffer.from(chunk.subarray(start));
    result.maxSliceMs = Math.max(result.maxSliceMs, performance.now() - sliceStart);
  }
  if (carry !== undefined) line(carry, 0, carry.length);
  set ??= new DomainSet();
  result.maxSliceMs = Math.max(result.maxSliceMs, performance.now() - sliceStart);
  return { ...result, set };
}

/** localhost, broadcasthost, ip6-*, ...: only short tokens starting with l, b, i or 0 can be one. */
function isHostsNoise(buf: Buffer, start: number, end: number): boolean {
  const first = (buf[start] as number) | 0x20;
  if (end - start > 21 || (first !== 0x6c && first !== 0x62 && first !== 0x69 && first !== 0x30)) return false;
  return HOSTS_NOISE.has(buf.toString('latin1', start, end).toLowerCase());
}

function looksLikeIp(buf: Buffer, start: number, end: number): boolean {
  if (end - start < 2 || end - start > 45) return false;
  let colon = false;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    if (c === 0x3a) colon = true;
    else if (c === 0x2e) dots++;
    else if (c === 0x25 /* % zone */) break;
    else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
  }
  return colon || dots === 3;
}

/** HTML error pages and binary data are not lists (AdGuard Home rejects them the same way). */
function rejectNonText(head: Buffer): void {
  let i = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) i = 3;
  while (i < head.length && (head[i] as number) <= 32) i++;
  const start = head.toString('latin1', i, i + 15).toLowerCase();
  if (start.startsWith('<!doctype') || start.startsWith('<html') || start.startsWith('<?xml')) throw new Error('the body is an HTML/XML page, not a list');
  rejectControlBytes(head, 0);
}

/** Control bytes in the first 64 KB of the body (`chunk` starts at byte `offset` of it). */
function rejectControlBytes(chunk: Buffer, offset: number): void {
  const probe = Math.min(chunk.length, 65_536 - offset);
  for (let j = 0; j < probe; j++) {
    const c = chunk[j] as number;
    if (c < 9 || (c > 13 && c < 32) || c === 127) throw new Error(`the body contains a control byte 0x${c.toString(16)} at offset ${offset + j}: binary data, not a list`);
  }
}
