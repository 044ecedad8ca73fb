// The published form of the maintained lists: every format rendered once per list version,
// with its SHA-256, strong ETag, and gzip/brotli bodies computed up front; a sha256sums
// manifest per list version, signed with Ed25519 when a key is configured. The HTTP routes
// and `lists build` both read from here, so static files and served files are identical.
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib';
import { DnswardError, ErrorCodes } from '../errors.ts';
import type { ListRegistry } from './registry.ts';
import { RENDERERS, type Renderer, type RenderOptions } from './render/index.ts';
import type { ListSnapshot } from './types.ts';

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

export interface FeedOptions {
  homepage: string;
  expires: string;
  /** Absolute base URL ("https://lists.example.org") or undefined for relative URLs. */
  publicUrl?: string | undefined;
  signingKey?: KeyObject | undefined;
}

export interface RenderedFile {
  readonly format: string;
  readonly fileName: string;
  readonly contentType: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly br: Buffer;
  readonly sha256: string;
  /** Strong validator of the identity body; encoded bodies get "-gz"/"-br" suffixed tags. */
  readonly etag: string;
}

export interface ListPublication {
  readonly snapshot: ListSnapshot;
  readonly files: ReadonlyMap<string, RenderedFile>;
  /** "sha256  file" lines for every format, signed as a whole. */
  readonly manifest: RenderedFile;
  /** Raw 64-byte Ed25519 signature of the manifest, when a key is configured. */
  readonly signature: RenderedFile | undefined;
}

/** Lists with more names than this are rendered on first request, not at start. */
export const EAGER_RENDER_MAX = 50_000;

export const MANIFEST_NAME = 'sha256sums';
export const SIGNATURE_NAME = 'sha256sums.sig';
export const PUBLIC_KEY_NAME = 'signing-key.pem';

export class ListFeed {
  readonly options: FeedOptions;
  private readonly registry: ListRegistry;
  /** One build per list version; a new version replaces the entry. */
  private readonly builds = new Map<string, { version: string; publication: Promise<ListPublication> }>();
  private indexCache: { key: string; file: Promise<RenderedFile> } | undefined;
  private unsubscribe: (() => void) | undefined;
  readonly publicKeyPem: string | undefined;

  constructor(registry: ListRegistry, options: FeedOptions) {
    this.registry = registry;
    this.options = options;
    this.publicKeyPem = options.signingKey ? createPublicKey(options.signingKey).export({ type: 'spki', format: 'pem' }).toString() : undefined;
  }

  /**
   * Renders every published list now and again whenever one changes. Lists above
   * EAGER_RENDER_MAX names render on first request instead: rendering and compressing a
   * million names in eight formats takes minutes of CPU and hundreds of MB.
   */
  start(onError: (error: unknown) => void): void {
    const eager = (snapshot: ListSnapshot): boolean => isPublished(snapshot) && (snapshot.set?.size ?? snapshot.domains.length) <= EAGER_RENDER_MAX;
    for (const snapshot of this.published()) if (eager(snapshot)) this.publication(snapshot.name)?.catch(onError);
    this.unsubscribe = this.registry.onChange((snapshot) => {
      if (eager(snapshot)) this.publication(snapshot.name)?.catch(onError);
    });
  }

