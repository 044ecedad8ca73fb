// The DHCP and router-advertisement examples: each hands out the same two replicas, for client
// networks that are segments of the example config (deploy/systemd/dnsward.yaml) and inside its
// dns.allow; and each is accepted by its own server's checker where that is installed (dnsmasq
// is, through .ci/run; kea-dhcp4 and radvd were run by hand, see the report).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { overlaps, rangesOf } from '../../src/config/networks.ts';
import { deployConfig, haveProgram, run } from './deploy-support.ts';

const config = deployConfig('deploy/systemd/dnsward.yaml');
const segmentOf = (network: string) => config.segments.find((s) => s.networks.some((n) => rangesOf([n]).some((r) => rangesOf([network]).every((c) => overlaps(r, c)))) && !s.networks.includes('0.0.0.0/0'));
const inAllow = (network: string) => rangesOf(config.dns.allow).some((a) => rangesOf([network]).every((c) => overlaps(a, c)));

const kea = JSON.parse(readFileSync('deploy/dhcp/kea-dhcp4.json', 'utf8')) as { Dhcp4: { 'option-data': { name: string; data: string }[]; subnet4: { subnet: string }[] } };
const dnsmasq = readFileSync('deploy/dhcp/dnsmasq.conf', 'utf8');
const windows = readFileSync('deploy/dhcp/windows-dhcp.ps1', 'utf8');
const radvd = readFileSync('deploy/dhcp/radvd.conf', 'utf8');

const SERVERS_V4 = (kea.Dhcp4['option-data'].find((o) => o.name === 'domain-name-servers')?.data ?? '').split(/,\s*/);
const SERVERS_V6 = /^dhcp-option=option6:dns-server,(.+)$/m.exec(dnsmasq)?.[1]?.split(',').map((a) => a.replace(/[[\]]/g, '')) ?? [];

describe('DHCP and RA examples (deploy/dhcp/)', () => {
  it('hand out two replicas, the same two in every file, IPv4 and IPv6', () => {
    expect(SERVERS_V4).toHaveLength(2);
    expect(new Set(SERVERS_V4).size).toBe(2);
    expect(/^dhcp-option=option:dns-server,(.+)$/m.exec(dnsmasq)?.[1]?.split(',')).toEqual(SERVERS_V4);
    const windowsLists = [...windows.matchAll(/^Set-DhcpServerv4OptionValue .*-DnsServer (.+)$/gm)].map((m) => m[1]?.split(/,\s*/));
    expect(windowsLists.length).toBe(3);
    for (const list of windowsLists) expect(list).toEqual(SERVERS_V4);
    expect(windows).toContain(`set optionvalue 6 IPADDRESS ${SERVERS_V4.join(' ')}`);
    expect(SERVERS_V6).toHaveLength(2);
    expect(/^\s*RDNSS (.+)$/m.exec(radvd)?.[1]?.trim().split(/\s+/)).toEqual(SERVERS_V6);
  });

  it('serve client networks that are segments of the example config, inside its dns.allow', () => {
    const clientNetworks = [
      ...kea.Dhcp4.subnet4.map((s) => s.subnet),
      ...[...windows.matchAll(/-ScopeId (\S+)/g)].map((m) => `${m[1]}/16`),
      ...[...dnsmasq.matchAll(/^dhcp-range=set:\w+,(\d+\.\d+)\.\d+\.\d+,/gm)].map((m) => `${m[1]}.0.0/16`),
      /^\s*prefix (\S+)$/m.exec(radvd)?.[1] as string,
    ];
    expect(clientNetworks.length).toBe(8);
    for (const network of clientNetworks) {
      expect(segmentOf(network)?.name, network).toMatch(/^(service|personal)$/);
      expect(inAllow(network), network).toBe(true);
    }
    expect(new Set(clientNetworks.map((n) => segmentOf(n)?.name))).toEqual(new Set(['service', 'personal']));
  });

  it('leave DNS to dnsward: dnsmasq runs as DHCP and RA server only, and accepts its file', async () => {
    expect(dnsmasq).toMatch(/^port=0\b/m);
    const check = await run('dnsmasq', ['--test', '--conf-file=deploy/dhcp/dnsmasq.conf']);
    expect(check.stderr.trim()).toBe('dnsmasq: syntax check OK.');
  });
});

describe('the DHCP servers\' own checkers', async () => {
  const [haveKea, haveRadvd] = [await haveProgram('kea-dhcp4'), await haveProgram('radvd')];
  it.runIf(haveKea)('kea-dhcp4 -t accepts kea-dhcp4.json', async () => {
    const check = await run('kea-dhcp4', ['-t', 'deploy/dhcp/kea-dhcp4.json']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });
  it.runIf(haveRadvd)('radvd --configtest accepts radvd.conf', async () => {
    const check = await run('radvd', ['--configtest', '--config', 'deploy/dhcp/radvd.conf']);
    expect(check.stdout + check.stderr).toContain('syntax ok');
  });
});
