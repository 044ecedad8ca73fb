// The contract between list sources (built-in files, subscribed URLs) and their consumers
// (the resolver's matcher, the HTTP feed, the block log).

/** An immutable, compiled list: normalised, de-duplicated, parent-pruned. */
export interface ListSnapshot {
  /** Stable list name used in config (`segments[].lists`) and URLs, e.g. "tiktok". */
  readonly name: string;
  readonly title: string;
  readonly description: string;
  /** Content version: changes whenever the set of domains changes (e.g. "2026.11.28.1-3f2a9c1b"). */
  readonly version: string;
  /** When the content last changed. */
  readonly lastModified: Date;
  /** Lowercase names without trailing dot; each blocks itself and every subdomain. */
  readonly domains: readonly string[];
}
