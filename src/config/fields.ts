// Value schemas shared by several config sections: addresses, networks, names.
import { z } from 'zod';
import { normalizeDomain } from '../dns/domain-name.ts';
import { parseCidr, parseHostPort } from '../util/address.ts';
import { withoutHostBits } from './networks.ts';

export const listenAddress = z.string().superRefine((value, ctx) => {
  const parsed = parseHostPort(value, 53);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: `${parsed}; write "127.0.0.1:1053" or "[::1]:1053"` });
});

export const domainName = z.string().superRefine((value, ctx) => {
  if (normalizeDomain(value) === undefined) ctx.addIssue({ code: 'custom', message: 'not a domain name; write e.g. "example.org" (it covers its subdomains too)' });
});

export const cidr = z.string().superRefine((value, ctx) => {
  const parsed = parseCidr(value);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: `${parsed}; write "10.0.0.0/8" or "fd00::/48"` });
    return;
  }
  // "10.1.2.3/8" is read as 10.0.0.0/8: probably not what was meant, so say which it is.
  const network = withoutHostBits(value);
  if (network !== undefined) {
    const address = value.slice(0, value.indexOf('/')).trim();
    ctx.addIssue({ code: 'custom', message: `host bits are set; write "${network}" for that network, or "${address}/${parsed.family === 4 ? 32 : 128}" for the one address` });
  }
});

export const listName = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'list names are lowercase letters, digits, "-" and "_"');

/** The name of an environment variable (never its value). */
export function envName(example: string): z.ZodString {
  return z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, `an environment variable name: letters, digits and "_", e.g. ${example}`);
}
