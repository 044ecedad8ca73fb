// The system resolvers from /etc/resolv.conf: the default upstreams when the config names none.
import { readFile } from 'node:fs/promises';
import { type HostPort, parseHostPort } from './address.ts';

export function parseResolvConf(text: string): HostPort[] {
  const servers: HostPort[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m || m[1] === undefined) continue;
    const parsed = parseHostPort(m[1], 53);
    if (typeof parsed !== 'string') servers.push(parsed);
  }
  return servers;
}

export async function systemResolvers(path = '/etc/resolv.conf'): Promise<HostPort[]> {
  try {
    return parseResolvConf(await readFile(path, 'utf8'));
  } catch {
    return [];
  }
}
