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

/** Mnemonics of the RR types (IANA "Resource Record (RR) TYPEs"), for logs and the block log. */
const QTYPE_NAMES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 13: 'HINFO', 15: 'MX', 16: 'TXT', 17: 'RP', 18: 'AFSDB', 24: 'SIG', 25: 'KEY',
  28: 'AAAA', 29: 'LOC', 33: 'SRV', 35: 'NAPTR', 36: 'KX', 37: 'CERT', 39: 'DNAME', 42: 'APL', 43: 'DS', 44: 'SSHFP', 45: 'IPSECKEY',
  46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 49: 'DHCID', 50: 'NSEC3', 51: 'NSEC3PARAM', 52: 'TLSA', 53: 'SMIMEA', 55: 'HIP', 59: 'CDS',
  60: 'CDNSKEY', 61: 'OPENPGPKEY', 62: 'CSYNC', 63: 'ZONEMD', 64: 'SVCB', 65: 'HTTPS', 99: 'SPF', 108: 'EUI48', 109: 'EUI64',
  249: 'TKEY', 250: 'TSIG', 251: 'IXFR', 252: 'AXFR', 255: 'ANY', 256: 'URI', 257: 'CAA',
};

/** "A", "AAAA", "HTTPS", or RFC 3597 "TYPE123" for types without a mnemonic here. */
export function qtypeName(qtype: number): string {
  return QTYPE_NAMES[qtype] ?? `TYPE${qtype}`;
}
