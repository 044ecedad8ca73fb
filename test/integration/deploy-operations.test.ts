// docs/OPERATIONS.md's tested blocks, run as written against a real replica started from
// deploy/systemd/dnsward.yaml. Only what the test machine requires changes: the config's
// ports (free loopback ones), its upstream (a stub) and its lists (the checkout's); in the
// commands, /etc/dnsward, /var/lib/dnsward and /root are temporary directories, 8053/8054 the
// replica's ports, `dnsward` this checkout's bin/dnsward, and `systemctl stop|start|restart|
// reload dnsward` the signals the unit sends (SIGTERM, start, SIGHUP as its ExecReload says).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { queryUdp } from '../helpers/dns-client.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';
import { run, waitFor } from './deploy-support.ts';
import { freeUdpTcpPort } from '../helpers/free-port.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- the config as plain YAML data, edited as an operator would */
const DOC = readFileSync('docs/OPERATIONS.md', 'utf8');
const BIN = resolve('bin/dnsward');

/** The lines of the fenced block after `<!-- test: NAME -->` (continuations joined, comments kept). */
function block(name: string): { lang: string; lines: string[]; text: string } {
  const m = new RegExp(`<!-- test: ${name} -->\\n\`\`\`(\\w+)\\n([\\s\\S]*?)\`\`\``).exec(DOC);
  if (!m) throw new Error(`docs/OPERATIONS.md has no block marked "test: ${name}"`);
  const text = m[2] as string;
  return { lang: m[1] as string, text, lines: text.replace(/\\\n\s*/g, '').split('\n').filter((l) => l.trim() !== '') };
}

/** The block after the one marked NAME (a YAML change followed by its command). */
function nextBlock(name: string): string[] {
  const start = DOC.indexOf(`<!-- test: ${name} -->`);
  const fences = [...DOC.slice(start).matchAll(/```\w*\n([\s\S]*?)```/g)];
  return (fences[1]?.[1] ?? '').split('\n').filter((l) => l.trim() !== '');
}


const UNIT = readFileSync('deploy/systemd/dnsward.service', 'utf8');

/** One installed host: /etc/dnsward, /var/lib/dnsward and /root as temporary directories, and the replica. */
class Host {
  dir = '';
  etc = '';
  state = '';
  root = '';
  dnsPort = 0;
  http = '';
  api = '';
  replica: ChildProcess | undefined;
  output = '';

