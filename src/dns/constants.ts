// DNS wire constants used across the resolver (RFC 1035, 6891, 8914).

export const HEADER_SIZE = 12;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended rcode 16: carried as 0 in the header plus 1 in the OPT's extended-rcode byte. */
  BADVERS: 16,
} as const;

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  DNAME: 39,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  DNSKEY: 48,
  SVCB: 64,
  HTTPS: 65,
  ANY: 255,
} as const;

export const CLASS_IN = 1;

export const OPCODE_QUERY = 0;

/** Header flag bits in the 16-bit flags word. */
export const FLAG = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  AD: 0x0020,
  CD: 0x0010,
} as const;

/** EDNS option codes. */
export const EDNS_OPTION = {
  EDE: 15,
} as const;

/** Extended DNS Error info codes (RFC 8914 §4). */
export const EDE = {
  OTHER: 0,
  STALE_ANSWER: 3,
  STALE_NXDOMAIN: 19,
  BLOCKED: 15,
  CENSORED: 16,
  FILTERED: 17,
  PROHIBITED: 18,
  NO_REACHABLE_AUTHORITY: 22,
  NETWORK_ERROR: 23,
} as const;

/** DNS Flag Day 2020: the largest UDP payload we send or advertise. */
export const MAX_UDP_PAYLOAD = 1232;
/** Without EDNS (or when EDNS asks for less), UDP answers fit in 512 octets (RFC 1035 §4.2.1). */
export const MIN_UDP_PAYLOAD = 512;
/** Longest name on the wire, in octets (RFC 1035 §2.3.4). */
export const MAX_NAME_OCTETS = 255;
/** Compression pointers followed per name before the message is rejected (miekg/dns uses 126). */
export const MAX_POINTER_HOPS = 126;

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(TYPE).map(([name, code]) => [code, name]));

/** "A", "AAAA", "HTTPS", or RFC 3597 "TYPE123" for types without a mnemonic here. */
export function typeName(code: number): string {
  return TYPE_NAMES[code] ?? `TYPE${code}`;
}
