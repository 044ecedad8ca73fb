// The published form of the maintained lists: one publication per list version (every format
// rendered once, off the event loop, with its SHA-256, strong ETag, gzip and brotli bodies, a
// sha256sums manifest and its Ed25519 signature), and the JSON index. Nothing here depends on a
// request: the HTTP routes and `lists build` serve the same bytes to everyone.
import { createPublicKey } from 'node:crypto';
import type { ListsConfig } from '../config/sections/lists.ts';
import type { NetworkListSnapshot } from './network-list.ts';
import type { NetworkListRegistry } from './network-registry.ts';
import {
  buildNetworkPublication,
  buildPublication,
  CHANGES_ATOM_NAME,
  CHANGES_NAME,
  type FeedOptions,
  type ListPublication,
  MANIFEST_NAME,
  type NetworkPublication,
  type Publication,
  PUBLIC_KEY_NAME,
  SIGNATURE_NAME,
} from './publication.ts';
import type { ListRegistry } from './registry.ts';
import { type RenderedFile, renderedFile } from './rendered-file.ts';
import { loadOrCreateSigningKey, publicKeyFingerprint } from './signing-key.ts';
import type { ListSnapshot } from './types.ts';

export {
  buildPublication,
  CHANGES_ATOM_NAME,
  CHANGES_JSON_NAME,
  CHANGES_NAME,
  type FeedOptions,
  type ListPublication,
  MANIFEST_NAME,
  type NetworkPublication,
  PUBLIC_KEY_NAME,
  SIGNATURE_NAME,
} from './publication.ts';
export { type RenderedFile, renderedFile } from './rendered-file.ts';

/** Lists with more names than this are rendered on first request, not at start. */
export const EAGER_RENDER_MAX = 50_000;

export class ListFeed {
  readonly options: FeedOptions;
  private readonly registry: ListRegistry;
  /** One build per list version; a new version replaces the entry. */
  private readonly builds = new Map<string, { version: string; publication: Promise<ListPublication> }>();
  /** The network lists (lists/<name>.networks), published in their own formats; absent: none. */
  private readonly networks: NetworkListRegistry | undefined;
  private readonly networkBuilds = new Map<string, { version: string; publication: Promise<NetworkPublication> }>();
  private unsubscribeNetworks: (() => void) | undefined;
  private indexCache: { key: string; file: Promise<RenderedFile> } | undefined;
  private unsubscribe: (() => void) | undefined;
  readonly publicKeyPem: string | undefined;
  /** SHA-256 (hex) of the DER public key, for subscribers to compare out of band. */
  readonly publicKeyFingerprint: string | undefined;

  constructor(registry: ListRegistry, options: FeedOptions, networks?: NetworkListRegistry) {
    this.registry = registry;
    this.networks = networks;
    this.options = options;
    this.publicKeyPem = options.signingKey ? createPublicKey(options.signingKey).export({ type: 'spki', format: 'pem' }).toString() : undefined;
    this.publicKeyFingerprint = options.signingKey ? publicKeyFingerprint(options.signingKey) : undefined;
  }

  /**
   * Renders every published list now and again whenever one changes (in a worker thread, so
   * the event loop only hands over the names). Lists above EAGER_RENDER_MAX names render on
   * first request instead: a million names in nine formats, compressed twice, are about 30 s
   * of CPU and several hundred MB of bodies, which a list nobody fetches should not cost.
   */
  start(onError: (error: unknown) => void): void {
    const eager = (snapshot: ListSnapshot): boolean => isPublished(snapshot) && entryCount(snapshot) <= EAGER_RENDER_MAX;
    for (const snapshot of this.published()) if (eager(snapshot)) this.publication(snapshot.name)?.catch(onError);
    this.unsubscribe = this.registry.onChange((snapshot) => {
      if (eager(snapshot)) this.publication(snapshot.name)?.catch(onError);
    });
    // Network lists are a few hundred prefixes: always rendered at once.
    const renderNetworks = (): void => {
      for (const list of this.publishedNetworks()) this.networkPublication(list.name)?.catch(onError);
    };
    renderNetworks();
    this.unsubscribeNetworks = this.networks?.onChange(renderNetworks);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribeNetworks?.();
  }

  /** The network lists this feed publishes. */
  publishedNetworks(): NetworkListSnapshot[] {
    return this.networks?.all() ?? [];
  }

  networkPublication(name: string): Promise<NetworkPublication> | undefined {
    const list = this.networks?.get(name);
    if (!list || this.registry.get(name)) return undefined;
    const cached = this.networkBuilds.get(name);
    if (cached && cached.version === list.version) return cached.publication;
    const publication = buildNetworkPublication(list, this.options, (format) => this.url(`/lists/${name}/${format}`));
    this.networkBuilds.set(name, { version: list.version, publication });
    publication.catch(() => {
      if (this.networkBuilds.get(name)?.publication === publication) this.networkBuilds.delete(name);
    });
    return publication;
  }

  /** A domain list's publication, else a network list's. */
  anyPublication(name: string): Promise<Publication<ListSnapshot | NetworkListSnapshot>> | undefined {
    return this.publication(name) ?? this.networkPublication(name);
  }

  /** The maintained lists (subscribed sources are loaded, not republished). */
  published(): ListSnapshot[] {
    return this.registry.all().filter(isPublished);
  }