  async install(upstreamPort: number, change: (config: Record<string, any>) => void = () => {}): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'dnsward-ops-'));
    temporary.push(this.dir);
    [this.etc, this.state, this.root] = ['etc', 'state', 'root'].map((d) => join(this.dir, d)) as [string, string, string];
    for (const d of [this.etc, this.state, this.root]) await mkdir(d);
    this.dnsPort = await freeUdpTcpPort();
    this.http = `127.0.0.1:${await freeUdpTcpPort()}`;
    this.api = `127.0.0.1:${await freeUdpTcpPort()}`;
    const text = (await readFile('deploy/systemd/dnsward.yaml', 'utf8')).replaceAll('/var/lib/dnsward', this.state);
    const config = parse(text) as Record<string, any>;
    config.dns.listen = [`127.0.0.1:${this.dnsPort}`];
    config.http.listen = this.http;
    config.api.listen = this.api;
    config.upstreams = [`127.0.0.1:${upstreamPort}`];
    config.lists.dir = resolve('lists');
    change(config);
    await this.writeConfig(config);
    await writeFile(join(this.etc, 'dnsward.env'), `DNSWARD_AUDIT_TOKEN=${'a'.repeat(48)}\nDNSWARD_ADMIN_TOKEN=${'b'.repeat(48)}\n`, { mode: 0o600 });
  }

  async config(): Promise<Record<string, any>> {
    return parse(await readFile(join(this.etc, 'dnsward.yaml'), 'utf8')) as Record<string, any>;
  }

  async writeConfig(config: Record<string, any>): Promise<void> {
    await writeFile(join(this.etc, 'dnsward.yaml'), stringify(config));
  }

  /** The EnvironmentFile, as systemd reads it at each start. */
  async env(): Promise<NodeJS.ProcessEnv> {
    const vars = (await readFile(join(this.etc, 'dnsward.env'), 'utf8')).trim().split('\n').map((l) => l.split('=') as [string, string]);
    return { ...process.env, ...Object.fromEntries(vars) };
  }

  async start(): Promise<void> {
    this.output = '';
    const child = spawn(process.execPath, [BIN, 'serve', '--config', join(this.etc, 'dnsward.yaml')], { env: await this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (this.output += c.toString()));
    this.replica = child;
    await waitFor('dnsward ready', async () => {
      if (child.exitCode !== null) throw new Error(this.output);
      return this.output.includes('dnsward ready') ? true : undefined;
    });
  }

  async stop(): Promise<void> {
    const child = this.replica;
    if (child === undefined || child.exitCode !== null) return;
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.on('exit', r));
    expect(code, this.output.slice(-500)).toBe(0);
  }

  /** Runs one documented command line, with this host's paths and ports. */
  async sh(line: string): Promise<string> {
    const systemctl = /^systemctl (stop|start|restart|reload) dnsward\b/.exec(line)?.[1];
    if (systemctl === 'stop') await this.stop();
    if (systemctl === 'start') await this.start();
    if (systemctl === 'restart') {
      await this.stop();
      await this.start();
    }
    if (systemctl === 'reload') {
      expect(UNIT).toContain('ExecReload=/bin/kill -HUP $MAINPID');
      const before = this.output.length;
      this.replica?.kill('SIGHUP');
      await waitFor('the reload', async () => (/"msg":"reload: new config and lists in force/.test(this.output.slice(before)) ? true : undefined));
    }
    if (systemctl !== undefined) return '';
    const command = line
      .replaceAll('/etc/dnsward/', `${this.etc}/`)
      .replaceAll('/var/lib/dnsward', this.state)
      .replaceAll('/root/', `${this.root}/`)
      .replaceAll('127.0.0.1:8054', this.api)
      .replaceAll('127.0.0.1:8053', this.http)
      .replace(/^dnsward /, `"${process.execPath}" ${BIN} `);
    const result = await run('sh', ['-c', command], { env: await this.env(), cwd: this.dir });
    expect(result.code, `${line}\n${result.stdout}${result.stderr}`).toBe(0);
    return result.stdout;
  }

  async runBlock(name: string): Promise<string[]> {
    const outputs: string[] = [];
    for (const line of block(name).lines) outputs.push(await this.sh(line));
    return outputs;
  }
}

let upstream: StubUpstream;
let host: Host;
const temporary: string[] = [];
beforeAll(async () => {
  upstream = await new StubUpstream().start();
});
afterEach(async () => {
  await host?.stop();
});
afterAll(async () => {
  await upstream?.stop();
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
});

describe('docs/OPERATIONS.md, run as written', () => {
  it('config check, then the health endpoints of the running replica', async () => {
    host = new Host();
    await host.install(upstream.port);
    const [check] = await host.runBlock('check');
    expect(check).toMatch(/: OK \(3 segments/);
    await host.start();
    const [healthz, readyz, metrics] = await host.runBlock('health');
    expect(JSON.parse(healthz as string)).toMatchObject({ status: 'ok', ready: true, degraded: [] });
    expect(JSON.parse(readyz as string)).toMatchObject({ ready: true });
    expect(metrics?.trim()).toBe(`dnsward_upstream_up{upstream="127.0.0.1:${upstream.port}"} 1`);
  });

  it('keeps readiness up when every upstream is down, and says so in /healthz', async () => {
    host = new Host();
    await host.install(await freeUdpTcpPort(), (c) => Object.assign(c.dns, { upstream_timeout_ms: 100, query_timeout_ms: 300 }));
    await host.start();
    await queryUdp(host.dnsPort, { name: 'example.org' }).catch(() => undefined);
    const [healthz, readyz] = await waitFor('the upstream marked down', async () => {
      const outputs = await host.runBlock('health').catch(() => undefined);
      return outputs?.[0]?.includes('every upstream is down') ? outputs : undefined;
    });
    expect(JSON.parse(healthz as string)).toMatchObject({ status: 'degraded', ready: true, degraded: ['every upstream is down: only blocked, cached and stale answers are given'] });
    expect(JSON.parse(readyz as string)).toMatchObject({ ready: true });
    // What the readiness keeps serving: blocked names, answered locally.
    const config = await host.config();
    config.segments[0].networks.push('127.0.0.1/32');
    await host.writeConfig(config);
    await host.sh('systemctl reload dnsward');
    expect((await queryUdp(host.dnsPort, { name: 'www.tiktok.com' })).rcode).toBe(3);
  });

  it('reloads by SIGHUP and by the API: a config change applies without a restart', async () => {
    host = new Host();
    await host.install(upstream.port);
    await host.start();
    const [bySignal, byApi] = block('reload').lines as [string, string];
    expect((await queryUdp(host.dnsPort, { name: 'www.tiktok.com' })).rcode).toBe(0);
    const config = await host.config();
    config.segments[0].networks.push('127.0.0.1/32');
    await host.writeConfig(config);
    await host.sh(bySignal);
    expect((await queryUdp(host.dnsPort, { name: 'www.tiktok.com' })).rcode).toBe(3);
    config.segments[0].networks.pop();
    await host.writeConfig(config);
    const reply = JSON.parse(await host.sh(byApi)) as { ok: boolean; restartNeeded: string[] };
    expect(reply).toMatchObject({ ok: true, restartNeeded: [] });
    expect((await queryUdp(host.dnsPort, { name: 'www.tiktok.com' })).rcode).toBe(0);
  });

  it('rotates the block log\'s signing key: the log verifies against the old and the new public key', async () => {
    host = new Host();
    await host.install(upstream.port, (c) => (c.segments[0].networks.push('127.0.0.1/32'), (c.audit.checkpoint_interval_s = 1)));
    await host.start();
    expect((await queryUdp(host.dnsPort, { name: 'www.tiktok.com' })).rcode).toBe(3);
    const oldKey = await readFile(join(host.state, 'keys/audit-signing.key'), 'utf8');
    const outputs = await host.runBlock('rotate-audit-key');
    expect((await queryUdp(host.dnsPort, { name: 'vm.tiktok.com' })).rcode).toBe(3);
    expect(await readFile(join(host.state, 'keys/audit-signing.key'), 'utf8')).not.toBe(oldKey);
    await host.stop();
    const verify = await host.sh(block('rotate-audit-key').lines.at(-1) as string);
    expect(verify).toMatch(/^OK: instance \S+: 1 file\(s\), 2 good event\(s\)/);
    expect(verify.match(/ \(pinned\)/g)).toHaveLength(2);
    expect(outputs.at(-1)).toMatch(/^OK: /);
    // The new public key alone does not vouch for the old checkpoints: the auditors need both.
    const instance = (await run('hostname', [])).stdout.trim();
    const newOnly = await run(process.execPath, [BIN, 'audit', 'verify', join(host.state, 'audit'), '--public-key', join(host.state, 'audit', `audit-${instance}.pub.pem`)]);
    expect(newOnly.code).toBe(1);
  });

  it('rotates the list signing key: the feed then serves, and signs with, a key of a new fingerprint', async () => {
    host = new Host();
    await host.install(upstream.port);
    await host.start();
    const fingerprint = async () => ((await (await fetch(`http://${host.http}/lists`)).json()) as { signing_key_sha256: string }).signing_key_sha256;
    const before = await fingerprint();
    const outputs = await host.runBlock('rotate-list-key');
    const after = await fingerprint();
    expect(after).not.toBe(before);
    expect(outputs.at(-1)?.trim()).toBe(`${after}  -`);
    // The lists are signed with it (docs/LISTS.md, "Verifying a list"), with the key the doc fetched.
    for (const file of ['sha256sums', 'sha256sums.sig']) await writeFile(join(host.dir, file), Buffer.from(await (await fetch(`http://${host.http}/lists/tiktok/${file}`)).arrayBuffer()));
    const verified = await run('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'signing-key.pem', '-rawin', '-in', 'sha256sums', '-sigfile', 'sha256sums.sig'], { cwd: host.dir });
    expect(verified.stdout.trim()).toBe('Signature Verified Successfully');
  });

  it('rotates an admin token without locking anyone out', async () => {
    host = new Host();
    await host.install(upstream.port);
    const change = block('rotate-token');
    expect(change.lang).toBe('yaml');
    const tokens = (parse(change.text) as { auth: { tokens: Record<string, string>[] } }).auth.tokens;
    const config = await host.config();
    config.auth.tokens = [...config.auth.tokens.filter((t: Record<string, string>) => t.role !== 'admin'), ...tokens];
    await host.writeConfig(config);
    for (const line of nextBlock('rotate-token')) await host.sh(line);
    await host.sh('systemctl restart dnsward');
    const env = await host.env();
    const reload = (token: string | undefined) => fetch(`http://${host.api}/api/reload`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    expect(await reload(env.DNSWARD_ADMIN_TOKEN_NEXT)).toBe(200);
    expect(await reload(env.DNSWARD_ADMIN_TOKEN)).toBe(200);
    config.auth.tokens = config.auth.tokens.filter((t: Record<string, string>) => t.name !== 'operator');
    await host.writeConfig(config);
    await host.sh('systemctl restart dnsward');
    expect(await reload(env.DNSWARD_ADMIN_TOKEN_NEXT)).toBe(200);
    expect(await reload(env.DNSWARD_ADMIN_TOKEN)).toBe(401);
  });

  it('re-reads TLS certificates on reload', async () => {
    const tls = await mkdtemp(join(tmpdir(), 'dnsward-ops-tls-'));
    temporary.push(tls);
    const make = async (name: string) => {
      const made = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(tls, `${name}.key`), '-out', join(tls, `${name}.crt`), '-days', '2', '-subj', `/CN=${name}.example`]);
      expect(made.code, made.stderr).toBe(0);
      return { cert: await readFile(join(tls, `${name}.crt`)), key: await readFile(join(tls, `${name}.key`)) };
    };
    const [first, second] = [await make('first'), await make('second')];
    await writeFile(join(tls, 'feed.crt'), first.cert);
    await writeFile(join(tls, 'feed.key'), first.key);
    host = new Host();
    await host.install(upstream.port, (c) => (c.http.tls = { cert_file: join(tls, 'feed.crt'), key_file: join(tls, 'feed.key') }));
    await host.start();
    const served = () =>
      new Promise<string>((done, fail) => {
        const [address, port] = host.http.split(':') as [string, string];
        const socket = connect({ host: address, port: Number(port), rejectUnauthorized: false }, () => {
          done(socket.getPeerX509Certificate()?.subject ?? '');
          socket.end();
        });
        socket.on('error', fail);
      });
    expect(await served()).toBe('CN=first.example');
    await writeFile(join(tls, 'feed.crt'), second.cert);
    await writeFile(join(tls, 'feed.key'), second.key);
    await host.sh('systemctl reload dnsward');
    await waitFor('the new certificate', async () => ((await served()) === 'CN=second.example' ? true : undefined), 5000);
  });
});
