// bin/dnsward-healthcheck, the image's HEALTHCHECK command, against a real `dnsward serve`
// running the image's config with what this machine needs changed (free loopback ports,
// state in a temporary directory, the repository's lists, a stub upstream): exit 0 when ready,
// 1 when not, over HTTP and HTTPS, and the same port as the app for every way of writing
// api.listen. (deploy-image.test.ts runs it in the image's model with the config unchanged.)
import { spawn } from 'node:child_process';
import { createServer as createHttpServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import { DEFAULT_PORTS } from '../../src/config/sections/http.ts';
import { type HostPort, parseHostPort } from '../../src/util/address.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';
import { flagValue, imageSpec, run, waitFor } from './deploy-support.ts';
import { freeUdpTcpPort } from '../helpers/free-port.ts';

const spec = imageSpec();
const [HEALTHCHECK, IMAGE_CONFIG] = spec.healthcheck.command as [string, string];
// The command names the script inside the image (/app/bin/...); here it is the checkout's.
const SCRIPT = resolve(HEALTHCHECK.replace(`${spec.workdir}/`, ''));
let dir: string;
let upstream: StubUpstream;

beforeAll(async () => {
  expect(flagValue(spec.command, '--config')).toBe(IMAGE_CONFIG);
  dir = await mkdtemp(join(tmpdir(), 'dnsward-healthcheck-'));
  upstream = await new StubUpstream().start();
});
afterAll(async () => {
  await upstream?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});


/** The image's config (deploy/docker.yaml), with only what this machine needs changed. */
async function imageConfigHere(name: string, api: Record<string, unknown>): Promise<string> {
  const config = parse(await readFile('deploy/docker.yaml', 'utf8')) as Record<string, Record<string, unknown>>;
  const state = join(dir, name);
  config.dns = { ...config.dns, listen: [`127.0.0.1:${await freeUdpTcpPort()}`] };
  config.upstreams = [`127.0.0.1:${upstream.port}`] as never;
  config.http = { ...config.http, listen: '127.0.0.1:0' };
  config.api = { ...config.api, ...api };
  config.lists = { ...config.lists, dir: resolve('lists'), cache_dir: join(state, 'lists'), signing_key_file: join(state, 'keys/list-signing.key') };
  config.audit = { ...config.audit, dir: join(state, 'audit'), signing_key_file: join(state, 'keys/audit-signing.key'), pseudonym_secret_file: join(state, 'keys/pseudonym.key') };
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, stringify(config));
  return file;
}

function healthcheck(config: string) {
  return run(SCRIPT, [config], { timeoutMs: 10_000 });
}

/** `dnsward serve` as a child process; resolves once it logged "dnsward ready". */
async function serve(config: string) {
  const child = spawn(process.execPath, [resolve('bin/dnsward'), 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  await waitFor('dnsward ready', async () => {
    if (child.exitCode !== null) throw new Error(output);
    return output.includes('dnsward ready') ? true : undefined;
  });
  return {
    stop: async () => {
      child.kill('SIGTERM');
      return new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', r)));
    },
  };
}

describe('the HEALTHCHECK command (bin/dnsward-healthcheck)', () => {
  it('exits 1 before the replica listens, 0 once /readyz answers 200, and 1 again after it stopped', async () => {
    const config = await imageConfigHere('plain', { listen: `127.0.0.1:${await freeUdpTcpPort()}` });
    const before = await healthcheck(config);
    expect(before.code).toBe(1);
    expect(before.stderr).toMatch(/^not ready: http:\/\/127\.0\.0\.1:\d+\/readyz: connect ECONNREFUSED/);
    const replica = await serve(config);
    try {
      const ready = await healthcheck(config);
      expect(ready.stderr).toBe('');
      expect(ready.code).toBe(0);
      expect(ready.stdout.trim()).toBe(`ready: http://${parseConfig(await readFile(config, 'utf8')).api.listen}/readyz 200`);
    } finally {
      expect(await replica.stop()).toBe(0);
    }
    expect((await healthcheck(config)).code).toBe(1);
  });

  it('speaks HTTPS when api.tls is set (a self-signed certificate for another name is fine: it checks itself)', async () => {
    const key = join(dir, 'tls.key');
    const cert = join(dir, 'tls.crt');
    const made = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=dnsward.example']);
    expect(made.code, made.stderr).toBe(0);
    const config = await imageConfigHere('tls', { listen: `127.0.0.1:${await freeUdpTcpPort()}`, tls: { cert_file: cert, key_file: key } });
    const replica = await serve(config);
    try {
      const ready = await healthcheck(config);
      expect(ready.stdout.trim()).toMatch(/^ready: https:\/\/127\.0\.0\.1:\d+\/readyz 200$/);
      expect(ready.code).toBe(0);
    } finally {
      expect(await replica.stop()).toBe(0);
    }
  });

  it('exits 1 on any answer but 200, and on a listener that never answers, within the HEALTHCHECK timeout', async () => {
    const port = await freeUdpTcpPort();
    const config = await imageConfigHere('fake', { listen: `127.0.0.1:${port}` });
    let hang = false;
    const server: Server = createHttpServer((request, response) => {
      if (hang) return;
      response.writeHead(request.url === '/readyz' ? 503 : 404).end('{"ready":false}');
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const unready = await healthcheck(config);
      expect([unready.code, unready.stderr.trim()]).toEqual([1, `not ready: http://127.0.0.1:${port}/readyz answered 503`]);
      hang = true;
      const started = Date.now();
      const silent = await healthcheck(config);
      expect(silent.code).toBe(1);
      expect(silent.stderr).toContain('no answer within');
      expect(Date.now() - started).toBeLessThan(Number.parseInt(spec.healthcheck.options['timeout'] ?? '3', 10) * 1000);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('probes the address the app binds for every way of writing api.listen, defaults included', async () => {
    const cases: [string, string][] = [
      ['', 'http://127.0.0.1:8054/readyz'],
      ['api: { listen: "0.0.0.0:9000" }', 'http://127.0.0.1:9000/readyz'],
      ['api: { listen: "[::]:9001", tls: { cert_file: c.pem, key_file: k.pem } }', 'https://127.0.0.1:9001/readyz'],
      ['api: { listen: "[::1]:9002" }', 'http://[::1]:9002/readyz'],
      ['api: { listen: "127.0.0.2" }', 'http://127.0.0.2:8054/readyz'],
    ];
    for (const [api, expected] of cases) {
      const file = join(dir, 'print-url.yaml');
      const text = `segments: [{ name: default, networks: ["0.0.0.0/0"], action: allow }]\n${api}\n`;
      await writeFile(file, text);
      const printed = await run(SCRIPT, ['--print-url', file]);
      expect(printed.stdout.trim(), api).toBe(expected);
      // The app's own reading of the same text (src/app.ts binds parseHostPort(listen, DEFAULT_PORTS.api)).
      const bound = parseHostPort(parseConfig(text).api.listen, DEFAULT_PORTS.api) as HostPort;
      expect(expected, api).toContain(`:${bound.port}/readyz`);
    }
    await writeFile(join(dir, 'off.yaml'), 'api: { enabled: false }\n');
    const off = await run(SCRIPT, [join(dir, 'off.yaml')]);
    expect([off.code, off.stderr]).toEqual([1, expect.stringContaining('api.enabled is false')]);
  });
});
