// The dnsward command as a user runs it: bin/dnsward in a child process.
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryUdp } from '../helpers/dns-client.ts';
import { repeatedKeys } from '../helpers/json-keys.ts';
import { parseGcLine } from '../../bench/lib/gc-trace.ts';
import { shebangFlags } from '../../bench/lib/servers.ts';
import { serveUntilReady } from '../helpers/serve-process.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';

const run = promisify(execFile);
const BIN = resolve('bin/dnsward');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dnsward-cli-'));
  // Configs here say lists.dir "lists" (or leave it at that default): next to the config file.
  await symlink(resolve('lists'), join(dir, 'lists'));
});

async function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], options);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('bin/dnsward run as an executable (its shebang, as the image ENTRYPOINT and the systemd unit run it)', () => {
  it('starts with the Node flags and environment of its first line and prints its usage', async () => {
    // The other tests run `node bin/dnsward`, which skips the shebang: a flag this Node refused would go unseen.
    const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
    const { stdout } = await run(BIN, ['--help'], { env });
    expect(stdout).toMatch(/^usage: dnsward <command> \[options\]/);
    const shebang = (await readFile(BIN, 'utf8')).split('\n')[0];
    expect(shebang).toBe('#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=8 --min-semi-space-size=8 --heap-growing-percent=30 --no-allocation-site-pretenuring --expose-gc --no-parallel-scavenge');
    // Linux reads at most 256 bytes of a #! line (BINPRM_BUF_SIZE since 5.1) and cuts the rest without a word.
    expect(Buffer.byteLength(`${shebang}\n`)).toBeLessThanOrEqual(256);
  });

  it("runs its young GCs on the stopped thread alone, in a worker thread too (V8's helpers take no part)", async () => {
    // Garbage with a few survivors, as the query path makes, on the main thread and in a worker. Without
    // --no-parallel-scavenge the helpers took part (background.scavenge.parallel=0.30 ms in the first young GC
    // on the 2-CPU machine of stop 34).
    const churn = 'let keep = []; for (let i = 0; i < 4e6; i++) { const o = { i, s: "x" + i }; if (i % 64 === 0) keep.push(o); if (keep.length > 2000) keep = []; }';
    const script = `const { Worker } = require('node:worker_threads'); new Worker(${JSON.stringify(churn)}, { eval: true }).on('exit', () => { ${churn} });`;
    const { stdout } = await run(process.execPath, [...shebangFlags(BIN), '--trace-gc-nvp', '-e', script], { maxBuffer: 64 * 1024 * 1024 });
    const young = stdout
      .split('\n')
      .map(parseGcLine)
      .filter((gc) => gc?.kind === 's');
    // The main thread's isolate and the worker's both collected.
    expect(new Set(young.map((gc) => gc?.isolate)).size).toBe(2);
    expect(young.length).toBeGreaterThanOrEqual(10);
    // A trace without the field would pass vacuously: every young GC must report it, as 0.
    expect(young.map((gc) => gc?.helperMs).filter((ms) => ms !== 0)).toEqual([]);
  });
});

