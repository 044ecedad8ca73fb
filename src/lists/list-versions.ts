// One version of a maintained list, found by what a user types: a list file ("old/tiktok.list"),
// a list's current file by name ("tiktok"), or an earlier version from its changelog
// ("tiktok@3f2a9c1b7e0d", rebuilt by replaying lists/tiktok.changes). `dnsward lists diff`
// compares two of them.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { changelogFileOf, type ParsedChangelog, parseChangelog, replay } from './changelog.ts';
import { type EntryState, stateOf } from './list-diff.ts';
import { compileSnapshot, listLastModified, parseListFile } from './list-file.ts';

export interface ListVersion {
  readonly name: string;
  /** What the user typed, for output. */
  readonly label: string;
  readonly version: string;
  readonly lastModified: Date;
  readonly state: ReadonlyMap<string, EntryState>;
  /** Codes and what they stand for (the list's header, and the changelog's own declarations). */
  readonly sources: Readonly<Record<string, string>>;
}

const NAME = /^[a-z0-9][a-z0-9_-]*$/;

export async function resolveListVersion(operand: string, dir: string): Promise<ListVersion> {
  const at = operand.lastIndexOf('@');
  if (at > 0 && NAME.test(operand.slice(0, at))) return fromChangelog(operand.slice(0, at), operand.slice(at + 1), dir, operand);
  if (NAME.test(operand)) return fromFile(join(dir, `${operand}.list`), operand);
  return fromFile(operand, operand);
}

async function read(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new DnswardError(ErrorCodes.USAGE, `lists diff: cannot read ${what} "${file}": ${(error as Error).message}`, { cause: error });
  }
}

async function fromFile(file: string, label: string): Promise<ListVersion> {
  const parsed = parseListFile(await read(file, 'the list file'), file);
  if (parsed.problems.length > 0) throw new DnswardError(ErrorCodes.LIST_SYNTAX, parsed.problems.join('\n'));
  const snapshot = compileSnapshot(parsed, listLastModified(parsed));
  return { name: parsed.name, label, version: snapshot.version, lastModified: snapshot.lastModified, state: stateOf(parsed.entries), sources: parsed.sources };
}

async function fromChangelog(name: string, version: string, dir: string, label: string): Promise<ListVersion> {
  const listFile = join(dir, `${name}.list`);
  const file = changelogFileOf(listFile);
  const log: ParsedChangelog = parseChangelog(await read(file, 'the changelog'), file);
  const block = log.blocks.find((b) => b.version === version || (version.length >= 4 && b.version.startsWith(version)));
  if (!block) {
    const known = log.blocks.map((b) => b.version).join(', ') || 'none';
    throw new DnswardError(ErrorCodes.USAGE, `lists diff: ${file} has no version "${version}"; its versions, oldest first: ${known}`);
  }
  const { state } = replay(log, file, block.version);
  const current = parseListFile(await read(listFile, 'the list file'), listFile);
  return { name, label, version: block.version, lastModified: new Date(block.date), state, sources: { ...log.sources, ...current.sources } };
}

/**
 * The reasons the changelog gives for each name changed after version `from` up to `to` (the
 * newest reason wins), so a diff of two logged versions says why; empty when either version is
 * not in the list's changelog.
 */
export async function changelogReasons(name: string, dir: string, from: string, to: string): Promise<Map<string, string>> {
  const reasons = new Map<string, string>();
  const file = changelogFileOf(join(dir, `${name}.list`));
  let log: ParsedChangelog;
  try {
    log = parseChangelog(await readFile(file, 'utf8'), file);
  } catch {
    return reasons;
  }
  const start = log.blocks.findIndex((b) => b.version === from);
  const end = log.blocks.findIndex((b) => b.version === to);
  if (start < 0 || end < 0 || end <= start) return reasons;
  for (const block of log.blocks.slice(start + 1, end + 1)) for (const c of block.changes) reasons.set(c.name, c.reason);
  return reasons;
}
