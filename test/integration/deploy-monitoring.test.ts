// The Prometheus scrape configs, alert rules and Grafana dashboard against what a real replica
// serves: every dnsward_* metric they query is in its /metrics, the scrape targets are its
// private port, and (where promtool is installed) Prometheus itself accepts the files and the
// rules' unit tests pass.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, testConfig, type TestServer } from '../helpers/dnsward-server.ts';
import { StubUpstream } from '../helpers/stub-upstream.ts';
import { deployConfig, haveProgram, portOf, readYaml, readYamlDocuments, run } from './deploy-support.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- dashboards and rule files are untyped data; each access is asserted */
type Json = Record<string, any>;

let upstream: StubUpstream;
let server: TestServer;
/** Every sample name the replica's /metrics can carry. */
const served = new Set<string>();

beforeAll(async () => {
  upstream = await new StubUpstream().start();
  server = await startTestServer(testConfig(upstream.port));
  const text = await (await fetch(`http://127.0.0.1:${server.app.api?.port}/metrics`)).text();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    served.add(name as string);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) served.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) served.add(`${name}${suffix}`);
  }
});
afterAll(async () => {
  await server?.stop();
  await upstream?.stop();
});

const metricNames = (expr: string) => [...expr.matchAll(/\bdnsward_[a-z0-9_]+/g)].map((m) => m[0]);

const rules = readYaml<{ groups: { rules: { alert: string; expr: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[] }>('deploy/prometheus/dnsward-alerts.yml').groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync('deploy/grafana/dnsward-dashboard.json', 'utf8')) as Json;
const panels = (dashboard.panels as Json[]).filter((p) => p.type !== 'row');

describe('alert rules (deploy/prometheus/dnsward-alerts.yml)', () => {
  it('query only metrics a replica serves', () => {
    expect(served.size).toBeGreaterThan(20);
    for (const rule of rules) {
      const names = metricNames(rule.expr);
      expect(names.length > 0 || /\bup\{/.test(rule.expr), rule.alert).toBe(true);
      for (const name of names) expect(served.has(name), `${rule.alert}: ${name}`).toBe(true);
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels.severity);
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
    }
  });

  it('alert on upstreams down, the block log piling up, and stale lists', () => {
    const byMetric = (metric: string) => rules.filter((r) => metricNames(r.expr).includes(metric)).map((r) => r.alert);
    expect(byMetric('dnsward_upstream_up')).toEqual(['DnswardUpstreamsDown', 'DnswardUpstreamDown']);
    expect(byMetric('dnsward_audit_buffered_events')).toEqual(['DnswardBlockLogSpoolGrowing']);
    expect(byMetric('dnsward_audit_write_errors_total')).toEqual(['DnswardBlockLogWriteErrors']);
    expect(byMetric('dnsward_audit_dropped_total')).toEqual(['DnswardBlockLogDropping']);
    expect(byMetric('dnsward_list_source_stale')).toEqual(['DnswardListStale']);
  });
});

describe('Grafana dashboard (deploy/grafana/dnsward-dashboard.json)', () => {
  it('queries only metrics a replica serves, through its data source variable', () => {
    const queries = [...panels.flatMap((p) => (p.targets as Json[]).map((t) => [p.title, t.expr] as [string, string])), ['instance variable', dashboard.templating.list.find((v: Json) => v.name === 'instance').query.query]];
    expect(queries.length).toBeGreaterThan(20);
    for (const [title, expr] of queries) {
      const names = metricNames(expr);
      expect(names.length, `${title}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(served.has(name), `${title}: ${name}`).toBe(true);
    }
    for (const p of panels) expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
    expect(dashboard.templating.list.find((v: Json) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
  });

  it('shows the metrics the issue names: queries by segment and outcome, upstream health, the block log, lists, cache, rate limits, policy generation', () => {
    const queried = new Set(panels.flatMap((p) => (p.targets as Json[]).flatMap((t) => metricNames(t.expr))));
    for (const name of ['dnsward_queries_total', 'dnsward_upstream_up', 'dnsward_audit_buffered_events', 'dnsward_audit_write_errors_total', 'dnsward_audit_dropped_total', 'dnsward_list_source_stale', 'dnsward_list_entries', 'dnsward_cache_lookups_total', 'dnsward_cache_entries', 'dnsward_ratelimited_total', 'dnsward_policy_generation']) {
      expect(queried.has(name), name).toBe(true);
    }
  });

  it('lays its panels out on the 24-column grid without overlaps, with unique ids', () => {
    const all = dashboard.panels as Json[];
    expect(new Set(all.map((p) => p.id)).size).toBe(all.length);
    const cells = new Set<string>();
    for (const p of all) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w, p.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`), `${p.title} overlaps at ${i},${j}`).toBe(false);
          cells.add(`${i},${j}`);
        }
      }
    }
  });
});

