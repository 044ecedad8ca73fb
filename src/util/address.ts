// Parsing of "host:port", "[v6]:port" and CIDR strings used in the config.
import { isIPv4, isIPv6 } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
  family: 4 | 6;
}

/** Parses "1.2.3.4:53", "[::1]:53", "1.2.3.4" or "::1" (port defaults to defaultPort). Returns an error string when invalid. */
export function parseHostPort(text: string, defaultPort: number): HostPort | string {
  let host = text.trim();
  let port = defaultPort;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  if (bracketed) {
    host = bracketed[1] ?? '';
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (!isIPv6(host)) {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) {
      const portText = host.slice(colon + 1);
      host = host.slice(0, colon);
      if (!/^\d+$/.test(portText)) return `port "${portText}" is not a number`;
      port = Number(portText);
    }
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) return `port ${port} is outside 0-65535`;
  if (isIPv4(host)) return { host, port, family: 4 };
  if (isIPv6(host)) return { host, port, family: 6 };
  return `"${host}" is not an IP address (write "192.0.2.1:53" or "[2001:db8::1]:53")`;
}

export interface Cidr {
  family: 4 | 6;
  /** Network address as a 32-bit (v4) or 128-bit (v6) integer, host bits cleared. */
  network: bigint;
  prefix: number;
  text: string;
}

/** Parses "10.0.0.0/8", "fd00::/48" or a bare address (host route). Returns an error string when invalid. */
export function parseCidr(text: string): Cidr | string {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addr = slash >= 0 ? trimmed.slice(0, slash) : trimmed;
  const family = isIPv4(addr) ? 4 : isIPv6(addr) ? 6 : 0;
  if (family === 0) return `"${addr}" is not an IPv4 or IPv6 address`;
  const bits = family === 4 ? 32 : 128;
  const prefixText = slash >= 0 ? trimmed.slice(slash + 1) : String(bits);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
    return `prefix length "/${prefixText}" must be 0-${bits} for IPv${family}`;
  }
  const prefix = Number(prefixText);
  const value = family === 4 ? ipv4ToBigInt(addr) : ipv6ToBigInt(addr);
  const network = prefix === 0 ? 0n : (value >> BigInt(bits - prefix)) << BigInt(bits - prefix);
  return { family, network, prefix, text: trimmed };
}

export function ipv4ToInt(addr: string): number {
  let value = 0;
  let octet = 0;
  for (let i = 0; i < addr.length; i++) {
    const c = addr.charCodeAt(i);
    if (c === 46) {
      value = value * 256 + octet;
      octet = 0;
    } else {
      octet = octet * 10 + (c - 48);
    }
  }
  return value * 256 + octet;
}

function ipv4ToBigInt(addr: string): bigint {
  return BigInt(ipv4ToInt(addr));
}

/** Expands any valid IPv6 text form (including "::" and an embedded IPv4 tail) to a 128-bit integer. */
export function ipv6ToBigInt(addr: string): bigint {
  let text = addr;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    const v4 = ipv4ToInt(text.slice(lastColon + 1));
    tail = [(v4 >>> 16) & 0xffff, v4 & 0xffff];
    text = text.slice(0, lastColon + 1) + '0';
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  if (tail.length > 0) {
    // The "0" placeholder stands for the IPv4 tail; replace it.
    const target = rest === undefined ? headGroups : restGroups;
    target.pop();
  }
  const missing = 8 - headGroups.length - restGroups.length - tail.length;
  const groups = [
    ...headGroups.map((g) => parseInt(g, 16)),
    ...(rest === undefined ? [] : new Array<number>(missing).fill(0)),
    ...restGroups.map((g) => parseInt(g, 16)),
    ...tail,
  ];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}
