// The AdGuard Home rules of a network list, checked the way AdGuard Home applies them: it matches
// each A/AAAA address of an answer, as Go prints it (dotted quad, RFC 5952), against its rules as
// a host name (internal/dnsforward/filter.go). Here /re/ rules run as regular expressions and
// "|a.b.c.d^" rules as the exact address; node:net's BlockList over the prefixes is the oracle.
import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatAddress } from '../../../../src/config/networks.ts';
import { loadNetworkListDir } from '../../../../src/lists/network-list.ts';
import { adguardIpRenderer, adguardIpRules } from '../../../../src/lists/render/adguard-ip.ts';
import { parseCidr } from '../../../../src/util/address.ts';

function matcher(rules: readonly string[]): (address: string) => boolean {
  const regexes = rules.filter((r) => r.startsWith('/')).map((r) => new RegExp(r.slice(1, -1)));
  const exact = new Set(rules.filter((r) => r.startsWith('|')).map((r) => r.slice(1, -1)));
  return (address) => exact.has(address) || regexes.some((re) => re.test(address));
}

function oracle(prefixes: readonly string[]): (address: string, family: 4 | 6) => boolean {
  const list = new BlockList();
  for (const p of prefixes) {
    const [a = '', n = ''] = p.split('/');
    list.addSubnet(a, Number(n), a.includes(':') ? 'ipv6' : 'ipv4');
  }
  return (address, family) => list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** First, last, a middle address of each prefix and the neighbours just outside it, as text. */
function samples(prefix: string): { text: string; family: 4 | 6 }[] {
  const c = parseCidr(prefix);
  if (typeof c === 'string') throw new Error(c);
  const bits = c.family === 4 ? 32 : 128;
  const size = 1n << BigInt(bits - c.prefix);
  const max = (1n << BigInt(bits)) - 1n;
  const values = [c.network, c.network + size - 1n, c.network + size / 2n + 5n, c.network - 1n, c.network + size, c.network + size / 2n + (1n << 16n)];
  return values.filter((v) => v >= 0n && v <= max).map((v) => ({ text: formatAddress(c.family as 4 | 6, v), family: c.family as 4 | 6 }));
}

describe('adguard rules for network lists', () => {
  it('match exactly the addresses of each prefix in the shipped list (and of shapes it does not have yet)', async () => {
    const shipped = (await loadNetworkListDir('lists')).flatMap((l) => l.networks);
    const extra = ['10.0.0.0/8', '100.64.0.0/10', '192.0.2.0/25', '198.51.100.6/31', '2001:db8::/48', '2001:db8:8000::/33', '2605:340::/47'];
    for (const prefixes of [shipped, extra]) {
      const matches = matcher(prefixes.flatMap(adguardIpRules));
      const inside = oracle(prefixes);
      for (const prefix of prefixes) {
        for (const { text, family } of samples(prefix)) expect(matches(text), `${prefix}: ${text}`).toBe(inside(text, family));
      }
    }
  });

  it('writes the forms AdGuard documents: |address^ for single addresses (AdGuardHome#1904), start-anchored /regex/ for ranges', () => {
    expect(adguardIpRules('8.8.8.8/32')).toEqual(['|8.8.8.8^']);
    expect(adguardIpRules('1.2.3.4/31')).toEqual(['|1.2.3.4^', '|1.2.3.5^']);
    expect(adguardIpRules('139.177.226.0/23')).toEqual(['/^139\\.177\\.(?:226|227)\\./']);
    expect(adguardIpRules('71.18.0.0/16')).toEqual(['/^71\\.18\\./']);
    // A zero last group may start "::" (2605:340::1), or not (2605:340:0:1::1).
    expect(adguardIpRules('2605:340::/48')).toEqual(['/^(?:2605:340:0:|2605:340::)/']);
    expect(adguardIpRules('2404:8d04:2643::/48')).toEqual(['/^2404:8d04:2643:/']);
    // No "$": in adblock syntax it would start modifiers.
    expect(adguardIpRules('2605:340:f090::/45').join('')).not.toContain('$');
  });

  it('does not guess: a prefix with a zero group before its last one becomes a comment, the rest still loads', () => {
    expect(() => adguardIpRules('2001:0:5::/48')).toThrow(/zero group/);
    const text = adguardIpRenderer.render(
      { name: 't', title: 'T', description: 'd', license: undefined, version: 'v', lastModified: new Date(0), networks: ['2001:0:5::/48', '10.0.0.0/8'], entries: [], sourceCodes: {} },
      { expires: '1 day' },
    );
    expect(text).toMatch(/^! Title: T\n/);
    expect(text.split('\n').filter((l) => !l.startsWith('! ') && l !== '!' && l !== '')).toEqual(['/^10\\./']);
    expect(text).toContain('! not expressed: "2001:0:5::/48"');
  });
});
