// Shared fixtures for the block-log unit tests (not a test file itself).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createPseudonymizer } from '../../../src/audit/pseudonym.ts';
import type { Decision } from '../../../src/audit/types.ts';
import { AuditWriter, type AuditWriterOptions } from '../../../src/audit/writer.ts';

export const silent = pino({ level: 'silent' });
export const KEY: KeyObject = generateKeyPairSync('ed25519').privateKey;
export const SECRET = Buffer.alloc(32, 7);

export async function tempDir(prefix = 'dnsward-audit-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export function decision(i: number, overrides: Partial<Decision> = {}): Decision {
  return {
    ts: Date.UTC(2026, 10, 28, 10, 0, 0) + i * 1000,
    segment: 'service',
    client: '10.10.0.5',
    pseudonymize: false,
    qname: `host${i}.tiktok.com`,
    qtype: 1,
    action: 'blocked',
    list: 'tiktok',
    rule: 'tiktok.com',
    listVersion: '2026.11.28.1-3f2a9c1b',
    response: 'nxdomain',
    transport: 'udp',
    ...overrides,
  };
}

export function writerOptions(dir: string, overrides: Partial<AuditWriterOptions> = {}): AuditWriterOptions {
  return {
    dir,
    instance: 'a',
    pseudonymize: createPseudonymizer(SECRET),
    signingKey: KEY,
    flushIntervalMs: 1000,
    maxBatch: 100_000,
    maxBuffered: 1_000_000,
    maxFileBytes: 64 * 1024 * 1024,
    retentionDays: 0,
    checkpointIntervalMs: 3_600_000,
    fsync: false,
    logger: silent,
    now: () => Date.UTC(2026, 10, 28, 12, 0, 0),
    ...overrides,
  };
}

/** Writes n decisions through a real writer and closes it (flush + shutdown checkpoint). */
export async function writeLog(dir: string, n: number, overrides: Partial<AuditWriterOptions> = {}, make = decision): Promise<void> {
  const writer = await AuditWriter.open(writerOptions(dir, overrides));
  for (let i = 0; i < n; i++) writer.record(make(i));
  await writer.close();
}

export { captureLogs } from '../../helpers/capture-logs.ts';

/** Query names an attacker can send: a formula for `;` locales, ESC/BEL/NUL, bidi override, quotes. */
export const HOSTILE_QNAMES = [
  "x;=cmd|' /C calc'!A0;y.tiktok.com",
  'a,=1+1,b.tiktok.com',
  '\u001b[31mred\u0007\u0000.tiktok.com',
  '-2+3.tiktok.com',
  '@sum.tiktok.com',
  '"quoted".tiktok.com',
  'tab\there.tiktok.com',
  '\u202egnp.tiktok.com',
];

/** Splits CSV text into rows of cells as a spreadsheet does with separator `sep` (RFC 4180 quoting). */
export function parseCsv(text: string, sep: ',' | ';'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === sep) {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

/** What makes a cell a formula in a spreadsheet, and characters that must never appear raw. */
export const FORMULA_CELL = /^[=+\-@\t\r]/;
// eslint-disable-next-line no-control-regex
export const RAW_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
