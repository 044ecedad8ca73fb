import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseResolvConf, systemResolvers } from '../../../src/util/resolv-conf.ts';

describe('parseResolvConf', () => {
  it('reads nameserver lines (IPv4 and IPv6) on port 53 and skips the rest', () => {
    const text = '# comment\nsearch example.org\nnameserver 192.0.2.53\n  nameserver   2001:db8::53  \nnameserver not-an-address\noptions ndots:2\n';
    expect(parseResolvConf(text)).toEqual([
      { host: '192.0.2.53', port: 53, family: 4 },
      { host: '2001:db8::53', port: 53, family: 6 },
    ]);
  });
});

describe('systemResolvers', () => {
  it('reads the file, and gives none when it is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsward-resolv-'));
    writeFileSync(join(dir, 'resolv.conf'), 'nameserver 127.0.0.53\n');
    expect(await systemResolvers(join(dir, 'resolv.conf'))).toEqual([{ host: '127.0.0.53', port: 53, family: 4 }]);
    expect(await systemResolvers(join(dir, 'missing'))).toEqual([]);
  });
});
