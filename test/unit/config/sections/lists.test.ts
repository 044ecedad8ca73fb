import { describe, expect, it } from 'vitest';
import { durationSeconds, listsSection } from '../../../../src/config/sections/lists.ts';

describe('lists config section', () => {
  it('defaults everything', () => {
    expect(listsSection.parse(undefined)).toEqual({
      dir: 'lists',
      sources: [],
      cache_dir: 'var/lists',
      max_source_bytes: 64 * 1024 * 1024,
      feed: true,
      expires: '1 day',
      cache_max_age_s: 3600,
      // Signed by default: the key is made there at first start.
      signing_key_file: 'var/list-keys/signing.key',
    });
  });

  it('takes sources with a url or a file, a format and a refresh duration', () => {
    const parsed = listsSection.parse({ sources: [{ name: 'ads', url: 'https://example.org/hosts.txt' }, { name: 'local', file: '/etc/x.txt', format: 'domains', refresh: 90 }] });
    expect(parsed.sources).toEqual([
      { name: 'ads', url: 'https://example.org/hosts.txt', format: 'auto', refresh: '6h' },
      { name: 'local', file: '/etc/x.txt', format: 'domains', refresh: 90 },
    ]);
  });

  it.each([
    [{ sources: [{ name: 'a' }] }, 'give exactly one of "url" or "file"'],
    [{ sources: [{ name: 'a', url: 'https://x/', file: '/y' }] }, 'give exactly one of "url" or "file"'],
    [{ sources: [{ name: 'a', url: 'ftp://x/' }] }, 'starts with http:// or https://'],
    [{ sources: [{ name: 'A b', url: 'https://x/' }] }, 'lowercase letters'],
    [{ sources: [{ name: 'a', url: 'https://x/', refresh: 'often' }] }, 'write a duration'],
    [{ sources: [{ name: 'a', url: 'https://x/' }, { name: 'a', file: '/y' }] }, 'is used twice'],
    [{ public_url: 'lists.example.org' }, 'absolute http(s) URL'],
    [{ homepage: '/' }, 'absolute http(s) URL'],
    [{ sourcez: [] }, 'sourcez'],
  ])('rejects %j', (input, message) => {
    const result = listsSection.safeParse(input);
    expect(result.success).toBe(false);
    expect((result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`).join('\n')).toContain(message);
  });

  it('strips the trailing slash of public_url, and parses durations', () => {
    expect(listsSection.parse({ public_url: 'https://lists.example.org/' }).public_url).toBe('https://lists.example.org');
    expect([durationSeconds(90), durationSeconds('90s'), durationSeconds('30m'), durationSeconds('6h'), durationSeconds('1d')]).toEqual([90, 90, 1800, 21_600, 86_400]);
  });
});
