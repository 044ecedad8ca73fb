import { describe, expect, it } from 'vitest';
import { HEADER, render, syntaxOf } from './fixture.ts';

describe('domains renderer', () => {
  it('domains: one exact name per line', () => {
    expect(render('domains')).toBe(`${HEADER('#', 3, syntaxOf('domains'))}example.com\nexample.net\nwww.example.com\n`);
  });
});
