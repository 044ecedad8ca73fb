// Builds the dashboard's static bundle: `node src/http/dashboard/build.ts [OUT_DIR]`, run by
// `npm run build` (and so by `npm ci`). No bundler: each page module (page/*.ts) is
// transpiled on its own by the TypeScript compiler the build already uses, and the browser
// loads them as ES modules from one content-hashed directory, so their relative imports
// (./dom.js) resolve without rewriting and every asset can be cached as immutable. The page
// is type-checked with the rest of src/ by `tsc --noEmit -p .`.
//
//   OUT_DIR/<hash>/index.html, main.js, ..., dashboard.css, icon.svg
//   OUT_DIR/current.json   {"version":1,"hash":"<hash>","files":[...]}, replaced last, atomically
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { ASSETS_PATH, DASHBOARD_DIST, type DashboardManifest, isAssetName, MANIFEST_FILE, PAGE_FILE } from './bundle.ts';

export const PAGE_SOURCES = fileURLToPath(new URL('./page/', import.meta.url));
const ENTRY = 'main.js';

const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  verbatimModuleSyntax: true,
  rewriteRelativeImportExtensions: true,
  removeComments: true,
};

/** Transpiles one page module; throws on syntax errors or an import the browser could not load. */
export function transpilePageModule(fileName: string, source: string, known: ReadonlySet<string>): string {
  const result = ts.transpileModule(source, { compilerOptions: COMPILER_OPTIONS, fileName, reportDiagnostics: true });
  const errors = (result.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) throw new Error(`${fileName}: ${ts.flattenDiagnosticMessageText(errors[0]?.messageText ?? '', '\n')}`);
  for (const imported of ts.preProcessFile(result.outputText, true, true).importedFiles) {
    const target = imported.fileName.replace(/^\.\//, '');
    if (!imported.fileName.startsWith('./') || !known.has(target)) {
      throw new Error(`${fileName}: imports "${imported.fileName}"; page modules may import only sibling page modules (./name.ts)`);
    }
  }
  return result.outputText;
}

/** Reads page/, transpiles it, and names the result by its content hash (no files written). */
export async function compileDashboard(sourceDir: string = PAGE_SOURCES): Promise<{ hash: string; files: Map<string, Buffer> }> {
  // tsconfig.json gives the page its browser types for the type check; it is not served.
  const names = (await readdir(sourceDir)).filter((n) => !n.startsWith('.') && n !== 'tsconfig.json').sort();
  const modules = names.filter((n) => n.endsWith('.ts'));
  const known = new Set(modules.map((n) => n.replace(/\.ts$/, '.js')));
  if (!known.has(ENTRY)) throw new Error(`${sourceDir}: no main.ts (the page's entry module)`);
  const assets = new Map<string, Buffer>();
  for (const name of names) {
    if (name === PAGE_FILE) continue;
    const text = await readFile(join(sourceDir, name), 'utf8');
    if (name.endsWith('.ts')) assets.set(name.replace(/\.ts$/, '.js'), Buffer.from(transpilePageModule(name, text, known)));
    else if (isAssetName(name)) assets.set(name, Buffer.from(text));
    else throw new Error(`${join(sourceDir, name)}: not a dashboard file type (.ts, .css, .svg, index.html)`);
  }
  const digest = createHash('sha256');
  for (const [name, body] of [...assets].sort(([a], [b]) => (a < b ? -1 : 1))) digest.update(`${name}\0${body.length}\0`).update(body);
  const hash = digest.digest('hex').slice(0, 16);
  const base = `${ASSETS_PATH}/${hash}`;
  // Every module is preloaded, so the browser fetches them in parallel rather than import by import.
  const preload = [...known].filter((n) => n !== ENTRY).sort().map((n) => `<link rel="modulepreload" href="${base}/${n}">`).join('\n');
  const template = await readFile(join(sourceDir, PAGE_FILE), 'utf8');
  if (!template.includes('{{ASSETS}}') || !template.includes('{{PRELOAD}}')) throw new Error(`${PAGE_FILE}: the template needs {{ASSETS}} and {{PRELOAD}}`);
  const files = new Map(assets);
  files.set(PAGE_FILE, Buffer.from(template.replaceAll('{{PRELOAD}}', preload).replaceAll('{{ASSETS}}', base)));
  return { hash, files };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Writes the bundle into outDir and makes it current; earlier builds' directories are removed. */
export async function buildDashboard(outDir: string = DASHBOARD_DIST, sourceDir: string = PAGE_SOURCES): Promise<DashboardManifest> {
  const { hash, files } = await compileDashboard(sourceDir);
  await mkdir(outDir, { recursive: true });
  const target = join(outDir, hash);
  // The same sources give the same hash: an existing directory already holds these bytes.
  if (!(await exists(target))) {
    const staging = join(outDir, `.staging-${process.pid}-${hash}`);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging);
    for (const [name, body] of files) await writeFile(join(staging, name), body);
    await rename(staging, target);
  }
  const manifest: DashboardManifest = { version: 1, hash, files: [...files.keys()].sort() };
  const tmp = join(outDir, `.${MANIFEST_FILE}.${process.pid}`);
  await writeFile(tmp, `${JSON.stringify(manifest)}\n`);
  await rename(tmp, join(outDir, MANIFEST_FILE));
  for (const entry of await readdir(outDir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name !== hash && /^[0-9a-f]{16}$/.test(entry.name)) await rm(join(outDir, entry.name), { recursive: true, force: true });
  }
  return manifest;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? DASHBOARD_DIST;
  const manifest = await buildDashboard(out);
  console.log(`dashboard: ${join(out, manifest.hash)} (${manifest.files.length} files)`);
}
