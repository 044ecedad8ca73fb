// unbound: a "server:" clause of local-zone lines, loadable with include: in unbound.conf.
// always_nxdomain answers NXDOMAIN for the zone and every name below it.
import { commentHeader, headerFields, type Renderer } from './header.ts';

export const unboundRenderer: Renderer = {
  format: 'unbound',
  fileName: (list) => `${list}.unbound.conf`,
  contentType: 'text/plain; charset=utf-8',
  syntax: 'Unbound (local-zone: "name." always_nxdomain; include: this file)',
  render(snapshot, options) {
    const head = commentHeader('#', headerFields(snapshot, options, this.syntax, snapshot.domains.length));
    return `${head}server:\n${snapshot.domains.map((d) => `  local-zone: "${d}." always_nxdomain\n`).join('')}`;
  },
};
