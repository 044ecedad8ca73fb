// adguard for network lists: AdGuard Home rules that match the addresses in answers. AdGuard Home
// checks every A and AAAA address of an upstream answer against its rules as if it were a host
// name, in Go's text form (internal/dnsforward/filter.go, filterDNSResponse: a.A.String(),
// a.AAAA.String(), RFC 5952 for IPv6), and blocks the answer when a rule matches. Its rules have
// no CIDR syntax, so each prefix becomes:
// - a /N with N <= 24 (IPv4) or any IPv6 prefix: one regular-expression rule anchored at the
//   start of the address text, e.g. /^139\.177\.(?:226|227)\./ for 139.177.226.0/23; the trailing
//   separator stops 71.18.1. from matching 71.18.12.x. IPv6 forms include the "::" spelling that
//   a zero last group takes (/^(?:2605:340:0:|2605:340::)/).
// - a /25 to /32 (IPv4): one "|a.b.c.d^" rule per address (the form AdGuard's maintainers give for
//   an address in answers, AdGuardHome#1904).
// No "$" end anchors (in adblock syntax "$" starts modifiers). A name that starts with a listed
// address ("71.18.1.5.example") also matches: such names resolve to that address anyway.
import { formatAddress } from '../../config/networks.ts';
import { parseCidr } from '../../util/address.ts';
import { commentHeader, headerFields, type NetworkRenderer } from './header.ts';

export const adguardIpRenderer: NetworkRenderer = {
  format: 'adguard',
  fileName: (list) => `${list}.adguard.txt`,
  contentType: 'text/plain; charset=utf-8',
  syntax: 'AdGuard Home (rules that match A/AAAA addresses in answers: /^prefix/ regular expressions and |address^)',
  render(list, options) {
    const head = commentHeader('!', headerFields(list, options, this.syntax, list.networks.length));
    return head + list.networks.map((n) => rulesOrNote(n).map((r) => `${r}\n`).join('')).join('');
  },
};

/** The rules that match exactly the addresses of `prefix` in AdGuard Home's text form. */
export function adguardIpRules(prefix: string): string[] {
  const cidr = parseCidr(prefix);
  if (typeof cidr === 'string') throw new RangeError(`"${prefix}": ${cidr}`);
  if (cidr.family === 4) {
    if (cidr.prefix > 24) {
      const count = 2 ** (32 - cidr.prefix);
      return Array.from({ length: count }, (_, i) => `|${formatAddress(4, cidr.network + BigInt(i))}^`);
    }
    const octets = [24n, 16n, 8n, 0n].map((s) => Number((cidr.network >> s) & 255n));
    const full = Math.floor(cidr.prefix / 8);
    const parts = octets.slice(0, full).map(String);
    if (cidr.prefix % 8 !== 0) parts.push(alternatives(range(octets[full] as number, 2 ** (8 - (cidr.prefix % 8))).map(String)));
    return [`/^${parts.map((p) => `${p}\\.`).join('')}/`];
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((cidr.network >> BigInt(112 - i * 16)) & 0xffffn));
  const full = Math.floor(cidr.prefix / 16);
  const lastValues = cidr.prefix % 16 === 0 ? [] : range(groups[full] as number, 2 ** (16 - (cidr.prefix % 16)));
  const fixed = groups.slice(0, full);
  // A zero group before the last constrained one could vanish into "::" in ways a start-anchored
  // expression cannot pin down without an end anchor; such prefixes are refused, not approximated.
  const zeroBefore = (lastValues.length > 0 ? fixed : fixed.slice(0, -1)).includes(0);
  if (zeroBefore) throw new RangeError(`"${prefix}": a zero group inside the prefix cannot be expressed as an AdGuard Home rule without matching other addresses`);
  const hex = (g: number): string => g.toString(16);
  const forms: string[] = [];
  const withLast = (last: number | undefined): void => {
    const head = (last === undefined ? fixed : [...fixed, last]).map(hex);
    forms.push(`${head.join(':')}:`);
    // A zero last group starts a "::" when the zeros run on (RFC 5952 compresses runs of two or more).
    if ((last ?? fixed[fixed.length - 1]) === 0) forms.push(`${head.slice(0, -1).join(':')}::`);
  };
  if (lastValues.length === 0) withLast(undefined);
  else for (const v of lastValues) withLast(v);
  return [`/^${alternatives(forms)}/`];
}

/** A prefix no rule can express exactly becomes a comment, so the rest of the list still loads. */
function rulesOrNote(prefix: string): string[] {
  try {
    return adguardIpRules(prefix);
  } catch (error) {
    return [`! not expressed: ${(error as Error).message}`];
  }
}

function range(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}

function alternatives(values: readonly string[]): string {
  return values.length === 1 ? (values[0] as string) : `(?:${values.join('|')})`;
}
