// deploy/systemd/dnsward.service: `systemd-analyze verify` and its exposure score (no systemd
// runs here to start it), paths that agree with its config, and its ExecStart run the way the
// unit would run it: an unprivileged user with only CAP_NET_BIND_SERVICE as an ambient
// capability, no_new_privs, systemd's PATH, its WorkingDirectory and Environment, in a mount
// namespace that puts the checkout at /opt/dnsward and the config in /etc/dnsward.
import { spawn } from 'node:child_process';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { portOf, run, waitFor } from './deploy-support.ts';

const UNIT = 'deploy/systemd/dnsward.service';
const unitText = await readFile(UNIT, 'utf8');
/** The unit's settings: every value of every key, in order. */
const unit = new Map<string, string[]>();
for (const line of unitText.split('\n')) {
  const m = /^([A-Za-z]+)=(.*)$/.exec(line);
  if (m) unit.set(m[1] as string, [...(unit.get(m[1] as string) ?? []), m[2] as string]);
}
const setting = (key: string) => {
  const values = unit.get(key);
  if (values?.length !== 1) throw new Error(`${UNIT}: ${key} is set ${values?.length ?? 0} times`);
  return values[0] as string;
};
const execStart = setting('ExecStart').split(' ');
const installDir = dirname(dirname(execStart[0] as string));
const configPath = execStart[execStart.indexOf('--config') + 1] as string;
const stateDir = `/var/lib/${setting('StateDirectory')}`;
const config = parseConfig(await readFile('deploy/systemd/dnsward.yaml', 'utf8'), 'deploy/systemd/dnsward.yaml');

/** Runs a script in a private mount namespace where /opt/dnsward is this checkout. */
function withInstall(script: string) {
  return `mount -t tmpfs tmpfs ${dirname(installDir)} && mkdir ${installDir} && mount --bind ${process.cwd()} ${installDir}\n${script}`;
}

