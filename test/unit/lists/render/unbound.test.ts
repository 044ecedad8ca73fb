import { describe, expect, it } from 'vitest';
import { render } from './fixture.ts';

describe('unbound renderer', () => {
  it('unbound: a server: clause of always_nxdomain local zones', () => {
    expect(render('unbound').split('#\n')[1]).toBe('server:\n  local-zone: "example.com." always_nxdomain\n  local-zone: "example.net." always_nxdomain\n');
  });
});
