// The contract between list sources (built-in files, subscribed URLs) and their consumers
// (the resolver's matcher, the HTTP feed, the block log).
import type { ListChangelog } from './changelog.ts';
import type { DomainSet } from './domain-set.ts';

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
  /** The names as a compact set, when the loader built one (big lists); the matcher uses it as is. */
  readonly set?: DomainSet;
  /**
   * Exact names for consumers that match exact names only (hosts files): every name in
   * `domains` plus the known hosts under them. Absent: the same as `domains`.
   */
  readonly hosts?: readonly string[];
  /** SPDX licence of the list data, when known. */
  readonly license?: string | undefined;
  /** Why each entry is there (maintained lists): served in the json format. */
  readonly provenance?: readonly ListProvenance[];
  /** The provenance codes used above and what they stand for. */
  readonly sourceCodes?: Readonly<Record<string, string>>;
  /** "maintained": a list of lists/ that the HTTP feed publishes; "subscribed": loaded from lists.sources. */
  readonly origin?: 'maintained' | 'subscribed';
  /** The maintained list's changelog (lists/<name>.changes), served at /lists/<name>/changes. */
  readonly changes?: ListChangelog;
  /** Entries the collateral guard dropped from this version (never-block.txt), with what each would block. */
  readonly guarded?: readonly GuardedEntry[];
}

/** An entry dropped by the collateral guard: it equals or is a parent of a never-block name, or lies under a "subtree:" one. */
export interface GuardedEntry {
  readonly domain: string;
  /** The never-block name it would have blocked. */
  readonly protects: string;
}

export interface ListProvenance {
  readonly domain: string;
  readonly added: string;
  readonly sources: readonly string[];
  readonly note?: string;
  /** A known host under a listed domain (exact-name formats only). */
  readonly host?: boolean;
}
