// One list version as published: every format rendered (off the event loop, render-thread.ts),
// a sha256sums manifest naming each format's SHA-256, and its Ed25519 signature.
import { type KeyObject, sign } from 'node:crypto';
import { renderChangesAtom, renderChangesJson } from './changelog-render.ts';
import type { NetworkListSnapshot } from './network-list.ts';
import { renderInWorker, renderNetworksInWorker } from './render-thread.ts';
import { type RenderedFile, renderedFile } from './rendered-file.ts';
import { RENDERERS } from './render/index.ts';
import { NETWORK_RENDERERS } from './render/networks.ts';
import type { ListSnapshot } from './types.ts';

export interface FeedOptions {
  /** The Homepage header of every file; absent when neither lists.homepage nor lists.public_url is set. */
  homepage?: string | undefined;
  expires: string;
  /** Absolute base URL ("https://lists.example.org") or undefined for relative URLs. */
  publicUrl?: string | undefined;
  signingKey?: KeyObject | undefined;
}

export interface Publication<S> {
  readonly snapshot: S;
  readonly files: ReadonlyMap<string, RenderedFile>;
  /** "sha256  file" lines for every format, signed as a whole. */
  readonly manifest: RenderedFile;
  /** Raw 64-byte Ed25519 signature of the manifest, when a key is configured. */
  readonly signature: RenderedFile | undefined;
  /** The changelog as JSON and Atom (maintained lists with a lists/<name>.changes). */
  readonly changes: { readonly json: RenderedFile; readonly atom: RenderedFile } | undefined;
}

export type ListPublication = Publication<ListSnapshot>;
/** A network list (lists/<name>.networks) as published: its formats, manifest and signature (no changelog). */
export type NetworkPublication = Publication<NetworkListSnapshot>;

export const MANIFEST_NAME = 'sha256sums';
export const SIGNATURE_NAME = 'sha256sums.sig';
export const PUBLIC_KEY_NAME = 'signing-key.pem';
/** /lists/<name>/changes (JSON, or Atom when the client asks for it), .../changes.json, .../changes.atom. */
export const CHANGES_NAME = 'changes';
export const CHANGES_JSON_NAME = 'changes.json';
export const CHANGES_ATOM_NAME = 'changes.atom';

/** `urlOf` gives a format's URL: absolute when options.publicUrl is set, else its path on this feed. */
export async function buildPublication(snapshot: ListSnapshot, options: FeedOptions, urlOf: (format: string) => string): Promise<ListPublication> {
  const urls = options.publicUrl ? Object.fromEntries(RENDERERS.map((r) => [r.format, urlOf(r.format)])) : undefined;
  const links = { json: urlOf(CHANGES_NAME), atom: urlOf(CHANGES_ATOM_NAME) };
  const log = snapshot.changes;
  const rendered = await renderInWorker(snapshot, options.homepage, options.expires, urls, log ? links.json : undefined);
  const { files, manifest, signature } = await signed(snapshot, rendered, options);
  const changes = log
    ? {
        json: await renderedFile('changes', CHANGES_JSON_NAME, 'application/json; charset=utf-8', renderChangesJson(snapshot, log, links)),
        atom: await renderedFile('changes-atom', CHANGES_ATOM_NAME, 'application/atom+xml; charset=utf-8', renderChangesAtom(snapshot, log, links)),
      }
    : undefined;
  return { snapshot, files, manifest, signature, changes };
}

/** Every format of a network list, rendered off the event loop, with the signed manifest. */
export async function buildNetworkPublication(list: NetworkListSnapshot, options: FeedOptions, urlOf: (format: string) => string): Promise<NetworkPublication> {
  const urls = options.publicUrl ? Object.fromEntries(NETWORK_RENDERERS.map((r) => [r.format, urlOf(r.format)])) : undefined;
  const rendered = await renderNetworksInWorker(list, options.homepage, options.expires, urls);
  return { snapshot: list, ...(await signed(list, rendered, options)), changes: undefined };
}

/** The files by format, the sha256sums manifest naming each, and its Ed25519 signature. */
async function signed(
  list: { name: string; version: string; lastModified: Date },
  rendered: readonly RenderedFile[],
  options: FeedOptions,
): Promise<{ files: Map<string, RenderedFile>; manifest: RenderedFile; signature: RenderedFile | undefined }> {
  const lines = [
    `# dnsward list manifest: ${list.name} version ${list.version}, last modified ${list.lastModified.toISOString()}`,
    '# verify the signature of this file, then: sha256sum -c --ignore-missing sha256sums',
    ...rendered.map((f) => `${f.sha256}  ${f.format}`),
  ];
  const manifest = await renderedFile('manifest', MANIFEST_NAME, 'text/plain; charset=utf-8', `${lines.join('\n')}\n`);
  const signature = options.signingKey
    ? await renderedFile('signature', SIGNATURE_NAME, 'application/octet-stream', sign(null, manifest.body, options.signingKey))
    : undefined;
  return { files: new Map(rendered.map((f) => [f.format, f])), manifest, signature };
}
