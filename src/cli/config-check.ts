// `dnsward config check FILE`: the same validation as `serve`, then exit.
import { parseArgs } from 'node:util';
import { checkSegmentLists } from '../config/lists-check.ts';
import { resolveUpstreams } from '../config/upstreams.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { loadNeverBlock } from '../lists/guard.ts';
import { loadListDir } from '../lists/list-file.ts';
import { loadNetworkListDir } from '../lists/network-list.ts';
import { loadServiceConfig } from './service-config.ts';

export const CONFIG_CHECK_USAGE = [
  'usage: dnsward config check FILE   (or --config FILE)',
  '  Validate FILE as `dnsward serve` would, then exit: 0 when it is good, 1 with every problem',
  '  on stderr. Checks the keys and values, the environment variables token_env names, the',
  '  upstreams and upstream_tls.ca_file, lists.dir (its lists and never-block.txt) and the lists',
  '  the segments name. Relative paths in FILE resolve against its directory.',
].join('\n');

export async function configCheckCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { config: { type: 'string', short: 'c' } } });
  const file = positionals[0] ?? values.config;
  if (!file) throw new DnswardError(ErrorCodes.USAGE, `config check needs a file: dnsward config check my.yaml\n${CONFIG_CHECK_USAGE}`);
  const config = await loadServiceConfig(file);
  // In the order serve reads them, so that both stop at the same problem with the same message.
  await resolveUpstreams(config.upstreams, config.upstream_tls?.ca_file);
  await loadNeverBlock(config.lists.dir);
  const lists = await loadListDir(config.lists.dir);
  const networks = await loadNetworkListDir(config.lists.dir);
  // Subscribed sources are fetched at start; here only their names count.
  const sources = config.lists.sources.map((s) => s.name);
  checkSegmentLists(config, new Set([...lists.map((l) => l.name), ...networks.map((l) => l.name), ...sources]), file);
  const described = [...lists.map((l) => `${l.name}=${l.set?.size ?? l.domains.length}`), ...networks.map((l) => `${l.name}=${l.networks.length} networks`), ...sources.map((s) => `${s}=subscribed`)];
  console.log(`${file}: OK (${config.segments.length} segments, lists: ${described.join(', ')})`);
  return 0;
}
