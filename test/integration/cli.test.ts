// The dnsward command as a user runs it: bin/dnsward in a child process.
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryUdp } from '../helpers/dns-client.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';

const run = promisify(execFile);
const BIN = resolve('bin/dnsward');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dnsward-cli-'));
  // Configs here say lists.dir "lists" (or leave it at that default): next to the config file.
  await symlink(resolve('lists'), join(dir, 'lists'));
});

async function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], options);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('dnsward config check', () => {
  it('accepts the config from the issue exactly as written (beside a lists/ folder), and the shipped default', async () => {
    const issueExample = join(dir, 'issue-example.yaml');
    await copyFile('test/fixtures/issue-example.yaml', issueExample);
    for (const file of [issueExample, 'deploy/dnsward.yaml']) {
      const result = await runCli(['config', 'check', file]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('OK');
    }
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
    await writeFile(file, 'segments:\n  - name: s\n    networks: ["10.0.0.0/8"]\n    action: block\n    lists: [tiktokk]\n');
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
