// cidr: one prefix per line, comments with "#" (firewall sets, ipset/nftables loaders, scripts).
import { commentHeader, headerFields, type NetworkRenderer } from './header.ts';

export const cidrRenderer: NetworkRenderer = {
  format: 'cidr',
  fileName: (list) => `${list}.cidr.txt`,
  contentType: 'text/plain; charset=utf-8',
  syntax: 'CIDR (one IPv4 or IPv6 prefix per line; lines starting with # are comments)',
  render(list, options) {
    return commentHeader('#', headerFields(list, options, this.syntax, list.networks.length)) + list.networks.map((n) => `${n}\n`).join('');
  },
};
