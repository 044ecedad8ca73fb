// wildcard: "*.name" per listed domain (Blocky >= 0.23, OPNsense, Technitium-style consumers);
// the consumer matches the name and every subdomain.
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
