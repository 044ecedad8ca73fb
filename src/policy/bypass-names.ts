// Names that tell devices whether to route around this resolver. On blocking segments they
// get NXDOMAIN (the bypass stage), so browsers and phones keep using dnsward.

/** Firefox: use-application-dns.net (RFC-less DoH canary); Apple: mask.icloud.com, mask-h2.icloud.com (Private Relay). */
export const BYPASS_CANARIES: ReadonlySet<string> = new Set(['use-application-dns.net', 'mask.icloud.com', 'mask-h2.icloud.com']);

/** How bypass decisions name their "list" in the block log. */
export const BYPASS_LIST = Object.freeze({ name: 'bypass-prevention', version: 'builtin-1' });
