import { describe, expect, it } from 'vitest';
import { rpzSerial } from '../../../../src/lists/render/rpz.ts';
import { render, snapshot } from './fixture.ts';

describe('rpz renderer', () => {
  it('rpz: SOA and NS, then name and *.name CNAME . for each domain; serial from the last change', () => {
    const body = render('rpz').split(';\n')[1];
    expect(body).toBe(
      [
        '$TTL 300',
        `@ IN SOA localhost. root.localhost. ${Math.floor(Date.parse('2026-11-28T09:30:00Z') / 1000)} 3600 600 604800 300`,
        '@ IN NS localhost.',
        'example.com CNAME .',
        '*.example.com CNAME .',
        'example.net CNAME .',
        '*.example.net CNAME .',
        '',
      ].join('\n'),
    );
    expect(rpzSerial(new Date('2026-11-29T00:00:00Z'))).toBeGreaterThan(rpzSerial(snapshot.lastModified));
  });
});
