import { describe, expect, it } from 'vitest';
import { HEADER, render, syntaxOf } from './fixture.ts';

describe('adblock renderer', () => {
  it('one ||name^ rule per blocking domain, the header in "!" comments with Title first', () => {
    expect(render('adblock')).toBe(`${HEADER('!', 2, syntaxOf('adblock'))}||example.com^\n||example.net^\n`);
  });
});
