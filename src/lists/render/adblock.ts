// adblock: "||name^" (AdGuard Home, AdGuard DNS, Pi-hole v6). Header lines start with "!" and the
// first one is "! Title:" (AdGuard Home names the list from it). No "[Adblock Plus]" line and no
// modifiers: hostlist-compiler's Validate would drop them.
import { commentHeader, headerFields, type Renderer } from './header.ts';

export const adblockRenderer: Renderer = {
  format: 'adblock',
  fileName: (list) => `${list}.adblock.txt`,
  contentType: 'text/plain; charset=utf-8',
  syntax: 'AdBlock (||name^ blocks the name and every subdomain)',
  render(snapshot, options) {
    return commentHeader('!', headerFields(snapshot, options, this.syntax, snapshot.domains.length)) + snapshot.domains.map((d) => `||${d}^\n`).join('');
  },
};
