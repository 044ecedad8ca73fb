// The Dockerfile, the configs it and docker-compose.yml use, and the JSON Schema: that every
// path, port, name and command agrees across them. (deploy-image.test.ts runs the image's
// lines; the Kubernetes, systemd, DHCP and monitoring files have their own deploy-*.test.ts.)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { checkConfigText } from '../../src/config/load.ts';
import { listConfigPaths } from '../../src/config/paths.ts';
import { type Config, configSchema } from '../../src/config/schema.ts';
import { loadListDir } from '../../src/lists/list-file.ts';
import { deployConfig, flagValue, imageSpec, portOf, readYaml, readYamlDocuments } from './deploy-support.ts';

const spec = imageSpec();
const CONFIG_IN_IMAGE = flagValue(spec.command, '--config');
const bakedCopy = spec.copies.find((c) => c.dest === CONFIG_IN_IMAGE);
const baked = deployConfig('deploy/docker.yaml');

/** The values at a config path such as "lists.sources[].file" (absent ones left out). */
function valuesAt(config: unknown, key: string): string[] {
  let current: unknown[] = [config];
  for (const part of key.split('.')) {
    const name = part.replace('[]', '');
    current = current.map((c) => (c as Record<string, unknown> | undefined)?.[name]).flatMap((v) => (part.endsWith('[]') && Array.isArray(v) ? v : [v]));
  }
  return current.filter((v): v is string => typeof v === 'string');
}

/** Every file or directory a config names, with its key. */
function configPaths(config: Config): [string, string][] {
  return listConfigPaths(configSchema).flatMap((key) => valuesAt(config, key).map((value) => [key, value] as [string, string]));
}

/** Directories the config writes to: the state paths (everything but the shipped lists). */
function stateDirs(config: Config): [string, string][] {
  return configPaths(config)
    .filter(([key]) => key !== 'lists.dir')
    .map(([key, value]) => [key, key.endsWith('_file') ? dirname(value) : value]);
}

/** Directories the final stage's RUN lines create and hand to the image's user. */
function ownedByImageUser(): string[] {
  const run = spec.runs.join(' && ');
  const created = /mkdir -p ((?:\/\S+\s*)+)/.exec(run)?.[1]?.trim().split(/\s+/) ?? [];
  const chowned = /chown -R (\S+) (\S+)/.exec(run);
  expect(chowned?.[1]).toBe('dnsward:dnsward');
  return created.filter((dir) => dir.startsWith(`${chowned?.[2]}/`));
}