describe('scrape configs (deploy/prometheus/)', () => {
  it('scrape /metrics on the private port of the compose replicas, by their names', () => {
    const compose = readYaml<{ services: Record<string, { hostname?: string }> }>('docker-compose.yml');
    const config = deployConfig('deploy/compose-dnsward.yaml');
    const job = readYaml<{ scrape_configs: Json[] }>('deploy/prometheus/prometheus.yml').scrape_configs.find((j) => j.job_name === 'dnsward') as Json;
    expect(job.metrics_path).toBe('/metrics');
    const targets = job.static_configs.flatMap((s: Json) => s.targets) as string[];
    expect(targets).toEqual(Object.values(compose.services).flatMap((s) => (s.hostname ? [`${s.hostname}:${portOf(config.api.listen)}`] : [])));
  });

  it('scrape every dnsward pod on its container port named "api", the private listener', () => {
    const job = readYaml<{ scrape_configs: Json[] }>('deploy/prometheus/prometheus-kubernetes.yml').scrape_configs[0] as Json;
    expect(job.metrics_path).toBe('/metrics');
    expect(job.kubernetes_sd_configs[0].namespaces.names).toEqual(['dnsward']);
    const keep = Object.fromEntries((job.relabel_configs as Json[]).filter((r) => r.action === 'keep').map((r) => [r.source_labels[0], r.regex]));
    const deployment = readYamlDocuments('deploy/kubernetes/dnsward.yaml').find((d) => d.kind === 'Deployment') as Json;
    const pod = deployment.spec.template;
    expect(pod.metadata.labels['app.kubernetes.io/name']).toBe(keep.__meta_kubernetes_pod_label_app_kubernetes_io_name);
    const port = pod.spec.containers[0].ports.find((p: Json) => p.name === keep.__meta_kubernetes_pod_container_port_name);
    const configMap = readYamlDocuments('deploy/kubernetes/configmap.yaml')[0] as Json;
    expect(port.containerPort).toBe(portOf(deployConfig('configmap', configMap.data['dnsward.yaml']).api.listen));
  });
});

// .ci/run unpacks promtool (never installs the Prometheus service); without it only the parsers above check the files.
describe('promtool (Prometheus\'s own checker)', async () => {
  const promtool = await haveProgram('promtool');
  it.runIf(promtool)('accepts the scrape config and the rules, and the rules\' unit tests pass', async () => {
    const check = await run('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml']);
    expect(check.stdout + check.stderr).toContain('SUCCESS: deploy/prometheus/prometheus.yml is valid prometheus config file syntax');
    const rulesCheck = await run('promtool', ['check', 'rules', 'deploy/prometheus/dnsward-alerts.yml']);
    expect(rulesCheck.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    const tests = await run('promtool', ['test', 'rules', 'deploy/prometheus/dnsward-alerts.test.yml']);
    expect(tests.stdout + tests.stderr, tests.stderr).toContain('SUCCESS');
    expect(tests.code).toBe(0);
  });
});