  publication(name: string): Promise<ListPublication> | undefined {
    const snapshot = this.registry.get(name);
    if (!snapshot || !isPublished(snapshot)) return undefined;
    const cached = this.builds.get(name);
    if (cached && cached.version === snapshot.version) return cached.publication;
    const publication = buildPublication(snapshot, this.options, (format) => this.url(`/lists/${name}/${format}`));
    this.builds.set(name, { version: snapshot.version, publication });
    publication.catch(() => {
      if (this.builds.get(name)?.publication === publication) this.builds.delete(name);
    });
    return publication;
  }

  url(path: string): string {
    return `${this.options.publicUrl ?? ''}${path}`;
  }

  /** The JSON index of every published list, cached until a list version changes. */
  async index(): Promise<RenderedFile> {
    const lists = this.published();
    const sources = this.registry.all().filter((s) => !isPublished(s));
    const networks = this.publishedNetworks();
    const key = [...lists, ...sources, ...networks].map((l) => `${l.name}@${l.version}`).join(',');
    if (this.indexCache?.key !== key) {
      const file = (async () => {
        const entries = [];
        for (const snapshot of lists) {
          const pub = await this.publication(snapshot.name);
          if (pub) entries.push(indexEntry(pub, this));
        }
        for (const list of networks) {
          const pub = await this.networkPublication(list.name);
          if (pub) entries.push(networkIndexEntry(pub, this));
        }
        const body = {
          homepage: this.options.homepage ?? null,
          signing_key: this.publicKeyPem ? this.url(`/lists/${PUBLIC_KEY_NAME}`) : null,
          signing_key_sha256: this.publicKeyFingerprint ?? null,
          lists: entries,
          // Subscribed sources are enforced, not republished: what the collateral guard dropped from each.
          subscribed: sources.map((s) => ({ name: s.name, version: s.version, guarded: s.guarded ?? [] })),
        };
        return renderedFile('index', 'index.json', 'application/json; charset=utf-8', `${JSON.stringify(body, null, 2)}\n`);
      })();
      this.indexCache = { key, file };
      file.catch(() => {
        if (this.indexCache?.file === file) this.indexCache = undefined;
      });
    }
    return this.indexCache.file;
  }
}

function isPublished(snapshot: ListSnapshot): boolean {
  return snapshot.origin !== 'subscribed';
}

/** Names a list blocks, without materialising a big list's strings on the event loop. */
function entryCount(snapshot: ListSnapshot): number {
  return snapshot.set?.size ?? snapshot.domains.length;
}

function indexEntry(pub: ListPublication, feed: ListFeed): Record<string, unknown> {
  const s = pub.snapshot;
  const base = `/lists/${s.name}`;
  return {
    name: s.name,
    title: s.title,
    description: s.description,
    license: s.license ?? null,
    version: s.version,
    entries: entryCount(s),
    hosts: s.hosts?.length ?? entryCount(s),
    last_modified: s.lastModified.toISOString(),
    checksum: { manifest_sha256: pub.manifest.sha256 },
    sha256: Object.fromEntries([...pub.files.values()].map((f) => [f.format, f.sha256])),
    formats: Object.fromEntries([...pub.files.values()].map((f) => [f.format, feed.url(`${base}/${f.format}`)])),
    manifest: feed.url(`${base}/${MANIFEST_NAME}`),
    signature: pub.signature ? feed.url(`${base}/${SIGNATURE_NAME}`) : null,
    changes: pub.changes ? { json: feed.url(`${base}/${CHANGES_NAME}`), atom: feed.url(`${base}/${CHANGES_ATOM_NAME}`) } : null,
    guarded: s.guarded ?? [],
  };
}

function networkIndexEntry(pub: NetworkPublication, feed: ListFeed): Record<string, unknown> {
  const s = pub.snapshot;
  const base = `/lists/${s.name}`;
  return {
    name: s.name,
    kind: 'networks',
    title: s.title,
    description: s.description,
    license: s.license ?? null,
    version: s.version,
    entries: s.networks.length,
    last_modified: s.lastModified.toISOString(),
    checksum: { manifest_sha256: pub.manifest.sha256 },
    sha256: Object.fromEntries([...pub.files.values()].map((f) => [f.format, f.sha256])),
    formats: Object.fromEntries([...pub.files.values()].map((f) => [f.format, feed.url(`${base}/${f.format}`)])),
    manifest: feed.url(`${base}/${MANIFEST_NAME}`),
    signature: pub.signature ? feed.url(`${base}/${SIGNATURE_NAME}`) : null,
    changes: null,
    guarded: [],
  };
}

/** Where Homepage points: lists.homepage, else the page at public_url; without either, nowhere (no relative "/"). */
export function feedHomepage(lists: Pick<ListsConfig, 'homepage' | 'public_url'>): string | undefined {
  return lists.homepage ?? (lists.public_url ? `${lists.public_url}/` : undefined);
}

/**
 * Feed options from the lists config section. Loads the signing key, or makes one at
 * lists.signing_key_file when the file is missing (logged with its fingerprint).
 */
export async function feedOptionsFromConfig(
  lists: Pick<ListsConfig, 'homepage' | 'public_url' | 'expires' | 'signing_key_file'>,
  logger?: { info(fields: object, message: string): void },
): Promise<FeedOptions> {
  const signing = await loadOrCreateSigningKey(lists.signing_key_file);
  if (signing.created) logger?.info({ file: lists.signing_key_file, sha256: signing.fingerprint }, 'lists: created a new signing key (back it up; subscribers pin its public half)');
  return { homepage: feedHomepage(lists), expires: lists.expires, publicUrl: lists.public_url, signingKey: signing.key };
}
