import { describe, expect, it } from 'vitest';
import { FORMATS, RENDERERS, rendererFor } from '../../../../src/lists/render/index.ts';
import { options, snapshot } from './fixture.ts';

describe('renderers', () => {
  it('cover every format of the issue, plus the legacy dnsmasq form and json', () => {
    expect(FORMATS).toEqual(['hosts', 'domains', 'wildcard', 'adblock', 'dnsmasq', 'dnsmasq-legacy', 'unbound', 'rpz', 'json']);
    expect(rendererFor('rpz')?.format).toBe('rpz');
    expect(rendererFor('pac')).toBeUndefined();
  });

  it.each(RENDERERS.filter((r) => r.format !== 'json').map((r) => [r.format, r] as const))('%s starts with the header in its comment syntax and ends with a newline', (_f, renderer) => {
    const text = renderer.render(snapshot, options);
    const marker = text[0];
    for (const field of ['Title', 'Description', 'Homepage', 'License', 'Version', 'Last modified', 'Expires', 'Number of entries', 'Syntax']) {
      expect(text).toContain(`\n${marker} ${field}: `.slice(field === 'Title' ? 1 : 0));
    }
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toMatch(/\r/);
  });

  it('name their files after the list and the format', () => {
    expect(RENDERERS.map((r) => r.fileName('demo'))).toEqual([
      'demo.hosts.txt',
      'demo.domains.txt',
      'demo.wildcard.txt',
      'demo.adblock.txt',
      'demo.dnsmasq.conf',
      'demo.dnsmasq-legacy.conf',
      'demo.unbound.conf',
      'demo.rpz.zone',
      'demo.json',
    ]);
  });
});
