// wildcard: "*.name" per listed domain, for Blocky >= 0.23, which matches the name and every
// subdomain (docs/LISTS.md, "*.name and the bare name": not every consumer does).
import { commentHeader, headerFields, type Renderer } from './header.ts';

export const wildcardRenderer: Renderer = {
  format: 'wildcard',
  fileName: (list) => `${list}.wildcard.txt`,
  contentType: 'text/plain; charset=utf-8',
  syntax: 'Domains wildcard (*.name blocks the name and every subdomain)',
  render(snapshot, options) {
    return commentHeader('#', headerFields(snapshot, options, this.syntax, snapshot.domains.length)) + snapshot.domains.map((d) => `*.${d}\n`).join('');
  },
};
