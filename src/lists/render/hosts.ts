// hosts: "0.0.0.0 name" (Pi-hole, AdAway, OS hosts files). Exact names only, so the known hosts
// under every listed domain are written out.
import { commentHeader, exactNames, headerFields, type Renderer } from './header.ts';

export const hostsRenderer: Renderer = {
  format: 'hosts',
  fileName: (list) => `${list}.hosts.txt`,
  contentType: 'text/plain; charset=utf-8',
  syntax: 'Hosts (0.0.0.0 name; exact names, known subdomains written out)',
  render(snapshot, options) {
    const names = exactNames(snapshot);
    return commentHeader('#', headerFields(snapshot, options, this.syntax, names.length)) + names.map((n) => `0.0.0.0 ${n}\n`).join('');
  },
};
