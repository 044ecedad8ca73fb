// The shape of the source tree: small modules, and tests that mirror src/. A module with
// logic has its unit test at test/unit/<same path>.test.ts; the few that do not are listed
// below with the test that covers them instead (or why none is needed), and that test must
// exist. A new module without a twin fails here until it gets one or a line below.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const MAX_LINES = 400;

/** src path → the test that covers it, or 'types' / 'data' for modules with nothing to run. */
const COVERED_ELSEWHERE: Record<string, string> = {
  'src/app.ts': 'test/integration/replica-reload.test.ts',
  'src/audit/types.ts': 'types',
  'src/audit/verify-types.ts': 'types',
  'src/cli/audit-export.ts': 'test/integration/audit-cli.test.ts',
  'src/cli/audit-verify.ts': 'test/integration/audit-cli.test.ts',
  'src/cli/config-check.ts': 'test/integration/cli.test.ts',
  'src/cli/config-reference.ts': 'test/unit/config/reference.test.ts',
  'src/cli/lists.ts': 'test/integration/lists-feed.test.ts',
  'src/cli/main.ts': 'test/integration/cli.test.ts',
  'src/cli/serve.ts': 'test/integration/cli.test.ts',
  'src/cli/service-config.ts': 'test/integration/cli.test.ts',
  'src/config/schema.ts': 'test/unit/config/load.test.ts',
  'src/config/sections/auth.ts': 'test/unit/config/load.test.ts',
  'src/config/sections/dns.ts': 'test/unit/config/load.test.ts',
  'src/config/sections/http.ts': 'test/integration/replica-http.test.ts',
  'src/config/sections/segments.ts': 'test/unit/config/load.test.ts',
  'src/errors.ts': 'types',
  'src/fleet/fleet.ts': 'test/integration/fleet-lists.test.ts',
  'src/http/app.ts': 'test/integration/replica-http.test.ts',
  'src/http/dashboard/page/api.ts': 'test/integration/dashboard.test.ts',
  'src/http/dashboard/page/chart.ts': 'test/integration/dashboard.test.ts',
  'src/http/dashboard/page/dom.ts': 'test/integration/dashboard.test.ts',
  'src/http/dashboard/page/main.ts': 'test/integration/dashboard.test.ts',
  'src/http/dashboard/page/views.ts': 'test/integration/dashboard.test.ts',
  'src/http/deps.ts': 'types',
  'src/http/feed-thread.ts': 'test/integration/lists-feed.test.ts',
  'src/http/feed-worker.ts': 'test/integration/replica-http.test.ts',
  'src/http/routes/audit.ts': 'test/integration/audit-api.test.ts',
  'src/http/routes/changes.ts': 'test/integration/fleet-lists.test.ts',
  'src/http/routes/dashboard.ts': 'test/integration/dashboard-api.test.ts',
  'src/http/routes/fleet.ts': 'test/integration/fleet-lists.test.ts',
  'src/http/routes/health.ts': 'test/integration/replica-health.test.ts',
  'src/http/routes/list-entries.ts': 'test/integration/fleet-lists.test.ts',
  'src/http/routes/lists.ts': 'test/integration/lists-feed.test.ts',
  'src/http/routes/reload.ts': 'test/integration/replica-reload.test.ts',
  'src/lists/render-worker.ts': 'test/unit/lists/feed.test.ts',
  'src/lists/render/cidr.ts': 'test/unit/lists/render/networks.test.ts',
  'src/lists/render/network-json.ts': 'test/unit/lists/render/networks.test.ts',
  'src/lists/types.ts': 'types',
  'src/pipeline/context.ts': 'types',
  'src/policy/bypass-names.ts': 'data',
  'src/replica/dns-listeners.ts': 'test/unit/server/udp-listener.test.ts',
  'src/replica/dns-worker.ts': 'test/integration/replica-workers.test.ts',
  'src/replica/dns-workers.ts': 'test/integration/replica-workers.test.ts',
  'src/resolver/upstream-transport.ts': 'types',
  'src/state/redis-scripts.ts': 'test/unit/state/redis.test.ts',
  'src/state/types.ts': 'types',
  'src/version.ts': 'data',
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('source layout', () => {
  const files = sources('src');

  it(`keeps every source file at ${MAX_LINES} lines or fewer`, () => {
    const long = files.map((f) => [f, readFileSync(f, 'utf8').split('\n').length] as const).filter(([, lines]) => lines > MAX_LINES);
    expect(long).toEqual([]);
  });

  it('gives every module a unit test at the mirrored path, or names the test that covers it', () => {
    const missing = files.filter((f) => !existsSync(`test/unit/${f.slice('src/'.length, -'.ts'.length)}.test.ts`) && COVERED_ELSEWHERE[f] === undefined);
    expect(missing).toEqual([]);
  });

  it('lists only modules that exist and lack a twin, each covered by a test that exists', () => {
    for (const [file, cover] of Object.entries(COVERED_ELSEWHERE)) {
      expect(existsSync(file), file).toBe(true);
      expect(existsSync(`test/unit/${file.slice('src/'.length, -'.ts'.length)}.test.ts`), `${file} has a twin now: remove its line`).toBe(false);
      if (cover !== 'types' && cover !== 'data') expect(existsSync(cover), `${file} → ${cover}`).toBe(true);
    }
  });
});
