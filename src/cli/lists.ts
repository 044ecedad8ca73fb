// `dnsward lists check [DIR]`, `dnsward lists build --out DIR` and `dnsward lists diff A [B]`.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../config/schema.ts';
import { loadConfigFile } from '../config/load.ts';
import { listsSection } from '../config/sections/lists.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { formatChangeBlock } from '../lists/changelog.ts';
import { checkListDir } from '../lists/check.ts';
import { checkNetworkListDir } from '../lists/network-check.ts';
import { CHANGES_ATOM_NAME, CHANGES_JSON_NAME, CHANGES_NAME, feedOptionsFromConfig, ListFeed, MANIFEST_NAME, PUBLIC_KEY_NAME, SIGNATURE_NAME } from '../lists/feed.ts';
import { diffStates, diffSummary } from '../lists/list-diff.ts';
import { loadListDir } from '../lists/list-file.ts';
import { loadNetworkListDir } from '../lists/network-list.ts';
import { NetworkListRegistry } from '../lists/network-registry.ts';
import { changelogReasons, resolveListVersion } from '../lists/list-versions.ts';
import { ListRegistry } from '../lists/registry.ts';
import { renderListsPage } from '../http/pages/lists-page.ts';

export const LISTS_CHECK_USAGE = [
  'usage: dnsward lists check [DIR] [--config FILE] [--never-block FILE]',
  '  Validate the maintained lists in DIR (default: lists.dir of FILE, else lists/), domain lists',
  '  (<name>.list) and network lists (<name>.networks): problems as',
  '  file:line, exit 1 when there are any. --never-block: names no list may block as a whole',
  '  (default DIR/never-block.txt); --config also checks the segments\' allowlists against the lists.',
].join('\n');

export const LISTS_BUILD_USAGE = [
  'usage: dnsward lists build --out DIR [LISTS_DIR] [--config FILE] [--signing-key FILE] [--public-url URL] [--homepage URL]',
  '  Write every list in every format, signed when a key is given, for static hosting under DIR.',
].join('\n');

export const LISTS_DIFF_USAGE = [
  'usage: dnsward lists diff A [B] [--dir DIR] [--json | --changes [--summary TEXT]]',
  '  Compare two versions of a maintained list: entries added, removed, and kept with other evidence.',
  '  A and B: a list file (old/tiktok.list), a list by name (tiktok: lists/tiktok.list as it is now),',
  '  or an earlier version from its changelog (tiktok@3f2a9c1b7e0d, or a prefix of the version).',
  '  B defaults to the current file of A\'s list. --dir: the lists folder (default lists/).',
  '  --json: machine-readable. --changes: a block for lists/<name>.changes describing B, to append',
  '  and complete (every removal needs a reason; lists check says what is missing).',
].join('\n');

export async function listsDiffCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { dir: { type: 'string' }, json: { type: 'boolean' }, changes: { type: 'boolean' }, summary: { type: 'string' } },
  });
  const [first, second, ...extra] = positionals;
  if (first === undefined || extra.length > 0) throw new DnswardError(ErrorCodes.USAGE, `lists diff compares two versions: dnsward lists diff tiktok@3f2a9c1b7e0d tiktok\n${LISTS_DIFF_USAGE}`);
  if (values.json && values.changes) throw new DnswardError(ErrorCodes.USAGE, `lists diff: choose --json or --changes, not both\n${LISTS_DIFF_USAGE}`);
  const dir = values.dir ?? 'lists';
  const a = await resolveListVersion(first, dir);
  const b = await resolveListVersion(second ?? a.name, dir);
  const raw = diffStates(a.state, b.state);
  // Between two versions of the same changelog, say why as the changelog does.
  const reasons = a.name === b.name ? await changelogReasons(a.name, dir, a.version, b.version) : new Map<string, string>();
  const why = <T extends { name: string; reason: string }>(c: T): T => ({ ...c, reason: reasons.get(c.name) ?? c.reason });
  const diff = { added: raw.added.map(why), removed: raw.removed.map(why), changed: raw.changed.map(why) };
  if (values.changes) {
    process.stdout.write(formatChangeBlock(b.version, b.lastModified, values.summary ?? diffSummary(diff), diff));
    return 0;
  }
  if (values.json) {
    const side = (v: typeof a): object => ({ name: v.name, operand: v.label, version: v.version, last_modified: v.lastModified.toISOString() });
    console.log(JSON.stringify({ from: side(a), to: side(b), ...diff, sources: { ...a.sources, ...b.sources } }, null, 1));
    return 0;
  }
  console.log(`${a.name} ${a.version} (${a.label}) -> ${b.name} ${b.version} (${b.label})`);
  const width = Math.min(48, Math.max(0, ...[...diff.added, ...diff.removed, ...diff.changed].map((c) => c.name.length)));
  for (const c of diff.added) console.log(`+ ${c.name.padEnd(width)}  ${c.sources.join(',')}  ${c.reason}`.trimEnd());
  for (const c of diff.removed) console.log(`- ${c.name.padEnd(width)}  ${c.sources.join(',')}  ${c.reason}`.trimEnd());
  for (const c of diff.changed) console.log(`~ ${c.name.padEnd(width)}  ${c.reason}`.trimEnd());
  console.log(diffSummary(diff));
  return 0;
}