  stop(): void {
    this.unsubscribe?.();
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
    const key = lists.map((l) => `${l.name}@${l.version}`).join(',');
    if (this.indexCache?.key !== key) {
      const file = (async () => {
        const entries = [];
        for (const snapshot of lists) {
          const pub = await this.publication(snapshot.name);
          if (pub) entries.push(indexEntry(pub, this));
        }
        const body = {
          homepage: this.options.homepage,
          signing_key: this.publicKeyPem ? this.url(`/lists/${PUBLIC_KEY_NAME}`) : null,
          lists: entries,
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

function indexEntry(pub: ListPublication, feed: ListFeed): Record<string, unknown> {
  const s = pub.snapshot;
  const base = `/lists/${s.name}`;
  return {
    name: s.name,
    title: s.title,
    description: s.description,
    license: s.license ?? null,
    version: s.version,
    entries: s.domains.length,
    hosts: (s.hosts ?? s.domains).length,
    last_modified: s.lastModified.toISOString(),
    checksum: { manifest_sha256: pub.manifest.sha256 },
    sha256: Object.fromEntries([...pub.files.values()].map((f) => [f.format, f.sha256])),
    formats: Object.fromEntries([...pub.files.values()].map((f) => [f.format, feed.url(`${base}/${f.format}`)])),
    manifest: feed.url(`${base}/${MANIFEST_NAME}`),
    signature: pub.signature ? feed.url(`${base}/${SIGNATURE_NAME}`) : null,
  };
}

export async function buildPublication(snapshot: ListSnapshot, options: FeedOptions, urlOf: (format: string) => string): Promise<ListPublication> {
  const files = new Map<string, RenderedFile>();
  for (const renderer of RENDERERS) {
    const renderOptions: RenderOptions = { homepage: options.homepage, expires: options.expires, url: options.publicUrl ? urlOf(renderer.format) : undefined };
    files.set(renderer.format, await renderFile(renderer, snapshot, renderOptions));
  }
  const lines = [
    `# dnsward list manifest: ${snapshot.name} version ${snapshot.version}, last modified ${snapshot.lastModified.toISOString()}`,
    '# verify the signature of this file, then: sha256sum -c --ignore-missing sha256sums',
    ...[...files.values()].map((f) => `${f.sha256}  ${f.format}`),
  ];
  const manifest = await renderedFile('manifest', MANIFEST_NAME, 'text/plain; charset=utf-8', `${lines.join('\n')}\n`);
  const signature = options.signingKey
    ? await renderedFile('signature', SIGNATURE_NAME, 'application/octet-stream', sign(null, manifest.body, options.signingKey))
    : undefined;
  return { snapshot, files, manifest, signature };
}

async function renderFile(renderer: Renderer, snapshot: ListSnapshot, options: RenderOptions): Promise<RenderedFile> {
  return renderedFile(renderer.format, renderer.fileName(snapshot.name), renderer.contentType, renderer.render(snapshot, options));
}

export async function renderedFile(format: string, fileName: string, contentType: string, content: string | Buffer): Promise<RenderedFile> {
  const body = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const sha256 = createHash('sha256').update(body).digest('hex');
  // Brotli at full quality is slow on big bodies; the maintained lists are small.
  const quality = body.length > 4 * 1024 * 1024 ? 5 : 11;
  const [gz, br] = await Promise.all([
    gzipAsync(body, { level: 9 }),
    brotliAsync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: quality, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length } }),
  ]);
  return { format, fileName, contentType, body, gzip: gz, br, sha256, etag: `"${sha256.slice(0, 32)}"` };
}

/** Loads the Ed25519 signing key from lists.signing_key_file. */
export async function loadSigningKey(file: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    throw new DnswardError(ErrorCodes.CONFIG, `lists.signing_key_file: cannot read "${file}": ${(error as Error).message}`, { cause: error });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new DnswardError(ErrorCodes.CONFIG, `lists.signing_key_file: "${file}" is not a PEM private key; create one with: openssl genpkey -algorithm ed25519 -out ${file}`, {
      cause: error,
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new DnswardError(ErrorCodes.CONFIG, `lists.signing_key_file: "${file}" is a ${key.asymmetricKeyType ?? 'unknown'} key; lists are signed with Ed25519 (openssl genpkey -algorithm ed25519)`);
  }
  return key;
}

/** Feed options from the lists config section. */
export async function feedOptionsFromConfig(lists: {
  homepage?: string | undefined;
  public_url?: string | undefined;
  expires: string;
  signing_key_file?: string | undefined;
}): Promise<FeedOptions> {
  return {
    homepage: lists.homepage ?? (lists.public_url ? `${lists.public_url}/` : DEFAULT_HOMEPAGE),
    expires: lists.expires,
    publicUrl: lists.public_url,
    signingKey: lists.signing_key_file ? await loadSigningKey(lists.signing_key_file) : undefined,
  };
}

/** Without lists.homepage or lists.public_url the files cannot know their absolute address. */
export const DEFAULT_HOMEPAGE = '/ on the server that serves this list';
