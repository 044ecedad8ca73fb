// The package as a user gets it: `npm pack` (which builds dist/ through `prepare`) in a copy
// of the repository, `npm install` of the tarball into a scratch project with nothing but the
// npm cache and already-installed packages (--offline), its typed imports compiled by this
// repo's tsc, and the examples of docs/EMBEDDING.md run as written from that project.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditReader } from '../../src/audit/reader.ts';
import { buildQuery, decode, extendedError, sendUdp } from '../helpers/dns-client.ts';
import { freeUdpTcpPort } from '../helpers/free-port.ts';

const run = promisify(execFile);
const repo = resolve('.');
const modules = realpathSync(join(repo, 'node_modules'));
const TOKEN = 'audit-token-0123456789abcdefgh';
let stage: string;
let scratch: string;
let tarball: string;
let packed: { path: string }[];
const children: ChildProcess[] = [];

/** The examples of docs/EMBEDDING.md, by the file name their code fence gives. */
function examples(): Map<string, string> {
  const text = readFileSync(join(repo, 'docs/EMBEDDING.md'), 'utf8');
  return new Map([...text.matchAll(/```\w+ file=(\S+)\n([\s\S]*?)```/g)].map((m) => [m[1] as string, m[2] as string]));
}

/** Packages the tarball needs, found the way Node resolves them in this repo's lockfile: hard-linked into the scratch project. */
function linkInstalledDependencies(into: string, roots: string[]): void {
  const lock = (JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }> }).packages;
  const find = (from: string, name: string): string | undefined => {
    for (let base = from; ; base = base.includes('/node_modules/') ? base.slice(0, base.lastIndexOf('/node_modules/')) : '') {
      const path = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (lock[path]) return path;
      if (!base) return undefined;
    }
  };
  const seen = new Set<string>();
  const stack = roots.map((r) => `node_modules/${r}`);
  while (stack.length > 0) {
    const path = stack.pop() as string;
    if (seen.has(path)) continue;
    seen.add(path);
    const entry = lock[path] ?? {};
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      const found = find(path, name);
      if (found) stack.push(found);
    }
  }
  for (const path of seen) if (path.split('node_modules/').length === 2) hardLinkTree(join(modules, path.slice('node_modules/'.length)), join(into, path));
}

function hardLinkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    if (entry.isDirectory()) hardLinkTree(source, join(to, entry.name));
    else if (entry.isFile()) linkSync(source, join(to, entry.name));
    else if (entry.isSymbolicLink()) symlinkSync(realpathSync(source), join(to, entry.name));
  }
}


/** Starts an example in the scratch project and waits for the line it prints when ready. */
async function start(file: string, env: Record<string, string>, ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, [file], { cwd: scratch, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${file} did not get ready: ${output}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        done();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => fail(new Error(`${file} exited with ${code}: ${output}`)));
  });
  return child;
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((done) => {
    child.once('exit', (code) => done(code));
    child.kill('SIGTERM');
  });
}