export async function listsCheckCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, 'never-block': { type: 'string' } },
  });
  const config = values.config ? await loadConfigFile(values.config) : undefined;
  const dir = positionals[0] ?? config?.lists.dir ?? 'lists';
  const result = await checkListDir(dir, { neverBlockFile: values['never-block'], segments: config?.segments });
  const networks = await checkNetworkListDir(dir, { domainLists: result.lists.map((l) => l.name) });
  const problems = [...result.problems, ...networks.problems];
  for (const problem of problems) console.log(problem);
  for (const list of result.lists) console.log(`${list.file}: ${list.entries} entries, ${list.domains} blocking domains, ${list.hosts} known hosts`);
  for (const list of networks.lists) console.log(`${list.file}: ${list.entries} network prefixes (${list.v4} IPv4, ${list.v6} IPv6)`);
  if (problems.length > 0) {
    console.log(`${problems.length} problem${problems.length === 1 ? '' : 's'}`);
    return 1;
  }
  console.log('OK');
  return 0;
}

export async function listsBuildCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      config: { type: 'string', short: 'c' },
      'signing-key': { type: 'string' },
      'public-url': { type: 'string' },
      homepage: { type: 'string' },
    },
  });
  if (!values.out) throw new DnswardError(ErrorCodes.USAGE, `lists build needs an output directory: dnsward lists build --out public/ [LISTS_DIR]\n${LISTS_BUILD_USAGE}`);
  const base: Config['lists'] = values.config ? (await loadConfigFile(values.config)).lists : listsSection.parse(undefined);
  const listsConfig = {
    ...base,
    dir: positionals[0] ?? base.dir,
    ...(values['signing-key'] ? { signing_key_file: values['signing-key'] } : {}),
    ...(values['public-url'] ? { public_url: values['public-url'].replace(/\/+$/, '') } : {}),
    ...(values.homepage ? { homepage: values.homepage } : {}),
  };
  const written = await buildStaticLists(listsConfig, values.out);
  console.log(`wrote ${written.length} files to ${values.out}`);
  return 0;
}

/** Writes every list in every format, the manifests, signatures, index and page, mirroring the HTTP paths. */
export async function buildStaticLists(lists: Config['lists'], out: string): Promise<string[]> {
  const registry = new ListRegistry();
  for (const snapshot of await loadListDir(lists.dir)) registry.set(snapshot);
  const networks = new NetworkListRegistry();
  networks.replace(await loadNetworkListDir(lists.dir));
  const feed = new ListFeed(registry, await feedOptionsFromConfig(lists), networks);
  const written: string[] = [];
  const put = async (path: string, body: Buffer | string): Promise<void> => {
    const file = join(out, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, body);
    written.push(file);
  };
  for (const snapshot of feed.published()) {
    const pub = await feed.publication(snapshot.name);
    if (!pub) continue;
    for (const file of pub.files.values()) await put(`lists/${snapshot.name}/${file.format}`, file.body);
    await put(`lists/${snapshot.name}/${MANIFEST_NAME}`, pub.manifest.body);
    if (pub.signature) await put(`lists/${snapshot.name}/${SIGNATURE_NAME}`, pub.signature.body);
    if (pub.changes) {
      // A static host cannot negotiate: /changes is the JSON, as the server's default.
      for (const name of [CHANGES_NAME, CHANGES_JSON_NAME]) await put(`lists/${snapshot.name}/${name}`, pub.changes.json.body);
      await put(`lists/${snapshot.name}/${CHANGES_ATOM_NAME}`, pub.changes.atom.body);
    }
  }
  for (const list of feed.publishedNetworks()) {
    const pub = await feed.networkPublication(list.name);
    if (!pub) continue;
    for (const file of pub.files.values()) await put(`lists/${list.name}/${file.format}`, file.body);
    await put(`lists/${list.name}/${MANIFEST_NAME}`, pub.manifest.body);
    if (pub.signature) await put(`lists/${list.name}/${SIGNATURE_NAME}`, pub.signature.body);
  }
  const index = await feed.index();
  await put('lists/index.json', index.body);
  if (feed.publicKeyPem) await put(`lists/${PUBLIC_KEY_NAME}`, feed.publicKeyPem);
  await put('index.html', renderListsPage(JSON.parse(index.body.toString('utf8')) as Parameters<typeof renderListsPage>[0], lists.public_url ?? ''));
  return written;
}
