// Docker cannot run here, so check what can be checked: every path the Dockerfile copies
// exists, the baked and compose configs validate (also against the JSON Schema), their
// state paths exist in the image, and ports line up across the files.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { parseConfig } from '../../src/config/load.ts';
import { listConfigPaths } from '../../src/config/paths.ts';
import { configSchema } from '../../src/config/schema.ts';
import { loadListDir } from '../../src/lists/list-file.ts';

const dockerfile = readFileSync('Dockerfile', 'utf8');
const instructions = dockerfile.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));

describe('Dockerfile', () => {
  it('copies only paths that exist in the repository', () => {
    const copies = instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from='));
    expect(copies.length).toBeGreaterThan(3);
    for (const line of copies) {
      const parts = line.split(/\s+/).slice(1);
      for (const source of parts.slice(0, -1)) expect(existsSync(source), `${line}: ${source}`).toBe(true);
    }
  });

  it('runs bin/dnsward serve with the config it bakes in', () => {
    expect(dockerfile).toContain('COPY deploy/docker.yaml /etc/dnsward/dnsward.yaml');
    expect(dockerfile).toContain('ENTRYPOINT ["/app/bin/dnsward"]');
    expect(dockerfile).toContain('CMD ["serve", "--config", "/etc/dnsward/dnsward.yaml"]');
    expect(existsSync('bin/dnsward')).toBe(true);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepare).toContain('build');
  });

  it('exposes the ports the baked config listens on, and the health check uses the private API port', () => {
    const config = parseConfig(readFileSync('deploy/docker.yaml', 'utf8'), 'deploy/docker.yaml');
    const dnsPorts = new Set(config.dns.listen.map((l) => l.split(':').at(-1)));
    const httpPort = config.http.listen.split(':').at(-1);
    for (const port of dnsPorts) {
      expect(dockerfile).toMatch(new RegExp(`EXPOSE .*${port}/udp`));
      expect(dockerfile).toMatch(new RegExp(`EXPOSE .*${port}/tcp`));
    }
    expect(dockerfile).toMatch(new RegExp(`EXPOSE .*${httpPort}/tcp`));
    const apiPort = config.api.listen.split(':').at(-1);
    expect(dockerfile).toContain(`127.0.0.1:${apiPort}/readyz`);
  });

  it('keeps every path of the baked config absolute, and its state in directories the image creates for the node user', () => {
    const config = parseConfig(readFileSync('deploy/docker.yaml', 'utf8'), 'deploy/docker.yaml');
    const created = /mkdir -p ([^&]+)&& chown -R node:node \/var\/lib\/dnsward/.exec(dockerfile)?.[1]?.trim().split(/\s+/) ?? [];
    expect(created.length).toBeGreaterThan(0);
    const paths = listConfigPaths(configSchema).flatMap((key) => valuesAt(config, key).map((value) => [key, value] as const));
    expect(paths.map(([key]) => key)).toEqual(expect.arrayContaining(['lists.dir', 'lists.cache_dir', 'audit.dir', 'audit.signing_key_file', 'audit.pseudonym_secret_file']));
    for (const [key, value] of paths) {
      // Relative paths would resolve against /etc/dnsward, which the node user cannot write.
      expect(isAbsolute(value), `${key}: ${value}`).toBe(true);
      if (key === 'lists.dir') {
        expect(value).toBe('/app/lists');
        expect(dockerfile).toContain('COPY lists ./lists');
        continue;
      }
      const dir = key.endsWith('_file') ? dirname(value) : value;
      expect(created, `${key}: ${value} must be created by the Dockerfile`).toContain(dir);
      expect(dir.startsWith('/var/lib/dnsward/'), `${key}: ${value}`).toBe(true);
    }
  });
});

/** The values at a config path such as "lists.sources[].file" (absent ones left out). */
function valuesAt(config: unknown, key: string): string[] {
  let current: unknown[] = [config];
  for (const part of key.split('.')) {
    const name = part.replace('[]', '');
    current = current.map((c) => (c as Record<string, unknown> | undefined)?.[name]).flatMap((v) => (part.endsWith('[]') && Array.isArray(v) ? v : [v]));
  }
  return current.filter((v): v is string => typeof v === 'string');
}

describe('compose', () => {
  const compose = parse(readFileSync('deploy/compose.yaml', 'utf8')) as {
    services: Record<string, { build?: string; volumes?: string[]; ports?: string[]; environment?: Record<string, string> }>;
  };

  it('mounts a config that validates and names only lists that exist', async () => {
    process.env.DNSWARD_AUDIT_TOKEN ??= 'test-token';
    const known = new Set((await loadListDir('lists')).map((l) => l.name));
    for (const [name, service] of Object.entries(compose.services).filter(([n]) => n.startsWith('dnsward'))) {
      expect(service.build, name).toBe('..');
      const mount = service.volumes?.find((v) => v.endsWith(':/etc/dnsward/dnsward.yaml:ro'));
      expect(mount, name).toBeDefined();
      const file = `deploy/${(mount as string).split(':')[0]?.replace('./', '')}`;
      const config = parseConfig(readFileSync(file, 'utf8'), file);
      for (const segment of config.segments) for (const list of segment.lists) expect(known.has(list), `${file}: ${list}`).toBe(true);
      expect(config.redis?.url).toBe('redis://redis:6379/0');
      for (const port of service.ports ?? []) expect(port, name).toMatch(/:(1053\/(udp|tcp)|8053)$/);
      // One volume per replica over all of its state: block log, its keys, cached sources.
      expect(service.volumes, name).toContainEqual(expect.stringMatching(/^state-[ab]:\/var\/lib\/dnsward$/));
      expect(config.audit.signing_key_file.startsWith('/var/lib/dnsward/')).toBe(true);
    }
  });
});

describe('JSON Schema (deploy/dnsward.schema.json)', () => {
  // Validated from the committed JSON Schema itself (not the zod schema it came from), as an
  // editor or a CI pipeline would.
  const jsonSchema = z.fromJSONSchema(JSON.parse(readFileSync('deploy/dnsward.schema.json', 'utf8')) as Parameters<typeof z.fromJSONSchema>[0]);
  const configFiles = readdirSync('deploy')
    .filter((f) => f.endsWith('.yaml') && f !== 'compose.yaml')
    .map((f) => `deploy/${f}`);

  it('accepts every config in deploy/, and each names the schema for editors', () => {
    expect(configFiles).toEqual(expect.arrayContaining(['deploy/dnsward.yaml', 'deploy/docker.yaml', 'deploy/compose-dnsward.yaml', 'deploy/dnsward.reference.yaml']));
    for (const file of configFiles) {
      const text = readFileSync(file, 'utf8');
      expect(text.split('\n')[0], file).toBe('# yaml-language-server: $schema=dnsward.schema.json');
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
