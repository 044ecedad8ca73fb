// The container image, modelled without Docker (which does not run here): a root file system
// built from the Dockerfile's own lines, entered the way a container runtime would.
//
// - The base image is this machine's /usr (bound read-only), a copy of its /etc and the Node
//   24 binary at /usr/local/bin/node, where node:24-bookworm-slim keeps it.
// - The build stage's outputs: dist/ compiled from src/ with the project's tsc (what `npm ci`
//   runs as `prepare`); node_modules/ is the checkout's, bound read-only (a superset of the
//   image's production dependencies).
// - Every COPY of the final stage copies the repository's files; every RUN runs as written, as
//   root, chrooted in that file system (apt-get is a no-op there: its package, libcap2-bin,
//   is on this machine and the network is not; setcap, groupadd and useradd are the real ones).
// - The container: its own mount and network namespaces, the root file system read-only with
//   the Dockerfile's VOLUMEs writable (docker run --read-only), IPv6 off (Docker's default
//   network), the capability set of docker-compose.yml (cap_drop ALL, cap_add
//   NET_BIND_SERVICE), the Dockerfile's USER, WORKDIR and ENV, and its ENTRYPOINT + CMD and
//   HEALTHCHECK command lines verbatim. The one change to the image's config: an `upstreams`
//   line, because Docker's DNS (what the container's resolv.conf would name) is not here.
import { copyFile, chmod, mkdir, mkdtemp, readFile, readdir, realpath, rm, stat, symlink, writeFile, cp, lstat } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flagValue, imageSpec, readYaml, readYamlDocuments, run, waitFor, type ImageSpec } from './deploy-support.ts';

const spec: ImageSpec = imageSpec();
const NODE = process.execPath;
const UNPRIVILEGED_PORT_START = 1024;
let root: string;

/** The capabilities docker-compose.yml gives each replica, as a setpriv bounding set. */
function composeBoundingSet(): string {
  const compose = readYaml<{ services: Record<string, { cap_drop?: string[]; cap_add?: string[] }> }>('docker-compose.yml');
  const service = compose.services['dnsward-a'];
  expect(service?.cap_drop).toEqual(['ALL']);
  return ['-all', ...(service?.cap_add ?? []).map((c) => `+${c.toLowerCase()}`)].join(',');
}

/** Runs a shell script in a private mount namespace with the base image's directories bound into the root. */
function bindScript(): string {
  return [
    'set -e',
    `R=${root}`,
    // The root is a mount of its own, so that the container can make it read-only.
    'mount --bind "$R" "$R"',
    'for d in bin sbin lib lib64 share; do mount --bind /usr/$d "$R/usr/$d"; mount -o remount,bind,ro "$R/usr/$d"; done',
    `mount --bind ${nodeModules} "$R${spec.workdir}/node_modules"`,
    `mount -o remount,bind,ro "$R${spec.workdir}/node_modules"`,
    'mount -t proc proc "$R/proc"',
    'mount --rbind /dev "$R/dev"',
  ].join('\n');
}

let nodeModules: string;