describe('dnsward config check', () => {
  it('accepts the shipped default', async () => {
    const result = await runCli(['config', 'check', 'deploy/dnsward.yaml']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('OK');
  });

  it('refuses the issue-2 example as written for exactly what it would silently get wrong', async () => {
    // Its IPv6 service network lies outside its dns.allow (those clients would get REFUSED),
    // and its token is the placeholder "...". Everything else in it is accepted.
    const issueExample = join(dir, 'issue-example.yaml');
    await copyFile('test/fixtures/issue-example.yaml', issueExample);
    const result = await runCli(['config', 'check', issueExample]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `DNSWARD_ERR_CONFIG: ${issueExample}: segments[0].networks[1]: "fd00:10::/48" (segment service) is outside dns.allow, so every client in it gets REFUSED; add it to dns.allow`,
      `${issueExample}: auth.tokens[0].token: token "audit-team" has 3 characters; a token needs at least 24 characters, e.g. from "openssl rand -hex 24" (better kept in an environment variable named by token_env)`,
    ]);
    const fixed = (await readFile(issueExample, 'utf8')).replace('"::1/128"]', '"::1/128", "fd00::/8"]').replace('token: "..."', `token: "${'x'.repeat(24)}"`);
    await writeFile(issueExample, fixed);
    const again = await runCli(['config', 'check', issueExample]);
    expect(again.stderr).toBe('');
    expect(again.stdout).toContain('OK (3 segments');
  });

  it('refuses a bad config naming the key, the value and the fix, and exits non-zero', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'segments:\n  - name: s\n    networks: ["10.0.0.0/33"]\n    action: blokc\n    lists: [tiktok]\n');
    const result = await runCli(['config', 'check', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('DNSWARD_ERR_CONFIG');
    expect(result.stderr).toContain('segments[0].networks[0]: "10.0.0.0/33"');
    expect(result.stderr).toContain('segments[0].action: "blokc" is not valid: expected one of "block" | "log" | "allow"');
  });

  it('names an unknown list and the lists that exist', async () => {
    const file = join(dir, 'unknown-list.yaml');
    await writeFile(file, 'dns: { allow: ["10.0.0.0/8"] }\nsegments:\n  - name: s\n    networks: ["10.0.0.0/8"]\n    action: block\n    lists: [tiktokk]\n');
    const result = await runCli(['config', 'check', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('segments[0].lists[0]: "tiktokk" is not a known list; use one of:');
    expect(result.stderr).toContain('tiktok');
  });

  it('resolves the config\'s relative paths against its own directory, from any working directory', async () => {
    const result = await runCli(['config', 'check', resolve('deploy/dnsward.yaml')], { cwd: tmpdir() });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('OK (3 segments, lists: bytedance=');
  });

  it('reports a missing file clearly', async () => {
    const result = await runCli(['config', 'check', join(dir, 'nope.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('DNSWARD_ERR_CONFIG_READ');
  });
});

describe('dnsward config reference / schema', () => {
  it('print the files npm run gen:config keeps in deploy/', async () => {
    const reference = await runCli(['config', 'reference']);
    expect(reference.code).toBe(0);
    expect(reference.stdout).toBe(await readFile('deploy/dnsward.reference.yaml', 'utf8'));
    const schema = await runCli(['config', 'schema']);
    expect(schema.code).toBe(0);
    expect(schema.stdout).toBe(await readFile('deploy/dnsward.schema.json', 'utf8'));
  });
});

describe('dnsward serve', () => {
  let upstream: StubUpstream;
  beforeAll(async () => {
    upstream = await new StubUpstream().start();
  });
  afterAll(async () => {
    await upstream?.stop();
  });

  it('serves DNS, logs JSON decisions, and exits 0 on SIGTERM', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const file = join(dir, 'serve.yaml');
    await writeFile(
      file,
      [
        `dns: { listen: ["127.0.0.1:${port}"], allow: ["127.0.0.0/8"] }`,
        `upstreams: ["127.0.0.1:${upstream.port}"]`,
        'segments:',
        '  - { name: service, networks: ["127.0.0.0/8"], action: block, lists: [tiktok] }',
        'http: { listen: "127.0.0.1:0" }',
        'api: { listen: "127.0.0.1:0" }',
        `audit: { dir: "${join(dir, 'audit')}", signing_key_file: "${join(dir, 'keys/signing.key')}", pseudonym_secret_file: "${join(dir, 'keys/pseudonym.key')}", log_decisions: true }`,
      ].join('\n'),
    );
    const child = spawn(process.execPath, [BIN, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 100 && !stdout.includes('dnsward ready'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(stdout).toContain('dnsward ready');
      expect((await queryUdp(port, { name: 'www.tiktok.com' })).rcode).toBe(3);
      expect((await queryUdp(port, { name: 'example.org' })).rcode).toBe(0);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.find((l) => l.msg === 'query blocked')).toMatchObject({ component: 'decision', qname: 'www.tiktok.com', segment: 'service' });
      expect(lines.some((l) => l.msg === 'stopped')).toBe(true);
      // The block log got the event too, flushed before exit.
      const files = (await readdir(join(dir, 'audit'))).filter((f) => f.endsWith('.jsonl'));
      const events = (await Promise.all(files.map((f) => readFile(join(dir, 'audit', f), 'utf8')))).join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(events.filter((e) => e.qname === 'www.tiktok.com' && e.action === 'blocked')).toHaveLength(1);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('dnsward config check with subscribed sources', () => {
  it('accepts segments that name a configured source', async () => {
    const file = join(dir, 'sources.yaml');
    await writeFile(
      file,
      [
        'dns: { allow: ["10.0.0.0/8"] }',
        'lists:',
        '  dir: lists',
        '  sources: [{ name: partner, url: "http://127.0.0.1:9/partner.txt" }]',
        'segments:',
        '  - { name: s, networks: ["10.0.0.0/8"], action: block, lists: [tiktok, partner] }',
      ].join('\n'),
    );
    const result = await runCli(['config', 'check', file]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('partner=subscribed');
  });
});

/** The environment without any variable a config in these tests names. */
const cleanEnv = (): NodeJS.ProcessEnv => ({ ...process.env, DNSWARD_AUDIT_TOKEN: undefined, DNSWARD_TOKEN: undefined });

describe('config check and serve refuse the same configs with the same message', () => {
  // Each would otherwise start: loopback listener on a free port, HTTP on a free port.
  const base = (dns: string, rest: string, listen = '127.0.0.1:0'): string =>
    [`dns: { listen: ["${listen}"], ${dns} }`, 'upstreams: ["127.0.0.1:9"]', 'http: { listen: "127.0.0.1:0" }', 'api: { listen: "127.0.0.1:0" }', 'audit: { enabled: false }', rest].join('\n') + '\n';
  const CATCH_ALL = 'segments:\n  - { name: default, networks: ["0.0.0.0/0", "::/0"], action: allow }';
  const cases: [string, string, string][] = [
    ['an unset token_env', base('allow: ["127.0.0.0/8"]', `${CATCH_ALL}\nauth: { tokens: [{ name: t, role: auditor, token_env: DNSWARD_TOKEN }] }`), 'auth.tokens[0].token_env: environment variable DNSWARD_TOKEN (token "t") is not set'],
    [
      'a segment network outside dns.allow',
      base('allow: ["127.0.0.0/8", "10.0.0.0/8", "::1/128"]', `${CATCH_ALL}\n  - { name: service, networks: ["10.10.0.0/16", "fd00:10::/48"], action: block, lists: [tiktok] }`),
      'segments[1].networks[1]: "fd00:10::/48" (segment service) is outside dns.allow, so every client in it gets REFUSED',
    ],
    ['a short token', base('allow: ["127.0.0.0/8"]', `${CATCH_ALL}\nauth: { tokens: [{ name: t, role: auditor, token: "0123456789abcdefghij" }] }`), 'auth.tokens[0].token: token "t" has 20 characters; a token needs at least 24'],
    ['an open resolver', base('allow: ["0.0.0.0/0"]', CATCH_ALL, '0.0.0.0:0'), 'dns.allow: lets every IPv4 address on the Internet query "0.0.0.0:0": an open resolver'],
    ['a CIDR with host bits', base('allow: ["127.0.0.1/8"]', CATCH_ALL), 'dns.allow[0]: "127.0.0.1/8" is not valid: host bits are set; write "127.0.0.0/8" for that network, or "127.0.0.1/32" for the one address'],
    ['a token under the wrong key', base('allow: ["127.0.0.0/8"]', `${CATCH_ALL}\nauth: { tokens: ["s3cr3t-0123456789abcdefghijkl"] }`), 'auth.tokens[0]: (value hidden) is not valid: each token is a mapping'],
    ['a token value as token_env', base('allow: ["127.0.0.0/8"]', `${CATCH_ALL}\nauth: { tokens: [{ name: t, role: admin, token_env: "s3cr3t-0123456789abcdefghijkl" }] }`), 'auth.tokens[0].token_env: (value hidden) is not valid'],
  ];

  it.each(cases)('%s', async (name, text, expected) => {
    const file = join(dir, `refused-${name.replaceAll(' ', '-')}.yaml`);
    await writeFile(file, text);
    const check = await runCli(['config', 'check', file], { env: cleanEnv() });
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(`DNSWARD_ERR_CONFIG: ${file}: `);
    expect(check.stderr).toContain(expected);
    expect(check.stderr).not.toContain('s3cr3t');
    const started = Date.now();
    const serve = await runCli(['serve', '--config', file], { env: cleanEnv(), timeout: 20_000 });
    expect(serve.code, 'serve exits non-zero, at once').toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(serve.stderr).toBe(check.stderr);
    expect(serve.stdout, 'nothing started, nothing logged').toBe('');
  });

  it.each([
    ['an upstream_tls.ca_file that does not exist', 'upstream_tls: { ca_file: missing-ca.pem }', 'DNSWARD_ERR_CONFIG: upstream_tls.ca_file: '],
    ['an upstream_tls.ca_file that holds no certificate', 'upstream_tls: { ca_file: not-a-ca.pem }', 'holds no PEM certificate'],
    ['a never-block.txt line that is not a name', 'lists: { dir: bad-never-block }', 'never-block.txt:2: '],
  ])('both refuse %s, with the same message', async (name, key, expected) => {
    await writeFile(join(dir, 'not-a-ca.pem'), 'just text\n');
    await mkdir(join(dir, 'bad-never-block'), { recursive: true });
    await writeFile(join(dir, 'bad-never-block', 'never-block.txt'), '# title: never block\nnot a name!  2026-12-03  X\n');
    const file = join(dir, `refused-${name.replaceAll(' ', '-')}.yaml`);
    await writeFile(file, base('allow: ["127.0.0.0/8"]', `${CATCH_ALL}\n${key}`));
    const check = await runCli(['config', 'check', file], { env: cleanEnv() });
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(expected);
    const serve = await runCli(['serve', '--config', file], { env: cleanEnv(), timeout: 20_000 });
    expect(serve.code).toBe(1);
    expect(serve.stderr).toBe(check.stderr);
  });

  it('serve exits at once with the listen error when the HTTP address is not available', async () => {
    const file = join(dir, 'bad-http.yaml');
    await writeFile(file, base('allow: ["127.0.0.0/8"]', CATCH_ALL).replace('http: { listen: "127.0.0.1:0" }', 'http: { listen: "192.0.2.1:8053" }'));
    const started = Date.now();
    const serve = await runCli(['serve', '--config', file], { env: cleanEnv(), timeout: 20_000 });
    expect(serve.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(serve.stderr).toContain('DNSWARD_ERR_LISTEN: http.listen: cannot listen on "192.0.2.1:8053"');
  });

  it('both warn about allowed clients in no segment, naming the implicit default, and still run', async () => {
    const file = join(dir, 'no-catch-all.yaml');
    await writeFile(file, base('allow: ["127.0.0.0/8"]', 'segments:\n  - { name: local, networks: ["127.0.0.1/32"], action: block, lists: [tiktok] }'));
    const check = await runCli(['config', 'check', file], { env: cleanEnv() });
    expect(check.code).toBe(0);
    const warning = `${file}: warning: segments: no segment contains 127.0.0.0 (allowed by dns.allow "127.0.0.0/8"); such clients get the implicit segment "default" (action allow, no lists).`;
    expect(check.stderr).toContain(warning);
    const serve = await serveUntilReady(file, cleanEnv());
    try {
      expect(serve.stdout()).toContain('dnsward ready');
      expect(serve.stderr()).toBe(check.stderr);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });

  it("serve, with bin/dnsward's Node flags, gives back the start's garbage before it binds DNS, and says so", async () => {
    const file = join(dir, 'release.yaml');
    await writeFile(file, base('allow: ["127.0.0.0/8"]', CATCH_ALL));
    const serve = await serveUntilReady(file, cleanEnv(), shebangFlags(BIN));
    try {
      const lines = serve
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const released = lines.findIndex((l) => l.msg === 'start-up garbage released');
      const ready = lines.findIndex((l) => l.msg === 'dnsward ready');
      expect(ready).toBeGreaterThan(released);
      expect(released).toBeGreaterThanOrEqual(0);
      const line = lines[released] as { ms: number; rss_before_mb: number; rss_after_mb: number };
      expect(line.ms).toBeGreaterThanOrEqual(0);
      expect(line.rss_after_mb).toBeGreaterThan(0);
      expect(line.rss_after_mb).toBeLessThanOrEqual(line.rss_before_mb + 1);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    // Without --expose-gc (node bin/dnsward, a test runner), nothing is attempted.
    const plain = await serveUntilReady(file, cleanEnv());
    try {
      expect(plain.stdout()).toContain('dnsward ready');
      expect(plain.stdout()).not.toContain('start-up garbage released');
    } finally {
      expect(await plain.stop()).toBe(0);
    }
  });
});

describe('the README config example', () => {
  it('passes config check (beside a lists/ folder, with its token variable set)', async () => {
    const readme = await readFile('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('## Config (YAML)'));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toBeDefined();
    const file = join(dir, 'readme-example.yaml');
    await writeFile(file, example as string);
    const result = await runCli(['config', 'check', file], { env: { ...cleanEnv(), DNSWARD_AUDIT_TOKEN: 'a'.repeat(48) } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(': OK (3 segments, lists: bytedance=');
    expect(result.stdout).toContain('partner=subscribed');
  });
});

describe('the command line', () => {
  const commands = ['serve', 'config check', 'config reference', 'config schema', 'lists check', 'lists build', 'audit verify', 'audit export'];

  it.each(commands)('dnsward %s --help prints its usage and exits 0', async (command) => {
    const result = await runCli([...command.split(' '), '--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(new RegExp(`^usage: dnsward ${command}\\b`));
  });

  it.each([
    [['config', '--help'], 'config', ['config check', 'config reference', 'config schema']],
    [['lists', '-h'], 'lists', ['lists check', 'lists build', 'lists diff']],
    [['audit', '--help'], 'audit', ['audit verify', 'audit export']],
    [['help', 'audit'], 'audit', ['audit verify', 'audit export']],
  ])('dnsward %j lists the commands of the group and exits 0', async (argv, group, members) => {
    const result = await runCli(argv);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(new RegExp(`^usage: dnsward ${group} <command>`));
    for (const member of members) expect(result.stdout).toContain(`dnsward ${member}`);
    expect(result.stdout).not.toContain('dnsward serve');
  });

  it('--help and --version', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const command of commands) expect(help.stdout).toContain(`dnsward ${command}`);
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect(await runCli(['--version'])).toEqual({ code: 0, stdout: `dnsward ${pkg.version}\n`, stderr: '' });
  });

  it.each([
    [['serv'], 'unknown command "serv"; did you mean "dnsward serve"?'],
    [['lists', 'chek'], 'unknown command "lists chek"; did you mean "dnsward lists check"?'],
    [['config'], '"config" needs a sub-command; use one of: dnsward config check, dnsward config reference, dnsward config schema'],
    [['config', 'check', '--confg', 'x'], "config check: Unknown option '--confg'; did you mean --config?"],
    [['serve', 'my.yaml'], "serve: Unexpected argument 'my.yaml'"],
    [['lists', 'check', '--config'], "lists check: Option '-c, --config <value>' argument missing"],
    [['lists', 'build'], 'lists build needs an output directory'],
    [['audit', 'export', '--from'], 'audit export:'],
  ])('a usage mistake (%j) is one coded line and the usage, never a stack trace', async (args, expected) => {
    const result = await runCli(args);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.startsWith(`DNSWARD_ERR_USAGE: ${expected}`), result.stderr).toBe(true);
    expect(result.stderr).toContain('usage: dnsward');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('dnsward serve log lines', () => {
  it('never repeat a key (checked on the raw text, which JSON.parse would hide)', async () => {
    const file = join(dir, 'log-keys.yaml');
    // A dead upstream (logged by the resolver's upstream child) and an unauthorized API
    // request (logged by the HTTP request logger with its own component) exercise both ways
    // a key could repeat: a child of a child, and a call repeating a binding.
    await writeFile(
      file,
      [
        'dns: { listen: ["127.0.0.1:0"], allow: ["127.0.0.0/8"], upstream_timeout_ms: 100, query_timeout_ms: 300 }',
        'upstreams: ["127.0.0.1:9"]',
        'segments:\n  - { name: service, networks: ["127.0.0.0/8"], action: block, lists: [tiktok] }',
        'http: { listen: "127.0.0.1:0" }',
        'api: { listen: "127.0.0.1:0" }',
        `audit: { dir: "${join(dir, 'audit-keys-test')}", signing_key_file: "${join(dir, 'keys2/signing.key')}", pseudonym_secret_file: "${join(dir, 'keys2/pseudonym.key')}", log_decisions: true }`,
        'auth: { tokens: [{ name: t, role: auditor, token_env: DNSWARD_TOKEN }] }',
        'log: { level: debug }',
      ].join('\n'),
    );
    const serve = await serveUntilReady(file, { ...cleanEnv(), DNSWARD_TOKEN: 't'.repeat(32) });
    let code: number | null;
    try {
      const ready = JSON.parse(serve.stdout().split('\n').find((l) => l.includes('dnsward ready')) as string) as { dns: string[]; api: string };
      const dnsPort = Number(ready.dns[0]?.split(':').at(-1));
      expect((await queryUdp(dnsPort, { name: 'www.tiktok.com' })).rcode).toBe(3);
      await queryUdp(dnsPort, { name: 'example.org' }).catch(() => undefined);
      expect((await fetch(`http://${ready.api}/api/audit/events`)).status).toBe(401);
      for (let i = 0; i < 40 && !serve.stdout().includes('"upstream"'); i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      code = await serve.stop();
    }
    expect(code).toBe(0);
    const lines = serve.stdout().trim().split('\n');
    expect(lines.some((l) => l.includes('"component":"upstream"'))).toBe(true);
    expect(lines.some((l) => l.includes('"component":"auth"'))).toBe(true);
    expect(lines.some((l) => l.includes('"msg":"query blocked"'))).toBe(true);
    for (const line of lines) expect(repeatedKeys(line), line).toEqual([]);
  });
});
