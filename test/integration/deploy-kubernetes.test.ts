// The Kubernetes manifests, parsed (no cluster here): the objects the issue asks for, selectors
// that select, ports, paths and names that agree with the image and the config in the
// ConfigMap, the Secret's template refused as it stands, and every pod within the
// "restricted" Pod Security Standard the namespace enforces.
import { createPrivateKey } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfigText } from '../../src/config/load.ts';
import { flagValue, imageSpec, portOf, readYamlDocuments } from './deploy-support.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are untyped data; each access is asserted */
type Manifest = Record<string, any>;

const files = [...readdirSync('deploy/kubernetes').filter((f) => f.endsWith('.yaml')).map((f) => `deploy/kubernetes/${f}`), 'deploy/kubernetes/secret/dnsward-secret.yaml'];
const manifests: Manifest[] = files.flatMap((f) => readYamlDocuments(f));
const find = (kind: string, name: string): Manifest => {
  const found = manifests.find((m) => m.kind === kind && m.metadata?.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name}`);
  return found;
};
const spec = imageSpec();
const configPath = flagValue(spec.command, '--config');
const deployment = find('Deployment', 'dnsward');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const configMap = find('ConfigMap', 'dnsward-config');
const secret = find('Secret', 'dnsward');
const configText = configMap.data[basename(configPath)] as string;
const config = checkConfigText(configText, 'configmap', { service: { env: { DNSWARD_AUDIT_TOKEN: 'a'.repeat(48), DNSWARD_ADMIN_TOKEN: 'b'.repeat(48) } } }).config;
const mountOf = (path: string) => container.volumeMounts.filter((m: Manifest) => path === m.mountPath || path.startsWith(`${m.mountPath}/`)).sort((a: Manifest, b: Manifest) => b.mountPath.length - a.mountPath.length)[0];
const volume = (name: string) => pod.volumes.find((v: Manifest) => v.name === name);

describe('Kubernetes manifests (deploy/kubernetes/)', () => {
  it('hold a Deployment, Services for DNS over UDP and TCP 53, a ConfigMap, a Secret, a PodDisruptionBudget and Redis, all in the dnsward namespace', () => {
    const apiVersions: Record<string, string> = { Namespace: 'v1', ConfigMap: 'v1', Secret: 'v1', Service: 'v1', Deployment: 'apps/v1', PodDisruptionBudget: 'policy/v1' };
    for (const m of manifests) {
      expect(apiVersions[m.kind], `${m.kind} ${m.metadata?.name}`).toBe(m.apiVersion);
      if (m.kind !== 'Namespace') expect(m.metadata.namespace, `${m.kind} ${m.metadata.name}`).toBe('dnsward');
    }
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual(
      ['Namespace/dnsward', 'ConfigMap/dnsward-config', 'Secret/dnsward', 'Deployment/dnsward', 'Service/dnsward-dns', 'Service/dnsward', 'PodDisruptionBudget/dnsward', 'Deployment/redis', 'Service/redis'].sort(),
    );
    const dns = find('Service', 'dnsward-dns');
    expect(dns.spec.ports.map((p: Manifest) => `${p.port}/${p.protocol}`).sort()).toEqual(['53/TCP', '53/UDP']);
    // Client addresses reach the pods unchanged (segments depend on them).
    expect(dns.spec.externalTrafficPolicy).toBe('Local');
  });

  it('selects what they mean to: Services and the budget match the pods, targetPorts name container ports', () => {
    for (const d of manifests.filter((m) => m.kind === 'Deployment')) {
      const labels = d.spec.template.metadata.labels;
      expect(labels, d.metadata.name).toMatchObject(d.spec.selector.matchLabels);
      const ports = new Set(d.spec.template.spec.containers.flatMap((c: Manifest) => c.ports.map((p: Manifest) => p.name)));
      const services = manifests.filter((m) => m.kind === 'Service' && Object.entries(m.spec.selector).every(([k, v]) => labels[k] === v));
      expect(services.length, d.metadata.name).toBeGreaterThan(0);
      for (const s of services) for (const p of s.spec.ports) expect(ports.has(p.targetPort), `${s.metadata.name} ${p.targetPort}`).toBe(true);
    }
    const budget = find('PodDisruptionBudget', 'dnsward');
    expect(deployment.spec.template.metadata.labels).toMatchObject(budget.spec.selector.matchLabels);
    expect(budget.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    const redis = new URL(config.redis?.url as string);
    expect(find('Service', redis.hostname).spec.ports.map((p: Manifest) => p.port)).toEqual([Number(redis.port)]);
  });

  it('run the image\'s own command on the ConfigMap\'s config, with the ports, probes and state volumes that config needs', () => {
    expect(container.command).toBeUndefined();
    expect(container.args).toBeUndefined();
    const configMount = mountOf(configPath);
    expect(configMount.mountPath).toBe(dirname(configPath));
    expect(volume(configMount.name).configMap.name).toBe('dnsward-config');
    const ports = Object.fromEntries(container.ports.map((p: Manifest) => [p.name, `${p.containerPort}/${p.protocol}`]));
    const dns = portOf(config.dns.listen[0] as string);
    expect(ports).toEqual({ 'dns-udp': `${dns}/UDP`, 'dns-tcp': `${dns}/TCP`, http: `${portOf(config.http.listen)}/TCP`, api: `${portOf(config.api.listen)}/TCP` });
    // The kubelet probes the private listener, on the pod's address.
    expect(config.api.listen.startsWith('0.0.0.0:')).toBe(true);
    expect([container.startupProbe, container.readinessProbe, container.livenessProbe].map((p: Manifest) => `${p.httpGet.port} ${p.httpGet.path}`)).toEqual(['api /readyz', 'api /readyz', 'api /healthz']);
    // The root file system is read-only: whatever the config writes is on a writable volume.
    for (const dir of [config.audit.dir, config.lists.cache_dir]) {
      const mount = mountOf(dir);
      expect(mount?.readOnly, dir).toBeUndefined();
      expect(volume(mount.name).emptyDir, dir).toEqual({});
    }
  });

  it('take tokens and keys from the Secret, whose template dnsward refuses until every placeholder is replaced', () => {
    const envFromSecret = Object.fromEntries(container.env.map((e: Manifest) => [e.name, e.valueFrom.secretKeyRef]));
    for (const token of config.auth.tokens) expect(envFromSecret[token.token_env as string], token.name).toEqual({ name: 'dnsward', key: token.token_env });
    const keyFiles = [config.audit.signing_key_file, config.lists.signing_key_file, config.audit.pseudonym_secret_file];
    for (const file of keyFiles) {
      const mount = mountOf(file);
      expect(mount.readOnly, file).toBe(true);
      const source = volume(mount.name).secret;
      expect(source.secretName).toBe('dnsward');
      expect(source.items.map((i: Manifest) => i.path)).toContain(basename(file));
      expect(Object.keys(secret.stringData)).toContain(basename(file));
    }
    // Owner and group read only; the group is the pod's fsGroup, the image's user's group.
    expect(volume(mountOf(keyFiles[0] as string).name).secret.defaultMode).toBe(0o440);
    expect(pod.securityContext.fsGroup).toBe(spec.user.gid);
    // As shipped, the template cannot be served: tokens too short, keys not keys.
    expect(() => checkConfigText(configText, 'configmap', { service: { env: secret.stringData } })).toThrow(/token_env: environment variable DNSWARD_AUDIT_TOKEN \(token "audit-team"\) has \d+ characters; a token needs at least 24/);
    for (const file of keyFiles.slice(0, 2)) expect(() => createPrivateKey(secret.stringData[basename(file)])).toThrow();
  });

  it('keep every pod within the restricted Pod Security Standard the namespace enforces', () => {
    expect(find('Namespace', 'dnsward').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const safeSysctls = new Set(['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range']);
    for (const d of manifests.filter((m) => m.kind === 'Deployment')) {
      const podSpec = d.spec.template.spec;
      const name = d.metadata.name;
      expect(podSpec.securityContext.runAsNonRoot, name).toBe(true);
      expect(podSpec.securityContext.runAsUser, name).toBeGreaterThan(0);
      expect(podSpec.securityContext.seccompProfile.type, name).toBe('RuntimeDefault');
      expect(podSpec.hostNetwork ?? false, name).toBe(false);
      for (const s of podSpec.securityContext.sysctls ?? []) expect(safeSysctls.has(s.name), s.name).toBe(true);
      for (const v of podSpec.volumes ?? []) expect(v.hostPath, `${name} ${v.name}`).toBeUndefined();
      for (const c of podSpec.containers) {
        expect(c.securityContext.allowPrivilegeEscalation, name).toBe(false);
        expect(c.securityContext.readOnlyRootFilesystem, name).toBe(true);
        expect(c.securityContext.capabilities.drop, name).toEqual(['ALL']);
        expect(c.securityContext.capabilities.add ?? [], name).toEqual(name === 'dnsward' ? ['NET_BIND_SERVICE'] : []);
      }
    }
    // dnsward's pod runs as the image's user, and opens port 53 to it by the namespaced sysctl.
    expect([pod.securityContext.runAsUser, pod.securityContext.runAsGroup]).toEqual([spec.user.uid, spec.user.gid]);
    const portStart = pod.securityContext.sysctls.find((s: Manifest) => s.name === 'net.ipv4.ip_unprivileged_port_start');
    expect(Number(portStart.value)).toBeLessThanOrEqual(portOf(config.dns.listen[0] as string));
  });
});
