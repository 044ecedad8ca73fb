// rpz for network lists: a Response Policy Zone of rpz-ip triggers (BIND response-policy, Unbound
// rpz: with the respip module, PowerDNS Recursor rpzFile). "<owner>.rpz-ip CNAME ." answers
// NXDOMAIN for any name whose answer holds an address in the prefix. The owner is the prefix
// length, then the address reversed: octets for IPv4 (10.0.0.0/8 -> 8.0.0.0.10), 16-bit words in
// hex for IPv6 with "zz" for a run of two or more zero words, written exactly as BIND's ip2name
// (lib/dns/rpz.c) makes its canonical names: BIND logs any other spelling as not canonical.
import { parseCidr } from '../../util/address.ts';
import { commentHeader, headerFields, type NetworkRenderer } from './header.ts';
import { DEFAULT_RPZ_TIMERS, rpzSerial } from './rpz.ts';

export const rpzIpRenderer: NetworkRenderer = {
  format: 'rpz',
  fileName: (list) => `${list}.rpz.zone`,
  contentType: 'text/plain; charset=utf-8',
  syntax: 'RPZ rpz-ip triggers (BIND response-policy, Unbound rpz: with respip, PowerDNS rpzFile; <prefix>.rpz-ip CNAME .)',
  render(list, options) {
    const t = options.rpz ?? DEFAULT_RPZ_TIMERS;
    const head = commentHeader(';', headerFields(list, options, this.syntax, list.networks.length));
    const zone = [`$TTL ${t.minimum}`, `@ IN SOA localhost. root.localhost. ${rpzSerial(list.lastModified)} ${t.refresh} ${t.retry} ${t.expire} ${t.minimum}`, '@ IN NS localhost.', ''].join('\n');
    return `${head}${zone}${list.networks.map((n) => `${rpzIpOwner(n)} CNAME .\n`).join('')}`;
  },
};

/** The trigger name of a prefix, relative to the zone origin: "24.0.1.18.71.rpz-ip". */
export function rpzIpOwner(prefix: string): string {
  const cidr = parseCidr(prefix);
  if (typeof cidr === 'string') throw new RangeError(`"${prefix}": ${cidr}`);
  if (cidr.family === 4) {
    const octets = [0n, 8n, 16n, 24n].map((shift) => String((cidr.network >> shift) & 255n));
    return `${cidr.prefix}.${octets.join('.')}.rpz-ip`;
  }
  // Words from the last to the first, as BIND writes them.
  const words = Array.from({ length: 8 }, (_, i) => Number((cidr.network >> BigInt(i * 16)) & 0xffffn));
  // The longest run of two or more zero words; on a tie the later one in this reversed order (ip2name's ">=").
  let best = { first: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i >= 2 && j - i >= best.length) best = { first: i, length: j - i };
    i = j > i ? j : i + 1;
  }
  const labels: string[] = [];
  for (let i = 0; i < 8; i++) {
    if (i === best.first) {
      labels.push('zz');
      i += best.length - 1;
    } else labels.push((words[i] as number).toString(16));
  }
  return `${cidr.prefix}.${labels.join('.')}.rpz-ip`;
}
