import { describe, expect, it } from 'vitest';
import { rpzIpOwner, rpzIpRenderer } from '../../../../src/lists/render/rpz-ip.ts';
import { rpzSerial } from '../../../../src/lists/render/rpz.ts';

describe('rpz-ip triggers', () => {
  it('IPv4: prefix length, then the octets reversed (Unbound manual: 24.10.100.51.198.rpz-ip is 198.51.100.x/24)', () => {
    expect(rpzIpOwner('198.51.100.0/24')).toBe('24.0.100.51.198.rpz-ip');
    expect(rpzIpOwner('10.0.0.1/32')).toBe('32.1.0.0.10.rpz-ip');
    expect(rpzIpOwner('101.45.248.0/22')).toBe('22.0.248.45.101.rpz-ip');
  });

  it('IPv6: words reversed in hex, "zz" for the run of zero words BIND would pick (lib/dns/rpz.c ip2name)', () => {
    expect(rpzIpOwner('2001:db8::10/128')).toBe('128.10.zz.db8.2001.rpz-ip');
    // Two runs of equal length: BIND shortens the last in its reversed order (its own example).
    expect(rpzIpOwner('2001:db8::1:0:0:1/128')).toBe('128.1.0.0.1.zz.db8.2001.rpz-ip');
    // A single zero word is written out, never "zz".
    expect(rpzIpOwner('2001:db8:0:1:2:3:4:5/128')).toBe('128.5.4.3.2.1.0.db8.2001.rpz-ip');
    expect(rpzIpOwner('2605:340::/47')).toBe('47.zz.340.2605.rpz-ip');
    expect(rpzIpOwner('2605:340:f090::/45')).toBe('45.zz.f090.340.2605.rpz-ip');
  });

  it('writes a zone: header, SOA with the serial from the last change, NS, one CNAME . per prefix', () => {
    const lastModified = new Date('2026-12-02T00:00:00Z');
    const text = rpzIpRenderer.render({ name: 'n', title: 'N', description: 'd', license: 'CC0-1.0', version: 'abc', lastModified, networks: ['10.0.0.0/8', '2001:db8::/32'], entries: [], sourceCodes: {} }, { expires: '1 day' });
    expect(text).toMatch(/^; Title: N\n/);
    expect(text).toContain('; Number of entries: 2\n');
    expect(text.split(';\n')[1]).toBe(
      ['$TTL 300', `@ IN SOA localhost. root.localhost. ${rpzSerial(lastModified)} 3600 600 604800 300`, '@ IN NS localhost.', '8.0.0.0.10.rpz-ip CNAME .', '32.zz.db8.2001.rpz-ip CNAME .', ''].join('\n'),
    );
  });
});