describe('Dockerfile', () => {
  it('copies only paths that exist in the repository', () => {
    const copies = spec.copies.filter((c) => c.from === undefined);
    expect(copies.length).toBeGreaterThan(3);
    for (const copy of copies) for (const source of copy.sources) expect(existsSync(source), source).toBe(true);
    // The build stage compiles dist/ (npm ci runs `prepare`) and builds the datagram and hash addons (`build:addon`).
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepare).toBe('npm run build');
    expect(pkg.scripts['build:addon']).toContain('native/build.ts');
    expect(spec.copies.filter((c) => c.from === 'build').map((c) => c.sources[0])).toEqual(['/app/node_modules', '/app/dist', '/app/native/build/Release/dnsward_datagram.node', '/app/native/build/Release/dnsward_hash.node']);
  });

  it('runs bin/dnsward serve with the config it bakes in, and the health check reads that same config', () => {
    expect(bakedCopy?.sources).toEqual(['deploy/docker.yaml']);
    expect(spec.command).toEqual([`${spec.workdir}/bin/dnsward`, 'serve', '--config', CONFIG_IN_IMAGE]);
    expect(spec.healthcheck.command).toEqual([`${spec.workdir}/bin/dnsward-healthcheck`, CONFIG_IN_IMAGE]);
    expect(spec.copies.find((c) => c.sources.includes('bin'))?.dest).toBe('./bin');
    // No port in the health check: it reads api.listen from the config.
    expect(readFileSync('Dockerfile', 'utf8').split('\n').find((l) => l.startsWith('HEALTHCHECK'))).not.toMatch(/805\d|:\d{2,5}\b/);
    expect(Number.parseInt(spec.healthcheck.options['timeout'] ?? '', 10)).toBeGreaterThanOrEqual(3);
  });

  it('exposes exactly the public ports the baked config listens on (DNS on 53 over UDP and TCP, the feed), not the loopback API', () => {
    const dnsPorts = [...new Set(baked.dns.listen.map(portOf))];
    expect(dnsPorts).toEqual([53]);
    const expected = [...dnsPorts.flatMap((port) => [`${port}/udp`, `${port}/tcp`]), `${portOf(baked.http.listen)}/tcp`];
    expect(spec.expose.map((e) => `${e.port}/${e.protocol}`).sort()).toEqual(expected.sort());
    expect(baked.api.listen.startsWith('127.0.0.1:')).toBe(true);
  });

  it('binds port 53 as a non-root user through CAP_NET_BIND_SERVICE on node, not as root', () => {
    expect(spec.user.uid).toBeGreaterThan(0);
    expect(spec.runs.join(' ')).toContain('setcap cap_net_bind_service=+ep /usr/local/bin/node');
    expect(spec.runs.join(' ')).toContain(`useradd --uid ${spec.user.uid} --gid dnsward`);
    expect(spec.runs.join(' ')).toContain(`groupadd --gid ${spec.user.gid} dnsward`);
  });

  it('keeps the baked config\'s paths absolute, its state in volumes the image creates for its user, and the config, keys and block log as volumes', () => {
    const paths = configPaths(baked);
    expect(paths.map(([key]) => key)).toEqual(expect.arrayContaining(['lists.dir', 'lists.cache_dir', 'audit.dir', 'audit.signing_key_file', 'audit.pseudonym_secret_file', 'lists.signing_key_file']));
    for (const [key, value] of paths) expect(isAbsolute(value), `${key}: ${value} (relative would mean /etc/dnsward)`).toBe(true);
    expect(baked.lists.dir).toBe(`${spec.workdir}/lists`);
    const owned = ownedByImageUser();
    for (const [key, dir] of stateDirs(baked)) {
      expect(owned, `${key}: ${dir}`).toContain(dir);
      expect(spec.volumes, `${key}: ${dir}`).toContain(dir);
    }
    expect(spec.volumes).toContain(dirname(CONFIG_IN_IMAGE));
    expect(spec.volumes).toContain(dirname(baked.audit.signing_key_file));
    expect(spec.volumes).toContain(baked.audit.dir);
    // Key files stay outside the block log's directory (docs/AUDIT.md).
    expect(baked.audit.signing_key_file.startsWith(`${baked.audit.dir}/`)).toBe(false);
  });

  it('.dockerignore leaves out nothing the Dockerfile copies', () => {
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    for (const copy of spec.copies.filter((c) => c.from === undefined)) {
      for (const source of copy.sources) expect(ignored.filter((pattern) => source === pattern || source.startsWith(`${pattern}/`)), source).toEqual([]);
    }
  });
});

interface ComposeService {
  build?: string;
  image?: string;
  hostname?: string;
  volumes?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  cap_drop?: string[];
  cap_add?: string[];
  read_only?: boolean;
}