beforeAll(async () => {
  stage = mkdtempSync(join(tmpdir(), 'dnsward-pack-'));
  for (const entry of ['package.json', 'package-lock.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'bin', 'src', 'lists', 'docs']) cpSync(join(repo, entry), join(stage, entry), { recursive: true });
  symlinkSync(modules, join(stage, 'node_modules'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', stage], { cwd: stage, maxBuffer: 64 * 1024 * 1024 });
  // `prepare` (the build) prints before npm's JSON.
  const [info] = JSON.parse(stdout.slice(stdout.indexOf('\n[') + 1)) as { filename: string; files: { path: string }[] }[];
  if (!info) throw new Error(`npm pack said: ${stdout}`);
  tarball = join(stage, info.filename);
  packed = info.files;

  scratch = mkdtempSync(join(tmpdir(), 'dnsward-scratch-'));
  const versions = (name: string): string => (JSON.parse(readFileSync(join(modules, name, 'package.json'), 'utf8')) as { version: string }).version;
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module', dependencies: { dns2: versions('dns2'), fastify: versions('fastify') } }));
  const repoPackage = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  linkInstalledDependencies(scratch, [...Object.keys(repoPackage.dependencies), 'dns2']);
  await run('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund'], { cwd: scratch });
  for (const [file, text] of examples()) writeFileSync(join(scratch, file), text);
}, 300_000);

afterAll(async () => {
  await Promise.all(children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => stop(c)));
  for (const dir of [stage, scratch]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the built entries, their types, the CLI, the lists and the docs, and nothing else', () => {
    const paths = packed.map((f) => f.path);
    for (const needed of ['dist/plugin/index.js', 'dist/plugin/index.d.ts', 'dist/plugin/dns2.js', 'dist/plugin/dns2.d.ts', 'dist/plugin/fastify.js', 'dist/plugin/fastify.d.ts', 'dist/cli/main.js', 'dist/.build-stamp', 'bin/dnsward', 'lists/tiktok.list', 'docs/EMBEDDING.md', 'README.md', 'package.json']) {
      expect(paths, needed).toContain(needed);
    }
    expect(paths.filter((p) => /^(src|test|bench|deploy|node_modules)\//.test(p) || p.endsWith('.map'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(scratch, 'node_modules/dnsward/package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.private).toBeUndefined();
    expect(manifest.peerDependenciesMeta).toEqual({ dns2: { optional: true }, fastify: { optional: true } });
    // Every target of the exports map is in the installed package.
    for (const target of Object.values(manifest.exports as Record<string, string | Record<string, string>>).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)))) {
      expect(existsSync(join(scratch, 'node_modules/dnsward', target)), target).toBe(true);
    }
  });

  it('compiles the typed example in a strict TypeScript project, library types checked too', async () => {
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: false, typeRoots: [join(modules, '@types')], types: ['node'] },
        files: ['typed.ts'],
      }),
    );
    await run(process.execPath, [join(modules, 'typescript/bin/tsc'), '-p', scratch], { cwd: scratch });
    // The check is real: a verdict's answer is only there once the verdict is narrowed.
    writeFileSync(join(scratch, 'wrong.ts'), "import { createPolicyEngine } from 'dnsward';\nconst e = await createPolicyEngine({ configFile: 'x' });\nexport const bytes: Buffer = e.check('a.example', '10.0.0.1').answer;\n");
    writeFileSync(
      join(scratch, 'tsconfig.wrong.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, typeRoots: [join(modules, '@types')], types: ['node'] }, files: ['wrong.ts'] }),
    );
    const failed = await run(process.execPath, [join(modules, 'typescript/bin/tsc'), '-p', join(scratch, 'tsconfig.wrong.json')], { cwd: scratch }).catch((error: { stdout: string }) => error);
    expect((failed as { stdout: string }).stdout).toMatch(/Property 'answer' does not exist on type 'PolicyVerdict'/);
  }, 120_000);

  it('runs the CLI from the installed package (dist only)', async () => {
    const { stdout } = await run(join(scratch, 'node_modules/.bin/dnsward'), ['config', 'check', 'dnsward.yaml'], { cwd: scratch, env: { ...process.env, DNSWARD_AUDIT_TOKEN: TOKEN } });
    expect(stdout).toMatch(/dnsward\.yaml: OK \(3 segments/);
  });

  it('runs the engine example: a verdict per segment', async () => {
    const { stdout } = await run(process.execPath, ['engine.mjs'], { cwd: scratch, env: { ...process.env, DNSWARD_AUDIT_TOKEN: TOKEN } });
    const printed = stdout.split('\n').filter((line) => /^\d/.test(line));
    expect(printed).toEqual(['10.10.0.5 block service', '10.20.0.5 log personal', '10.99.0.5 allow default']);
  });

  it('runs the dns2 example: blocked per segment with dnsward\'s answer, logged, resolved, recorded in the block log', async () => {
    const port = await freeUdpTcpPort();
    const server = await start('dns2-server.mjs', { DNS_PORT: String(port), DNSWARD_AUDIT_TOKEN: TOKEN }, /DNS on 127\.0\.0\.1:\d+/);
    const blocked = await sendUdp(port, buildQuery({ name: 'www.tiktok.com', edns: 1232 }), { from: '127.0.0.2' });
    expect(blocked && decode(blocked).rcode).toBe(3);
    expect(blocked && extendedError(blocked)).toEqual({ code: 15, text: 'blocked by dnsward: segment service, list tiktok' });
    const logged = await sendUdp(port, buildQuery({ name: 'tiktok.com' }), { from: '127.0.0.3' });
    expect(logged && decode(logged).packet.answers[0]).toMatchObject({ address: '192.0.2.1' });
    const other = await sendUdp(port, buildQuery({ name: 'www.tiktok.com' }), { from: '127.0.0.9' });
    expect(other && decode(other).packet.answers[0]).toMatchObject({ address: '192.0.2.1' });
    if (existsSync('/usr/bin/dig')) {
      const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '-b', '127.0.0.2', 'www.tiktok.com']);
      expect(stdout).toMatch(/status: NXDOMAIN/);
      expect(stdout).toMatch(/EDE: 15 \(Blocked\): \(blocked by dnsward: segment service, list tiktok\)/);
    }
    expect(await stop(server)).toBe(0);
    const events = (await new FileAuditReader(join(scratch, 'var/audit')).events({ limit: 100, qname: 'tiktok.com' })).events;
    expect(events.filter((e) => e.segment === 'service').length).toBeGreaterThanOrEqual(1);
    expect(events.find((e) => e.segment === 'personal')).toMatchObject({ action: 'logged', client: expect.stringMatching(/^anon:/) });
  }, 60_000);

  it('runs the fastify example: the site, the feed under its prefix, the auditor API behind its token', async () => {
    const port = await freeUdpTcpPort();
    const app = await start('fastify-app.mjs', { HTTP_PORT: String(port), DNSWARD_AUDIT_TOKEN: TOKEN }, /HTTP on 127\.0\.0\.1:\d+/);
    const base = `http://127.0.0.1:${port}`;
    expect(await (await fetch(`${base}/`)).text()).toBe('my site');
    const unbound = await fetch(`${base}/blocklists/lists/tiktok/unbound`);
    expect(unbound.status).toBe(200);
    expect(unbound.headers.get('etag')).toMatch(/^"/);
    expect(await unbound.text()).toMatch(/local-zone: "tiktok\.com\." always_nxdomain/);
    expect((await fetch(`${base}/dnsward/api/audit/events`)).status).toBe(401);
    const page = (await (await fetch(`${base}/dnsward/api/audit/events?action=blocked`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { events: { qname: string }[] };
    expect(page.events.map((e) => e.qname)).toContain('www.tiktok.com');
    await stop(app);
  }, 60_000);
});
