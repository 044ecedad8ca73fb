// Docker cannot run here, so check what can be checked: every path the Dockerfile copies
// exists, the baked and compose configs validate, and ports line up across the files.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
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

  it('exposes the ports the baked config listens on, and the health check uses the HTTP port', () => {
    const config = parseConfig(readFileSync('deploy/docker.yaml', 'utf8'), 'deploy/docker.yaml');
    const dnsPorts = new Set(config.dns.listen.map((l) => l.split(':').at(-1)));
    const httpPort = config.http.listen.split(':').at(-1);
    for (const port of dnsPorts) {
      expect(dockerfile).toMatch(new RegExp(`EXPOSE .*${port}/udp`));
      expect(dockerfile).toMatch(new RegExp(`EXPOSE .*${port}/tcp`));
    }
    expect(dockerfile).toMatch(new RegExp(`EXPOSE .*${httpPort}/tcp`));
    expect(dockerfile).toContain(`127.0.0.1:${httpPort}/readyz`);
    expect(config.audit.dir).toBe('/var/lib/dnsward/audit');
    expect(dockerfile).toContain('mkdir -p /var/lib/dnsward/audit');
  });
});

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
    }
  });
});