describe('docker-compose.yml', () => {
  const compose = readYaml<{ services: Record<string, ComposeService>; volumes: Record<string, unknown> }>('docker-compose.yml');
  const replicas = Object.entries(compose.services).filter(([name]) => name.startsWith('dnsward-'));
  const configMount = (service: ComposeService) => service.volumes?.find((v) => v.split(':')[1] === CONFIG_IN_IMAGE) as string;
  const configFile = (service: ComposeService) => configMount(service).split(':')[0]?.replace(/^\.\//, '') as string;

  it('runs two replicas of the image with fixed, distinct instance names (their host names), plus Redis', () => {
    expect(replicas.map(([name]) => name)).toEqual(['dnsward-a', 'dnsward-b']);
    expect(Object.keys(compose.services)).toContain('redis');
    for (const [name, service] of replicas) {
      expect(service.build, name).toBe('.');
      expect(service.hostname, name).toBe(name);
      // The instance name comes from the host name only if the config does not set one.
      expect((parse(readFileSync(configFile(service), 'utf8')) as Record<string, unknown>).instance, name).toBeUndefined();
    }
  });

  it('mounts a config that validates (with its tokens from the environment) and names only lists that exist', async () => {
    const known = new Set((await loadListDir('lists')).map((l) => l.name));
    for (const [name, service] of replicas) {
      expect(configMount(service), name).toMatch(/:ro$/);
      const file = configFile(service);
      const env = Object.fromEntries(Object.keys(service.environment ?? {}).map((k) => [k, 'x'.repeat(48)]));
      const { config } = checkConfigText(readFileSync(file, 'utf8'), file, { service: { env } });
      for (const segment of config.segments) for (const list of segment.lists) expect(known.has(list), `${file}: ${list}`).toBe(true);
      // Every token the config names comes from the environment, and compose refuses to start without it.
      for (const token of config.auth.tokens) expect(service.environment?.[token.token_env as string], token.name).toMatch(new RegExp(`^\\$\\{${token.token_env}:\\?`));
    }
  });

  it('gives each replica its own volumes for keys and block log, shares the fleet secrets, and every state path is on a volume (read_only root)', () => {
    const owned = ownedByImageUser();
    const named = (service: ComposeService) => new Map((service.volumes ?? []).filter((v) => !v.startsWith('.')).map((v) => [v.split(':')[1] as string, v.split(':')[0] as string]));
    const [a, b] = replicas.map(([, service]) => named(service));
    for (const [name, service] of replicas) {
      expect(service.read_only, name).toBe(true);
      const config = deployConfig(configFile(service));
      const volumes = named(service);
      for (const [key, dir] of stateDirs(config)) {
        expect(volumes.has(dir), `${name} ${key}: ${dir} must be a volume`).toBe(true);
        // A named volume starts as a copy of the image's directory: it must exist there, owned by the user.
        expect(owned, `${name} ${key}: ${dir}`).toContain(dir);
      }
      for (const volume of volumes.values()) expect(Object.keys(compose.volumes)).toContain(volume);
    }
    const config = deployConfig(configFile(replicas[0]?.[1] as ComposeService));
    for (const dir of [config.audit.dir, dirname(config.audit.signing_key_file)]) expect(a?.get(dir)).not.toBe(b?.get(dir));
    const fleetDirs = [dirname(config.lists.signing_key_file), dirname(config.audit.pseudonym_secret_file)];
    for (const dir of fleetDirs) expect(a?.get(dir)).toBe(b?.get(dir));
    // Nothing else is shared: no replica mounts another's volume anywhere.
    const shared = [...(a?.values() ?? [])].filter((v) => [...(b?.values() ?? [])].includes(v));
    expect(shared).toEqual([...new Set(fleetDirs.map((dir) => a?.get(dir)))]);
  });

  it('publishes the ports the config listens on: DNS on UDP and TCP, the feed, the private listener on loopback only', () => {
    const hostPorts = new Set<string>();
    for (const [name, service] of replicas) {
      const config = deployConfig(configFile(service));
      const container = (p: string) => p.split(':').at(-1) as string;
      const dns = portOf(config.dns.listen[0] as string);
      expect(service.ports?.map(container).sort(), name).toEqual([`${dns}/tcp`, `${dns}/udp`, `${portOf(config.http.listen)}/tcp`, `${portOf(config.api.listen)}/tcp`].sort());
      const api = service.ports?.find((p) => container(p) === `${portOf(config.api.listen)}/tcp`);
      expect(api?.startsWith('127.0.0.1:'), name).toBe(true);
      for (const port of service.ports ?? []) {
        const host = port.split(':').slice(0, -1).join(':');
        expect(hostPorts.has(`${host}/${port.split('/')[1]}`), `${name}: ${port} is published twice`).toBe(false);
        hostPorts.add(`${host}/${port.split('/')[1]}`);
      }
    }
    expect(replicas[0]?.[1].ports).toContain('53:53/udp');
  });

  it('checks health with the image\'s own command, drops every capability but NET_BIND_SERVICE, and waits for a healthy Redis', () => {
    const redis = compose.services.redis as ComposeService;
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    for (const [name, service] of replicas) {
      expect(service.healthcheck?.test, name).toEqual(['CMD', ...spec.healthcheck.command]);
      expect(service.cap_drop, name).toEqual(['ALL']);
      expect(service.cap_add, name).toEqual(['NET_BIND_SERVICE']);
      expect(service.depends_on?.redis?.condition, name).toBe('service_healthy');
      const config = deployConfig(configFile(service));
      expect(config.redis?.url).toBe('redis://redis:6379/0');
    }
  });
});

/** Every dnsward config in the deploy files: standalone ones and the one inside the Kubernetes ConfigMap. */
function allConfigs(): { file: string; text: string }[] {
  const standalone = ['deploy/dnsward.yaml', 'deploy/docker.yaml', 'deploy/compose-dnsward.yaml', 'deploy/systemd/dnsward.yaml', 'deploy/dnsward.reference.yaml'];
  const configMap = readYamlDocuments('deploy/kubernetes/configmap.yaml')[0] as { data: Record<string, string> };
  return [...standalone.map((file) => ({ file, text: readFileSync(file, 'utf8') })), { file: 'deploy/kubernetes/configmap.yaml (dnsward.yaml)', text: configMap.data['dnsward.yaml'] as string }];
}

describe('every dnsward config under deploy/', () => {
  it('is what serve would accept (tokens set), and each standalone file names the schema for editors', () => {
    const yamlFiles = readdirSync('deploy', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml'));
    const configs = allConfigs();
    // Every .yaml under deploy/ is a dnsward config, or a Kubernetes manifest.
    for (const f of yamlFiles) expect(f.startsWith('kubernetes/') || configs.some((c) => c.file === `deploy/${f}`), f).toBe(true);
    for (const { file, text } of configs) {
      const env = { DNSWARD_AUDIT_TOKEN: 'a'.repeat(48), DNSWARD_ADMIN_TOKEN: 'b'.repeat(48) };
      const checked = checkConfigText(text, file, { service: { env } });
      expect(checked.warnings, file).toEqual([]);
      if (!file.includes('kubernetes')) {
        const schemaPath = file.split('/').length > 2 ? '../dnsward.schema.json' : 'dnsward.schema.json';
        expect(text.split('\n')[0], file).toBe(`# yaml-language-server: $schema=${schemaPath}`);
      }
    }
  });

  it('listens on the same ports everywhere: DNS 53 (1053 for npm start), the feed 8053, the private listener 8054', () => {
    for (const { file, text } of allConfigs().filter((c) => !c.file.includes('reference'))) {
      const config = deployConfig(file, text);
      const dns = file === 'deploy/dnsward.yaml' ? 1053 : 53;
      expect([...new Set(config.dns.listen.map(portOf))], file).toEqual([dns]);
      expect(portOf(config.http.listen), file).toBe(8053);
      expect(portOf(config.api.listen), file).toBe(8054);
      // A private listener other hosts can reach carries tokens only with TLS or the explicit opt-in.
      if (!config.api.listen.startsWith('127.0.0.1:')) expect(config.api.plain_http_tokens || config.api.tls !== undefined, file).toBe(true);
    }
  });
});

describe('JSON Schema (deploy/dnsward.schema.json)', () => {
  // Validated from the committed JSON Schema itself (not the zod schema it came from), as an
  // editor or a CI pipeline would.
  const jsonSchema = z.fromJSONSchema(JSON.parse(readFileSync('deploy/dnsward.schema.json', 'utf8')) as Parameters<typeof z.fromJSONSchema>[0]);

  it('accepts every config under deploy/', () => {
    for (const { file, text } of allConfigs()) {
      const result = jsonSchema.safeParse(parse(text));
      expect(result.error?.issues ?? [], file).toEqual([]);
    }
  });

  it('refuses an unknown key, a bad value and a missing segment list, like dnsward does', () => {
    const good = parse(readFileSync('deploy/dnsward.yaml', 'utf8')) as Record<string, Record<string, unknown>>;
    const issues = (change: (c: Record<string, Record<string, unknown>>) => void): string[] => {
      const copy = structuredClone(good);
      change(copy);
      return (jsonSchema.safeParse(copy).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.code}`);
    };
    expect(issues((c) => (c.dns = { ...c.dns, listne: [] }))).toEqual(['dns: unrecognized_keys']);
    expect(issues((c) => ((c.segments as unknown as Record<string, unknown>[])[0]!.action = 'deny'))).toEqual(['segments.0.action: invalid_value']);
    expect(issues((c) => delete c.segments)).toEqual(['segments: invalid_type']);
    expect(issues((c) => (c.audit = { ...c.audit, flush_interval_ms: 5000 }))).toEqual(['audit.flush_interval_ms: too_big']);
  });
});
