import { describe, expect, it } from 'vitest';
import { render } from './fixture.ts';

describe('dnsmasq renderers', () => {
  it('local=/name/ for dnsmasq 2.86+, server=/name/ for older ones', () => {
    expect(render('dnsmasq').split('#\n')[1]).toBe('local=/example.com/\nlocal=/example.net/\n');
    expect(render('dnsmasq-legacy').split('#\n')[1]).toBe('server=/example.com/\nserver=/example.net/\n');
  });
});
