// `dnsward config check FILE`: the same validation as `serve`, then exit.
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../config/load.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { loadListDir } from '../lists/list-file.ts';
import { checkSegmentLists } from '../config/lists-check.ts';

export async function configCheckCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { config: { type: 'string', short: 'c' } } });
  const file = positionals[0] ?? values.config;
  if (!file) throw new DnswardError(ErrorCodes.USAGE, 'config check needs a file: dnsward config check my.yaml');
  const config = await loadConfigFile(file);
  const lists = await loadListDir(config.lists.dir);
  // Subscribed sources are fetched at start; here only their names count.
  const sources = config.lists.sources.map((s) => s.name);
  checkSegmentLists(config, new Set([...lists.map((l) => l.name), ...sources]), file);
  const described = [...lists.map((l) => `${l.name}=${l.set?.size ?? l.domains.length}`), ...sources.map((s) => `${s}=subscribed`)];
  console.log(`${file}: OK (${config.segments.length} segments, lists: ${described.join(', ')})`);
  return 0;
}
