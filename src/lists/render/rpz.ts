// rpz: a complete Response Policy Zone file (BIND response-policy, Unbound rpz:, PowerDNS, Knot).
// "name CNAME ." answers NXDOMAIN for the name, "*.name CNAME ." for its subdomains. Names are
// relative to the zone origin, which the consumer's config gives. The SOA serial is the Unix time
// of the list's last change, so it grows with every version; Unbound's url: refetches on the SOA
// refresh timer.
import { commentHeader, headerFields, type Renderer } from './header.ts';

export const DEFAULT_RPZ_TIMERS = { refresh: 3600, retry: 600, expire: 604_800, minimum: 300 } as const;

export const rpzRenderer: Renderer = {
  format: 'rpz',
  fileName: (list) => `${list}.rpz.zone`,
  contentType: 'text/plain; charset=utf-8',
  syntax: 'RPZ (BIND response-policy, Unbound rpz:, PowerDNS, Knot; name CNAME . and *.name CNAME .)',
  render(snapshot, options) {
    const t = options.rpz ?? DEFAULT_RPZ_TIMERS;
    const serial = rpzSerial(snapshot.lastModified);
    const head = commentHeader(';', headerFields(snapshot, options, this.syntax, snapshot.domains.length));
    const zone = [`$TTL ${t.minimum}`, `@ IN SOA localhost. root.localhost. ${serial} ${t.refresh} ${t.retry} ${t.expire} ${t.minimum}`, '@ IN NS localhost.', ''].join('\n');
    return `${head}${zone}${snapshot.domains.map((d) => `${d} CNAME .\n*.${d} CNAME .\n`).join('')}`;
  },
};

/** RFC 1982 serial from a time: Unix seconds, kept within 32 bits. */
export function rpzSerial(lastModified: Date): number {
  return Math.max(1, Math.floor(lastModified.getTime() / 1000) % 2 ** 32);
}
