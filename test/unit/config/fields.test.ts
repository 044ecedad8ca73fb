import { describe, expect, it } from 'vitest';
import { cidr, domainName, envName, listenAddress, listName } from '../../../src/config/fields.ts';

const message = (result: { success: boolean; error?: { issues: { message: string }[] } }): string => result.error?.issues.map((i) => i.message).join('; ') ?? '';

describe('config field schemas', () => {
  it('listen addresses: host:port with IPv6 in brackets', () => {
    expect(listenAddress.safeParse('127.0.0.1:1053').success).toBe(true);
    expect(listenAddress.safeParse('[::1]:53').success).toBe(true);
    expect(message(listenAddress.safeParse('localhost:x'))).toContain('write "127.0.0.1:1053" or "[::1]:1053"');
  });

  it('networks, domains, list names and environment variable names', () => {
    expect(cidr.safeParse('fd00::/48').success).toBe(true);
    expect(message(cidr.safeParse('10.0.0.0/40'))).toContain('write "10.0.0.0/8" or "fd00::/48"');
    expect(domainName.safeParse('Example.ORG.').success).toBe(true);
    expect(message(domainName.safeParse('not a name'))).toContain('not a domain name');
    expect(listName.safeParse('doh-bypass').success).toBe(true);
    expect(listName.safeParse('TikTok').success).toBe(false);
    expect(envName('X_Y').safeParse('DNSWARD_TOKEN').success).toBe(true);
    expect(message(envName('MY_VAR').safeParse('my-var'))).toBe('an environment variable name: letters, digits and "_", e.g. MY_VAR');
  });
});
