// Streaming loader for big list files (subscribed or generated lists with up to millions
// of names). It scans the file's bytes chunk by chunk and adds each entry's domain straight
// into a compact DomainSet: no string per line or per name, so a million-name file loads
// in about a second with little garbage; it yields to the event loop between slices, so
// queries keep flowing. Same format as list-file.ts (the domain is the first column); the
// per-entry provenance checks of `lists check` are not run here.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { normalizeDomainBytes } from '../dns/domain-name.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { DomainSet } from './domain-set.ts';
import type { ListSnapshot } from './types.ts';

/** Lines processed between yields to the event loop (~5 ms of work). */
const LINES_PER_SLICE = 20_000;
const MAX_REPORTED_PROBLEMS = 20;
const NEWLINE = 10;
const HASH_SIGN = 35;

export async function streamListFile(file: string, sizeHint: number): Promise<ListSnapshot> {
  const name = basename(file).replace(/\.list$/, '');
  // Sized from the file: entries run ~40 bytes a line, names about half; the set grows if not.
  const set = new DomainSet(Math.ceil(sizeHint / 40), Math.ceil(sizeHint / 1.9));
  const digest = createHash('sha256');
  const meta: Record<string, string> = {};
  const problems: string[] = [];
  const scratch = new Uint8Array(256);
  let problemCount = 0;
  let lineNo = 0;
  let latestAdded = '';
  let carry: Buffer | undefined;
  let sinceYield = 0;

  const handleLine = (buf: Buffer, start: number, end: number): void => {
    lineNo++;
    let s = start;
    while (s < end && (buf[s] as number) <= 32) s++;
    if (s === end) return;
    if (buf[s] === HASH_SIGN) {
      if (set.size === 0) {
        const m = /^#\s*([a-z][a-z_-]*):\s*(.*)$/i.exec(buf.toString('latin1', s, end).trim());
        if (m && m[1] !== undefined) meta[m[1].toLowerCase()] = (m[2] ?? '').trim();
      }
      return;
    }
    let e = s;
    while (e < end && (buf[e] as number) > 32) e++;
    const length = normalizeDomainBytes(buf, s, e, scratch);
    if (length < 0) {
      problemCount++;
      if (problems.length < MAX_REPORTED_PROBLEMS) problems.push(`${file}:${lineNo}: "${buf.toString('latin1', s, e)}" is not a valid domain name`);
      return;
    }
    // Second column: the date added (YYYY-MM-DD); the newest is the list's last-modified date.
    let d = e;
    while (d < end && (buf[d] as number) <= 32) d++;
    if (d + 10 <= end && buf[d + 4] === 45 && buf[d + 7] === 45 && compareDate(buf, d, latestAdded) > 0) latestAdded = buf.toString('latin1', d, d + 10);
    // The version hashes each new name with a newline after it.
    scratch[length] = NEWLINE;
    if (set.addBytes(scratch, 0, length)) digest.update(scratch.subarray(0, length + 1));
  };

  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const buf: Buffer = carry ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE); nl >= 0; nl = buf.indexOf(NEWLINE, start)) {
      handleLine(buf, start, nl);
      start = nl + 1;
      if (++sinceYield >= LINES_PER_SLICE) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    carry = start < buf.length ? Buffer.from(buf.subarray(start)) : undefined;
  }
  if (carry) handleLine(carry, 0, carry.length);
  if (problemCount > 0) {
    const more = problemCount > problems.length ? `\n... and ${problemCount - problems.length} more` : '';
    throw new DnswardError(ErrorCodes.LIST_SYNTAX, problems.join('\n') + more);
  }
  let materialised: string[] | undefined;
  const updated = meta['last-modified'] ?? latestAdded;
  return {
    name,
    title: meta.title ?? name,
    description: meta.description ?? '',
    version: digest.digest('hex').slice(0, 12),
    lastModified: updated ? new Date(`${updated}T00:00:00Z`) : new Date(0),
    set,
    // Materialised only if something asks for the plain list (renderers); the resolver does not.
    get domains(): readonly string[] {
      materialised ??= set.toSortedArray();
      return materialised;
    },
  };
}

function compareDate(buf: Buffer, at: number, text: string): number {
  for (let i = 0; i < 10; i++) {
    const a = buf[at + i] as number;
    const b = i < text.length ? text.charCodeAt(i) : 0;
    if (a !== b) return a - b;
  }
  return 0;
}
