// The hosts, domains and adblock outputs checked against their consumers' documented parsers:
// Pi-hole v6 gravity (FTL src/tools/gravity-parseList.c) and AdGuard's hostlist-compiler Validate
// (src/transformations/validate.js). The rules are re-implemented here from that source.
import { parse as tldtsParse } from 'tldts';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadListDir } from '../../../src/lists/list-file.ts';
import { rendererFor } from '../../../src/lists/render/index.ts';
import type { ListSnapshot } from '../../../src/lists/types.ts';

// ---- Pi-hole FTL gravity ----
const PIHOLE_FALSE_POSITIVES = new Set(['localhost', 'localhost.localdomain', 'local', 'broadcasthost', 'ip6-localhost', 'ip6-loopback', 'ip6-localnet', 'ip6-mcastprefix', 'ip6-allnodes', 'ip6-allrouters', 'ip6-allhosts']);

/** valid_domain(): [a-z0-9._-], labels 1..63, <= 255, (fqdn_only) at least one dot, TLD not starting/ending with "-", TLD >= 2 chars. */
function piholeValidDomain(domain: string, fqdnOnly: boolean): boolean {
  if (domain.length === 0 || domain.length > 255) return false;
  let lastDot = -1;
  for (let i = 0; i < domain.length; i++) {
    const c = domain[i] as string;
    if (!/[a-z0-9._-]/.test(c)) return false;
    if (c === '.') {
      if (i - lastDot === 1 || i - lastDot > 64) return false;
      lastDot = i;
    }
  }
  if (lastDot === -1 && fqdnOnly) return false;
  if (domain[lastDot + 1] === '-' || domain.endsWith('-')) return false;
  return domain.length - 1 - lastDot >= 2;
}

function isIp(token: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(token) || (token.includes(':') && /^[0-9a-f:.]+$/i.test(token));
}

