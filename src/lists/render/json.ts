// json: the list as data, header fields as properties (JSON has no comments).
import { exactNames, headerFields, type Renderer } from './header.ts';

export const jsonRenderer: Renderer = {
  format: 'json',
  fileName: (list) => `${list}.json`,
  contentType: 'application/json; charset=utf-8',
  syntax: 'JSON (domains block the name and every subdomain; hosts are exact names)',
  render(snapshot, options) {
    const header = Object.fromEntries(headerFields(snapshot, options, this.syntax, snapshot.domains.length).map(([k, v]) => [camel(k), v]));
    const body = {
      name: snapshot.name,
      ...header,
      numberOfEntries: snapshot.domains.length,
      domains: snapshot.domains,
      hosts: exactNames(snapshot),
      ...(snapshot.provenance ? { provenance: snapshot.provenance } : {}),
    };
    return `${JSON.stringify(body, null, 1)}\n`;
  },
};

function camel(field: string): string {
  return field.toLowerCase().replace(/ (\w)/g, (_, c: string) => c.toUpperCase());
}
