import { describe, expect, it } from 'vitest';
import { render } from './fixture.ts';

describe('wildcard renderer', () => {
  it('one *.name rule per blocking domain', () => {
    expect(render('wildcard').split('#\n')[1]).toBe('*.example.com\n*.example.net\n');
  });
});