describe('the systemd unit', () => {
  it('passes systemd-analyze verify with the checkout installed where ExecStart says, and its exposure is "OK" or better', async () => {
    const verify = await run('unshare', ['--mount', 'sh', '-c', withInstall(`systemd-analyze verify ${resolve(UNIT)}`)]);
    expect(verify.stdout + verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    const security = await run('systemd-analyze', ['security', '--offline=yes', '--no-pager', UNIT]);
    const exposure = Number(/Overall exposure level for dnsward\.service: ([\d.]+)/.exec(security.stdout)?.[1]);
    expect(exposure, security.stdout.slice(-300)).toBeLessThan(2);
  });

  it('is hardened: a dynamic user, CAP_NET_BIND_SERVICE only, a read-only system, reload by SIGHUP', () => {
    expect(setting('DynamicUser')).toBe('yes');
    expect(setting('AmbientCapabilities')).toBe('CAP_NET_BIND_SERVICE');
    expect(setting('CapabilityBoundingSet')).toBe('CAP_NET_BIND_SERVICE');
    expect(setting('NoNewPrivileges')).toBe('yes');
    expect(setting('ProtectSystem')).toBe('strict');
    expect(setting('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(setting('KillSignal')).toBe('SIGTERM');
    // V8 writes machine code at run time; MemoryDenyWriteExecute=yes would kill node.
    expect(unit.has('MemoryDenyWriteExecute')).toBe(false);
  });

  it('runs the config it installs, which listens on 53 and writes only under the StateDirectory', () => {
    expect(configPath).toBe(`/etc/${setting('ConfigurationDirectory')}/dnsward.yaml`);
    expect(unitText).toContain('install -m 0644 deploy/systemd/dnsward.yaml /etc/dnsward/');
    expect([...new Set(config.dns.listen.map(portOf))]).toEqual([53]);
    expect(config.lists.dir).toBe(`${installDir}/lists`);
    for (const path of [config.lists.cache_dir, config.lists.signing_key_file, config.audit.dir, config.audit.signing_key_file, config.audit.pseudonym_secret_file]) {
      expect(path.startsWith(`${stateDir}/`), path).toBe(true);
    }
    expect(setting('WorkingDirectory')).toBe(stateDir);
    // Tokens come from the EnvironmentFile, not the config.
    expect(config.auth.tokens.every((t) => t.token_env !== undefined && t.token === undefined)).toBe(true);
    expect(setting('EnvironmentFile')).toBe('-/etc/dnsward/dnsward.env');
  });
});

describe('ExecStart, run as the unit runs it', () => {
  const cleanup: string[] = [];
  afterAll(async () => {
    for (const d of cleanup) await rm(d, { recursive: true, force: true });
  });

  it('binds port 53 through the ambient capability alone, gets ready, answers, and stops cleanly on SIGTERM', async () => {
    const work = await mkdtemp(join(tmpdir(), 'dnsward-systemd-'));
    cleanup.push(work);
    await chmod(work, 0o755);
    // What systemd prepares: StateDirectory owned by the dynamic user; ConfigurationDirectory;
    // the config as installed, with a stub upstream in the network namespace (model only).
    const uid = 61_053;
    const state = join(work, 'state');
    await mkdir(state, { mode: 0o700 });
    await chown(state, uid, uid);
    // /etc with the ConfigurationDirectory in it (a copy: nothing on this machine changes).
    const etc = join(work, 'etc');
    await cp('/etc', etc, { recursive: true, verbatimSymlinks: true });
    await mkdir(join(etc, 'dnsward'));
    const installed = (await readFile('deploy/systemd/dnsward.yaml', 'utf8')).replace(/^upstreams: .*$/m, 'upstreams: ["127.0.0.1:5300"]   # model: a stub upstream');
    await writeFile(join(etc, configPath.replace('/etc/', '')), installed);
    await writeFile(join(etc, 'dnsward/dnsward.env'), `DNSWARD_AUDIT_TOKEN=${'a'.repeat(48)}\nDNSWARD_ADMIN_TOKEN=${'b'.repeat(48)}\n`, { mode: 0o600 });
    const environment = [...(unit.get('Environment') ?? []), ...(await readFile(join(etc, 'dnsward/dnsward.env'), 'utf8')).trim().split('\n')];
    // systemd's PATH for services; Node 24 where the operator installs it (/usr/local/bin).
    const path = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin';
    // A stub upstream: echoes each query as an empty NOERROR answer.
    const stub = `const u = require('node:dgram').createSocket('udp4'); u.on('message', (m, r) => { m[2] |= 0x80; m[3] = 0x80; u.send(m, r.port, r.address); }); u.bind(5300, '127.0.0.1');`;
    const script = withInstall(
      [
        'mount -t tmpfs tmpfs /usr/local/bin && touch /usr/local/bin/node && mount --bind "$NODE" /usr/local/bin/node',
        `mount -t tmpfs tmpfs ${dirname(stateDir)} && mkdir ${stateDir} && mount --bind ${state} ${stateDir}`,
        `mount --bind ${etc} /etc`,
        'ip link set lo up',
        `"$NODE" -e "${stub}" &`,
        `cd ${setting('WorkingDirectory')}`,
        `exec setpriv --reuid=${uid} --regid=${uid} --clear-groups --no-new-privs --inh-caps=+net_bind_service --ambient-caps=+net_bind_service --bounding-set=-all,+net_bind_service env -i PATH=${path} ${environment.join(' ')} ${execStart.join(' ')}`,
      ].join('\n'),
    );
    const child = spawn('unshare', ['--mount', '--net', '--fork', '--kill-child', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE: process.execPath }, detached: true });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    try {
      const ready = await waitFor('dnsward ready', async () => {
        if (child.exitCode !== null) throw new Error(output);
        const line = output.split('\n').find((l) => l.includes('dnsward ready'));
        return line ? (JSON.parse(line) as { dns: string[]; api: string }) : undefined;
      });
      expect(ready.dns).toEqual(['0.0.0.0:53', '[::]:53']);
      const server = Number((await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')).trim().split(' ')[0]);
      const status = await readFile(`/proc/${server}/status`, 'utf8');
      expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe(String(uid));
      expect(/^CapAmb:\s+(\S+)/m.exec(status)?.[1]).toBe('0000000000000400');
      const dig = await run('nsenter', ['--target', String(server), '--net', 'dig', '@127.0.0.1', '-p', '53', '+tries=1', '+time=3', 'example.org', 'A']);
      // 127.0.0.1 is in the catch-all segment (allow): forwarded to the stub upstream.
      expect(dig.stdout).toContain('status: NOERROR');
      const readyz = await run('nsenter', ['--target', String(server), '--net', 'curl', '-fsS', `http://${ready.api}/readyz`]);
      expect(JSON.parse(readyz.stdout)).toMatchObject({ ready: true });
      process.kill(server, 'SIGTERM');
      expect(await new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', r)))).toBe(0);
    } finally {
      // The whole process group: the shell's background stub upstream too.
      process.kill(-(child.pid as number), 'SIGKILL');
    }
    // The state it made is the dynamic user's, in the StateDirectory.
    expect((await readdir(state)).sort()).toEqual(['audit', 'keys']);
    expect((await stat(join(state, 'keys', 'audit-signing.key'))).uid).toBe(uid);
  }, 60_000);
});
