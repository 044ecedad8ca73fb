// Who the DoH client is when a reverse proxy stands in front: the connection's address,
// unless that address is a configured proxy, in which case X-Forwarded-For is read from the
// right (each proxy appends the address it saw) and the first address that is not a trusted
// proxy is the client. Anything left of that was written by the client and is ignored.
import { isIP } from 'node:net';
import { CidrTable } from '../policy/cidr-table.ts';

export class TrustedProxies {
  private readonly table = new CidrTable<true>();
  private readonly empty: boolean;

  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) this.table.add(cidr, true);
    this.empty = cidrs.length === 0;
  }

  /** The client address of a request that came from `peer` with these X-Forwarded-For headers. */
  clientOf(peer: string, forwardedFor: string | readonly string[] | undefined): string {
    if (this.empty || forwardedFor === undefined || !this.trusts(peer)) return peer;
    const hops = (typeof forwardedFor === 'string' ? forwardedFor : forwardedFor.join(',')).split(',');
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const address = plainAddress(hops[i] as string);
      // A hop that is no address ends the walk: the last trusted one seen is the best we know.
      if (address === undefined) return client;
      client = address;
      if (!this.trusts(address)) return address;
    }
    return client;
  }

  private trusts(address: string): boolean {
    return isIP(address) !== 0 && this.table.lookup(address) === true;
  }
}

/** "192.0.2.1", "192.0.2.1:4711", "2001:db8::1", "[2001:db8::1]:4711" → the address alone. */
export function plainAddress(text: string): string | undefined {
  let value = text.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed) value = bracketed[1] as string;
  // Zone indexes (fe80::1%eth0) name a link of the proxy, not a client network.
  if (value.includes('%')) return undefined;
  else if (/^[0-9.]+:\d+$/.test(value)) value = value.slice(0, value.indexOf(':'));
  return isIP(value) === 0 ? undefined : value;
}