function piholeGravity(text: string): { exact: number; abp: number; invalid: string[] } {
  const result = { exact: 0, abp: 0, invalid: [] as string[] };
  for (let line of text.replace(/^\uFEFF/, '').split('\n')) {
    line = line.replace(/\r$/, '').replace(/\s+$/, '');
    if (line === '' || /^[!#;[]/.test(line)) continue;
    if (['##', '#$#', '#@#', '#?#', '#%#'].some((m) => line.includes(m))) continue;
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    for (let token of line.split(/[ \t]+/).filter(Boolean)) {
      if (isIp(token)) continue;
      token = token.replace(/\.$/, '').toLowerCase();
      if (!token.startsWith('|') && piholeValidDomain(token, true)) result.exact++;
      else if (token.startsWith('||') && token.endsWith('^') && token.length >= 3 && piholeValidDomain(token.slice(2, -1), false)) result.abp++;
      else if (!PIHOLE_FALSE_POSITIVES.has(token)) result.invalid.push(token);
    }
  }
  return result;
}

// ---- AdGuard hostlist-compiler Validate ----
const SUPPORTED_MODIFIERS = new Set(['important', '~important', 'dnstype', 'dnsrewrite', 'ctag', 'denyallow', 'badfilter', 'client']);
const ETC_HOSTS = /^([a-f0-9.:\][]+)(%[a-z0-9]+)?\s+([^#]+)(#.*)?$/;

function agIsComment(rule: string): boolean {
  return rule.startsWith('!') || rule.startsWith('# ') || rule === '#' || rule.startsWith('####');
}

function agValidHostname(hostname: string): boolean {
  const r = tldtsParse(hostname);
  if (!r.hostname || r.isIp) return false;
  if (r.hostname === r.publicSuffix) return false;
  return /[a-z0-9]/i.test(hostname);
}

function agValid(rule: string): boolean {
  if (agIsComment(rule) || rule.trim() === '') return true;
  const hosts = ETC_HOSTS.exec(rule);
  if (hosts) {
    const names = (hosts[3] ?? '').trim().split(/\s+/).filter(Boolean);
    return names.length > 0 && names.every(agValidHostname);
  }
  const dollar = rule.indexOf('$');
  const pattern = dollar >= 0 ? rule.slice(0, dollar) : rule;
  const options = dollar >= 0 ? rule.slice(dollar + 1).split(',') : [];
  if (options.some((o) => !SUPPORTED_MODIFIERS.has(o.split('=')[0] ?? ''))) return false;
  if (pattern.length < 5) return false;
  if (pattern.startsWith('/') && pattern.endsWith('/')) return true;
  if (!/^[a-zA-Z0-9-.*|^]+$/.test(pattern.replace(/^:\/\//, ''))) return false;
  const sep = pattern.indexOf('^');
  const wildcard = pattern.indexOf('*');
  if (sep !== -1 && wildcard !== -1 && wildcard > sep) return false;
  if (pattern.startsWith('||') && sep !== -1 && wildcard === -1) {
    if (!agValidHostname(pattern.slice(2, sep))) return false;
    if (pattern.length > sep + 1 && pattern[sep + 1] !== '|') return false;
  }
  return true;
}

/** Validate with TrimLines first; returns the lines it would drop. */
function agDropped(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => !agValid(l));
}

describe('the encoded consumer rules themselves', () => {
  it('Pi-hole: accepts exact names and ||x^, rejects what its docs say it counts invalid', () => {
    const r = piholeGravity('# c\n! c\n[Adblock Plus]\n0.0.0.0 a.com\nb.com\n||c.com^\n||intranet^\n||x.com^$important\n*.y.com\nlocal=/z.com/\nsingle\nlocalhost\n0.0.0.0\n');
    expect(r.exact).toBe(2);
    expect(r.abp).toBe(2);
    expect(r.invalid).toEqual(['||x.com^$important', '*.y.com', 'local=/z.com/', 'single']);
  });

  it('hostlist-compiler: drops modifiers it does not support, public suffixes, IPs, junk after ^', () => {
    expect(agDropped('! t\n# t\n||tiktok.com^\n||tiktok.com^$important\n0.0.0.0 tiktok.com\n')).toEqual([]);
    expect(agDropped('[Adblock Plus]\n||com^\n||co.uk^\n||x.com^$third-party\n||1.2.3.4^\n0.0.0.0 com\n||a.com^x\n#comment\n')).toEqual([
      '[Adblock Plus]',
      '||com^',
      '||co.uk^',
      '||x.com^$third-party',
      '||1.2.3.4^',
      '0.0.0.0 com',
      '||a.com^x',
      '#comment',
    ]);
  });
});

describe.each(['tiktok', 'bytedance', 'doh-bypass'])('the %s list, as its consumers read it', (name) => {
  let snapshot: ListSnapshot;
  const options = { homepage: 'https://lists.example.org/', expires: '1 day' };
  beforeAll(async () => {
    const found = (await loadListDir('lists')).find((l) => l.name === name);
    if (!found) throw new Error(`no list ${name}`);
    snapshot = found;
  });
  const render = (format: string): string => rendererFor(format)?.render(snapshot, options) ?? '';

  it('hosts: Pi-hole gravity parses every line as an exact domain, nothing invalid', () => {
    const r = piholeGravity(render('hosts'));
    expect(r.invalid).toEqual([]);
    expect(r.exact).toBe((snapshot.hosts ?? snapshot.domains).length);
  });

  it('domains: Pi-hole gravity parses every line as an exact domain', () => {
    const r = piholeGravity(render('domains'));
    expect(r.invalid).toEqual([]);
    expect(r.exact).toBe((snapshot.hosts ?? snapshot.domains).length);
  });

  it('adblock: Pi-hole gravity parses every rule as ABP-style, nothing invalid', () => {
    const r = piholeGravity(render('adblock'));
    expect(r.invalid).toEqual([]);
    expect(r).toMatchObject({ exact: 0, abp: snapshot.domains.length });
  });

  it('adblock and hosts: hostlist-compiler Validate keeps every line, header included', () => {
    expect(agDropped(render('adblock'))).toEqual([]);
    expect(agDropped(render('hosts'))).toEqual([]);
  });

  it('adblock: AdGuard Home reads the list name from the first "! Title:" line; no control bytes', () => {
    const text = render('adblock');
    expect(text.split('\n')[0]).toBe(`! Title: ${snapshot.title}`);
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });
});