/** Builds the image's root file system: base, COPY lines, then the RUN lines chrooted. */
async function buildImage(): Promise<void> {
  await chmod(root, 0o755);
  await cp('/etc', join(root, 'etc'), { recursive: true, verbatimSymlinks: true });
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) {
    if ((await lstat(`/${d}`)).isSymbolicLink()) await symlink(`usr/${d}`, join(root, d));
  }
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', 'usr/share', 'usr/local/bin', 'proc', 'dev', 'tmp', 'var']) await mkdir(join(root, d), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);
  await copyFile(NODE, join(root, 'usr/local/bin/node'));
  await chmod(join(root, 'usr/local/bin/node'), 0o755);

  const workdir = join(root, spec.workdir);
  await mkdir(workdir, { recursive: true });
  for (const copy of spec.copies) {
    const destination = copy.dest.startsWith('/') ? join(root, copy.dest) : join(workdir, copy.dest);
    if (copy.from !== undefined) {
      // The build stage's outputs.
      expect(copy.from).toBe('build');
      const [source] = copy.sources;
      if (source === '/app/node_modules') await mkdir(destination, { recursive: true });
      else if (source === '/app/dist') {
        const tsc = await run(NODE, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', destination], { timeoutMs: 120_000 });
        expect(tsc.stdout + tsc.stderr).toBe('');
      } else if (source === '/app/native/build/Release/dnsward_datagram.node' || source === '/app/native/build/Release/dnsward_hash.node') {
        // The addons npm ci built here (the build stage builds them the same way, with the image's Node).
        await mkdir(resolve(destination, '..'), { recursive: true });
        await copyFile(source.slice('/app/'.length), destination);
      } else throw new Error(`unknown build output ${source}`);
      continue;
    }
    for (const source of copy.sources) {
      const into = copy.dest.endsWith('/') ? join(destination, source.split('/').at(-1) as string) : destination;
      await mkdir(resolve(into, '..'), { recursive: true });
      await cp(source, into, { recursive: true });
    }
  }
  // Each RUN as written, in the WORKDIR in force at that line, as root.
  const shims = join(root, '.model-shims');
  await mkdir(shims);
  await writeFile(join(shims, 'apt-get'), '#!/bin/sh\necho "apt-get $* (model: skipped)"\n', { mode: 0o755 });
  let cwd = '/';
  const steps: string[] = [];
  for (const instruction of spec.final.instructions) {
    if (instruction.op === 'WORKDIR') cwd = instruction.args;
    if (instruction.op !== 'RUN') continue;
    const script = `cd ${cwd} && export PATH=/.model-shims:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin && ${instruction.args}`;
    steps.push(`chroot "$R" /bin/sh -ec '${script.replaceAll("'", "'\\''")}'`);
  }
  const build = await run('unshare', ['--mount', '--fork', 'sh', '-c', [bindScript(), ...steps].join('\n')], { timeoutMs: 60_000 });
  expect(build.stderr, build.stdout).toBe('');
  expect(build.code).toBe(0);
  await rm(shims, { recursive: true });
}

/** The running container: a holder process owning the namespaces, and what runs inside. */
let holder: ChildProcess;
let holderPid: number;
const spawned: ChildProcess[] = [];

