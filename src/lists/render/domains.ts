// domains: one plain name per line. Most consumers of plain names (Pi-hole, AdGuard Home) match
// them exactly, so known subdomains are written out as in the hosts format.
import { commentHeader, exactNames, headerFields, type Renderer } from './header.ts';

export const domainsRenderer: Renderer = {
  format: 'domains',
  fileName: (list) => `${list}.domains.txt`,
  contentType: 'text/plain; charset=utf-8',
  syntax: 'Domains (one name per line; exact names, known subdomains written out)',
  render(snapshot, options) {
    const names = exactNames(snapshot);
    return commentHeader('#', headerFields(snapshot, options, this.syntax, names.length)) + names.map((n) => `${n}\n`).join('');
  },
};
