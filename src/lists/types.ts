// The contract between list sources (built-in files, subscribed URLs) and their consumers
// (the resolver's matcher, the HTTP feed, the block log).

/** An immutable, compiled list: normalised, de-duplicated, parent-pruned. */
export interface ListSnapshot {
  /** Stable list name used in config (`segments[].lists`) and URLs, e.g. "tiktok". */
  readonly name: string;
  readonly title: string;
  readonly description: string;
  /** Content version: changes whenever the set of domains changes (hex content hash, e.g. "3f2a9c1b7e0d"). */
  readonly version: string;
  /** When the content last changed. */
  readonly lastModified: Date;
  /** Lowercase names without trailing dot; each blocks itself and every subdomain. */
  readonly domains: readonly string[];
  /**
   * Exact names for consumers that match exact names only (hosts files): every name in
   * `domains` plus the known hosts under them. Absent: the same as `domains`.
   */
  readonly hosts?: readonly string[];
  /** SPDX licence of the list data, when known. */
  readonly license?: string | undefined;
  /** "maintained": a list of lists/ that the HTTP feed publishes; "subscribed": loaded from lists.sources. */
  readonly origin?: 'maintained' | 'subscribed';
}
