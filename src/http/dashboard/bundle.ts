// The dashboard's built files as the server keeps them: `npm run build` (build.ts) writes
// dist/dashboard/<hash>/ and names it in dist/dashboard/current.json; the route loads that
// directory once at start into memory, each file with its ETag and gzip/brotli bodies.
// The hash covers every asset, so asset URLs (/dashboard/assets/<hash>/<file>) are immutable
// and the page (index.html, revalidated by ETag) is the one thing a browser asks for again.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RenderedFile, renderedFile } from '../../lists/rendered-file.ts';

/** <repo>/dist/dashboard: the same path from src/http/dashboard/ and dist/http/dashboard/. */
export const DASHBOARD_DIST = fileURLToPath(new URL('../../../dist/dashboard/', import.meta.url));
export const MANIFEST_FILE = 'current.json';
export const PAGE_FILE = 'index.html';
export const ASSETS_PATH = '/dashboard/assets';

export interface DashboardManifest {
  version: 1;
  /** Content hash of every asset (hex); also the directory name. */
  hash: string;
  /** File names in the directory, index.html included. */
  files: string[];
}

export interface DashboardBundle {
  hash: string;
  page: RenderedFile;
  /** Assets by file name (index.html is not among them). */
  assets: Map<string, RenderedFile>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export function contentType(name: string): string | undefined {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? undefined : TYPES[name.slice(dot)];
}

/** A file name the bundle may hold: one path segment, a known type. */
export function isAssetName(name: string): boolean {
  return /^[a-z0-9][a-z0-9._-]*$/i.test(name) && !name.includes('..') && contentType(name) !== undefined;
}

/** Loads the current build into memory; undefined when there is none (never built). */
export async function loadDashboard(dir: string = DASHBOARD_DIST): Promise<DashboardBundle | undefined> {
  let manifest: DashboardManifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')) as DashboardManifest;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (manifest.version !== 1 || !/^[0-9a-f]{8,64}$/.test(manifest.hash) || !Array.isArray(manifest.files) || !manifest.files.includes(PAGE_FILE)) {
    throw new Error(`${join(dir, MANIFEST_FILE)} is not a dashboard manifest; run npm run build again`);
  }
  const bad = manifest.files.find((name) => typeof name !== 'string' || !isAssetName(name));
  if (bad !== undefined) throw new Error(`${join(dir, MANIFEST_FILE)} names "${String(bad)}", which is not a dashboard file; run npm run build again`);
  // Compressed in parallel on libuv's threadpool (brotli at its best setting: the files are small).
  const files = await Promise.all(manifest.files.map(async (name) => renderedFile('dashboard', name, contentType(name) as string, await readFile(join(dir, manifest.hash, name)))));
  const assets = new Map<string, RenderedFile>();
  let page: RenderedFile | undefined;
  for (const file of files) {
    if (file.fileName === PAGE_FILE) page = file;
    else assets.set(file.fileName, file);
  }
  return { hash: manifest.hash, page: page as RenderedFile, assets };
}
