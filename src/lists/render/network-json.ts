// json for network lists: the list as data, with each prefix's provenance (seen, origin AS, sources).
import { headerFields, type NetworkRenderer } from './header.ts';

export const networkJsonRenderer: NetworkRenderer = {
  format: 'json',
  fileName: (list) => `${list}.json`,
  contentType: 'application/json; charset=utf-8',
  syntax: 'JSON (networks: IPv4 and IPv6 prefixes; entries: each prefix with the date seen, origin AS and sources)',
  render(list, options) {
    const header = Object.fromEntries(headerFields(list, options, this.syntax, list.networks.length).map(([k, v]) => [camel(k), v]));
    const body = {
      name: list.name,
      kind: 'networks',
      ...header,
      numberOfEntries: list.networks.length,
      networks: list.networks,
      entries: list.entries.map((e) => ({ prefix: e.prefix, seen: e.seen, asn: e.asn, sources: e.sources, ...(e.note ? { note: e.note } : {}) })),
      sources: list.sourceCodes,
    };
    return `${JSON.stringify(body, null, 1)}\n`;
  },
};

function camel(field: string): string {
  return field.toLowerCase().replace(/ (\w)/g, (_, c: string) => c.toUpperCase());
}
