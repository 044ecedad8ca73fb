import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../src/config/load.ts';

const MINIMAL = 'segments:\n  - { name: default, networks: ["0.0.0.0/0", "::/0"], action: allow }\n';

function error(text: string): string {
  try {
    parseConfig(`${MINIMAL}${text}`, 'my.yaml');
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('config section redis', () => {
  it('fills the defaults', () => {
    expect(parseConfig(`${MINIMAL}redis: { url: "redis://127.0.0.1:6379/2" }\n`).redis).toEqual({
      url: 'redis://127.0.0.1:6379/2',
      key_prefix: 'dnsward:',
      command_timeout_ms: 1000,
      heartbeat_interval_s: 2,
      witness_interval_s: 60,
      stream_max_events: 1_000_000,
      stream_retention_days: 7,
    });
  });

  it('accepts Sentinel and Cluster', () => {
    expect(parseConfig(`${MINIMAL}redis: { sentinels: [{ host: 192.0.2.10, port: 26379 }], name: mymaster }\n`).redis?.name).toBe('mymaster');
    expect(parseConfig(`${MINIMAL}redis: { cluster: ["192.0.2.11:6379"] }\n`).redis?.cluster).toEqual(['192.0.2.11:6379']);
  });

  it('says what is missing or wrong', () => {
    expect(error('redis: {}\n')).toContain('give "url" (redis://host:6379/0), "sentinels" with "name", or "cluster"');
    expect(error('redis: { sentinels: [{ host: a, port: 1 }] }\n')).toContain('Sentinel needs the master group name');
    expect(error('redis: { url: "redis://x", name: m }\n')).toContain('"name" is the Sentinel master group');
    expect(error('redis: { url: "redis://x", key_prefix: "other:" }\n')).toContain('the prefix starts with "dnsward:" and ends with ":"');
    expect(error('redis: { cluster: ["nohostport"] }\n')).toContain('a Cluster node is "host:port"');
    expect(error('redis: { url: "redis://x", password_env: "not a name" }\n')).toContain('redis.password_env');
  });
});