async function startContainer(): Promise<void> {
  const script = [
    bindScript(),
    // Every VOLUME stays writable; everything else is read-only (docker run --read-only).
    ...spec.volumes.map((v) => `mount --bind "$R${v}" "$R${v}"`),
    'mount -o remount,bind,ro "$R"',
    'ip link set lo up',
    // A client address in the blocking segment (10.10.0.0/16) to query from.
    'ip addr add 10.10.0.53/32 dev lo',
    'sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.lo.disable_ipv6=1',
    'echo namespace-ready',
    'exec sleep 600',
  ].join('\n');
  holder = spawn('unshare', ['--mount', '--net', '--fork', '--kill-child', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  holder.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  holder.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  await waitFor('the container namespaces', async () => (out.includes('namespace-ready') ? true : holder.exitCode !== null ? Promise.reject(new Error(err)) : undefined), 10_000);
  const children = (await readFile(`/proc/${holder.pid}/task/${holder.pid}/children`, 'utf8')).trim().split(' ');
  holderPid = Number(children[0]);
}

/** A command in the container's namespaces; `asImageUser`: chrooted, as the image's USER, in its WORKDIR with its ENV. */
function inContainer(command: readonly string[], options: { asImageUser?: boolean; extraEnv?: Record<string, string> } = {}): string[] {
  const enter = ['nsenter', '--target', String(holderPid), '--mount', '--net', '--'];
  if (!options.asImageUser) return [...enter, ...command];
  const env = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/nonexistent',
    HOSTNAME: 'dnsward-model',
    ...spec.env,
    ...options.extraEnv,
  };
  return [
    ...enter,
    'chroot',
    root,
    'setpriv',
    `--reuid=${spec.user.uid}`,
    `--regid=${spec.user.gid}`,
    '--clear-groups',
    `--bounding-set=${composeBoundingSet()}`,
    '--inh-caps=-all',
    'env',
    '-i',
    '-C',
    spec.workdir,
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...command,
  ];
}

function runIn(command: readonly string[], options?: Parameters<typeof inContainer>[1]) {
  const [program, ...args] = inContainer(command, options);
  return run(program as string, args, { timeoutMs: 15_000 });
}

function spawnIn(command: readonly string[], options?: Parameters<typeof inContainer>[1]): ChildProcess & { output: () => string } {
  const [program, ...args] = inContainer(command, options);
  const child = spawn(program as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  spawned.push(child);
  return Object.assign(child, { output: () => output });
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.on('exit', (code) => r(code)));
}

beforeAll(async () => {
  nodeModules = await realpath('node_modules');
  root = await mkdtemp('/tmp/dnsward-image-');
  await buildImage();
  await startContainer();
}, 180_000);

afterAll(async () => {
  for (const child of spawned) if (child.exitCode === null) child.kill('SIGKILL');
  holder?.kill('SIGKILL');
  if (holder) await exited(holder);
  // The mounts lived in the container's namespaces only; root holds plain files.
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the image, built from the Dockerfile and run as a container would be', () => {
  it('runs its command as the unprivileged USER from a root-owned, read-only WORKDIR, binds port 53 by the capability alone, gets ready and answers DNS', async () => {
    const command = spec.command;
    const configPath = flagValue(command, '--config');
    expect(configPath.startsWith('/')).toBe(true);
    const app = await stat(join(root, spec.workdir));
    expect([app.uid, app.mode & 0o022]).toEqual([0, 0]);
    expect(spec.user.uid).toBeGreaterThan(0);

    // A stand-in for the upstream the container would reach, inside the container's network.
    const upstream = spawnIn([NODE, '--input-type=module', '-e', `import { StubUpstream } from '${resolve('test/helpers/stub-upstream.ts')}'; const s = await new StubUpstream().start(); console.log('port', s.port);`]);
    const upstreamPort = await waitFor('the stub upstream', async () => /port (\d+)/.exec(upstream.output())?.[1]);
    const baked = await readFile(join(root, configPath), 'utf8');
    await writeFile(join(root, configPath), `${baked}upstreams: ["127.0.0.1:${upstreamPort}"]   # model: Docker's DNS is not here\n`);

    // Before the replica runs, the health check reports it not ready.
    const before = await runIn(spec.healthcheck.command, { asImageUser: true });
    expect(before.code, before.stdout + before.stderr).toBe(1);
    expect(before.stderr).toContain('not ready:');

    const replica = spawnIn(command, { asImageUser: true });
    const health = await waitFor(
      'the HEALTHCHECK command to pass',
      async () => {
        if (replica.exitCode !== null) throw new Error(`the replica exited ${replica.exitCode}: ${replica.output()}`);
        const result = await runIn(spec.healthcheck.command, { asImageUser: true });
        return result.code === 0 ? result : undefined;
      },
      60_000,
    );
    expect(health.stdout).toMatch(/^ready: http:\/\/127\.0\.0\.1:\d+\/readyz 200/);

    // Who it runs as, and with what: the USER, CAP_NET_BIND_SERVICE (bit 10) and nothing else.
    const status = await readFile(`/proc/${replica.pid}/status`, 'utf8');
    const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(status)?.[1]?.trim().split(/\s+/);
    expect(field('Uid')).toEqual(Array(4).fill(String(spec.user.uid)));
    expect(field('Gid')).toEqual(Array(4).fill(String(spec.user.gid)));
    expect(field('CapEff')).toEqual(['0000000000000400']);
    expect(field('CapBnd')).toEqual(['0000000000000400']);
    // Low ports are not opened to everyone in this network namespace: the capability did it.
    const portStart = await runIn(['cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start']);
    expect(Number(portStart.stdout)).toBe(UNPRIVILEGED_PORT_START);

    // Port 53, as the image's config says, UDP and TCP.
    const allowed = await runIn(['dig', '@127.0.0.1', '-p', '53', '+tries=1', '+time=3', 'example.org', 'A']);
    expect(allowed.stdout).toContain('status: NOERROR');
    expect(allowed.stdout).toMatch(/example\.org\.\s+\d+\s+IN\s+A\s+192\.0\.2\.1/);
    const blocked = await runIn(['dig', '-b', '10.10.0.53', '@10.10.0.53', '-p', '53', '+tcp', '+tries=1', '+time=3', 'www.tiktok.com', 'A']);
    expect(blocked.stdout).toContain('status: NXDOMAIN');

    // A clean stop: exit 0, the block log and the keys written in their volumes, as the USER.
    replica.kill('SIGTERM');
    expect(await exited(replica)).toBe(0);
    const auditDir = join(root, '/var/lib/dnsward/audit');
    const logs = (await readdir(auditDir)).filter((f) => f.endsWith('.jsonl') && !f.includes('checkpoints'));
    expect(logs.length).toBe(1);
    // Seal lines (the signature ending each write, docs/AUDIT.md) are not events.
    const events = (await readFile(join(auditDir, logs[0] as string), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e.type === undefined);
    expect(events.map((e) => [e.qname, e.segment, e.action])).toEqual([['www.tiktok.com', 'service', 'blocked']]);
    for (const key of ['audit-signing.key', 'list-signing.key', 'pseudonym.key']) {
      const info = await stat(join(root, '/var/lib/dnsward/keys', key));
      expect([key, info.uid, info.mode & 0o777]).toEqual([key, spec.user.uid, 0o600]);
    }
    // After the stop, the health check fails again.
    expect((await runIn(spec.healthcheck.command, { asImageUser: true })).code).toBe(1);
    upstream.kill('SIGKILL');
  }, 120_000);
});

describe('binding port 53 with the image\'s node (CAP_NET_BIND_SERVICE as a file capability)', () => {
  const imageNode = () => join(root, 'usr/local/bin/node');
  const bind53 = `const d = require('node:dgram').createSocket('udp4'); d.on('error', (e) => { console.log(e.code); process.exit(3); }); d.bind(53, '127.0.0.1', () => { console.log('bound'); process.exit(0); });`;
  const asUser = (extra: string[]) => ['setpriv', `--reuid=${spec.user.uid}`, `--regid=${spec.user.gid}`, '--clear-groups', '--inh-caps=-all', ...extra];

  it('fails to start at all when the runtime drops every capability (cap_drop ALL needs cap_add NET_BIND_SERVICE)', async () => {
    const result = await run('unshare', ['--net', ...asUser(['--bounding-set=-all']), imageNode(), '-e', '1']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Operation not permitted');
  });

  it('under no_new_privs (Kubernetes allowPrivilegeEscalation: false) binds 53 through the pod sysctl the manifest sets, without any capability', async () => {
    // Linux grants no file capability under no_new_privs (Documentation/userspace-api/
    // no_new_privs.rst; this machine's kernel grants it anyway), so the sysctl must suffice on
    // its own: shown with a node that has no capability at all.
    const deployment = readYamlDocuments('deploy/kubernetes/dnsward.yaml').find((d) => d.kind === 'Deployment') as { spec: { template: { spec: { securityContext: { sysctls: { name: string; value: string }[] } } } } };
    const sysctl = deployment.spec.template.spec.securityContext.sysctls.find((s) => s.name === 'net.ipv4.ip_unprivileged_port_start');
    expect(Number(sysctl?.value)).toBeLessThanOrEqual(53);
    const attempt = (setup: string) =>
      run('unshare', ['--net', 'sh', '-c', `ip link set lo up; ${setup} exec "$@"`, 'sh', ...asUser(['--no-new-privs', `--bounding-set=${composeBoundingSet()}`]), NODE, '-e', bind53]);
    const without = await attempt('');
    expect(without.stdout.trim()).toBe('EACCES');
    const withSysctl = await attempt(`sysctl -qw net.ipv4.ip_unprivileged_port_start=${sysctl?.value};`);
    expect(withSysctl.stdout.trim()).toBe('bound');
  });

  it('still reads NODE_OPTIONS (Node does when CAP_NET_BIND_SERVICE is its only capability), as the Dockerfile says', async () => {
    const limit = `console.log(Error.stackTraceLimit)`;
    const env = { ...process.env, NODE_OPTIONS: '--stack-trace-limit=3' };
    const plain = await run(NODE, ['-e', limit], { env });
    const image = await run('unshare', ['--net', ...asUser([`--bounding-set=${composeBoundingSet()}`]), imageNode(), '-e', limit], { env });
    const unset = await run(NODE, ['-e', limit], { env: { ...process.env, NODE_OPTIONS: '' } });
    expect([unset.stdout.trim(), plain.stdout.trim(), image.stdout.trim()]).toEqual(['10', '3', '3']);
  });
});
