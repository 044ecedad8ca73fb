import { describe, expect, it } from 'vitest';
import { parseSourceBody } from '../../../src/lists/source-parser.ts';

describe('parseSourceBody', () => {
  it('detects hosts, domains and adblock lines, also mixed, and ignores what it cannot represent', async () => {
    const body = Buffer.from(
      [
        '! Title: Mixed',
        '[Adblock Plus]',
        '||ads.example.com^',
        '||important.example.com^$important',
        '||third.example.com^$third-party',
        '@@||allowed.example.com^',
        '||wild*.example.com^',
        '0.0.0.0 hosts.example.com',
        'plain.example.com',
        '*.wild.example.org',
        'not a domain!',
        '',
      ].join('\n'),
    );
    const parsed = await parseSourceBody(body);
    expect(parsed.title).toBe('Mixed');
    expect(parsed.formats).toEqual({ hosts: 1, domains: 2, adblock: 2 });
    expect(parsed.ignored).toBe(3);
    expect(parsed.invalid).toBe(1);
    expect(parsed.set.toSortedArray()).toEqual(['ads.example.com', 'hosts.example.com', 'important.example.com', 'plain.example.com', 'wild.example.org']);
  });

  it('reports the names at or below watched roots as it parses, once each, and not look-alikes', async () => {
    const body = Buffer.from('0.0.0.0 ns-440.awsdns-55.com\n||AWSDNS-55.com^\nns-440.awsdns-55.com\nxawsdns-55.com\na.akam.net\ntiktok.com\n');
    const parsed = await parseSourceBody(body, 'auto', { watch: ['awsdns-55.com', 'akam.net'] });
    expect(parsed.under).toEqual(['ns-440.awsdns-55.com', 'awsdns-55.com', 'a.akam.net']);
    expect((await parseSourceBody(body)).under).toEqual([]);
  });

  it('with an explicit format, other lines are invalid', async () => {
    const parsed = await parseSourceBody(Buffer.from('||a.com^\nb.com\n0.0.0.0 c.com\n'), 'adblock');
    expect(parsed.formats.adblock).toBe(1);
    expect(parsed.invalid).toBe(2);
  });

  it.each([
    ['<!DOCTYPE html><html><body>Rate limited</body></html>', /HTML/],
    ['  <html>oops', /HTML/],
    ['a.com\n\u0000\u0001binary', /control byte/],
  ])('refuses %j', async (text, message) => {
    await expect(parseSourceBody(Buffer.from(text))).rejects.toThrow(message);
  });
});
