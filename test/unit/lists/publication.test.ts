import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildPublication } from '../../../src/lists/publication.ts';
import { FORMATS } from '../../../src/lists/render/index.ts';
import type { ListSnapshot } from '../../../src/lists/types.ts';

const demo: ListSnapshot = {
  name: 'demo',
  title: 'Demo',
  description: 'A demo list',
  version: 'abcdef012345',
  lastModified: new Date('2026-11-28T09:30:00Z'),
  domains: ['example.com', 'example.net'],
  hosts: ['example.com', 'example.net', 'www.example.com'],
  license: 'CC0-1.0',
  origin: 'maintained',
};
const options = { homepage: 'https://lists.example.org/', expires: '1 day' };

describe('buildPublication', () => {
  it('renders every format, lists their SHA-256 in the manifest, and signs the manifest when a key is given', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pub = await buildPublication(demo, { ...options, signingKey: privateKey }, (f) => `/lists/demo/${f}`);
    expect([...pub.files.keys()]).toEqual(FORMATS);
    const manifest = pub.manifest.body.toString();
    for (const file of pub.files.values()) expect(manifest).toContain(`\n${file.sha256}  ${file.format}\n`);
    expect(manifest.split('\n')[0]).toBe('# dnsward list manifest: demo version abcdef012345, last modified 2026-11-28T09:30:00.000Z');
    expect(pub.signature?.body.length).toBe(64);
    expect(verify(null, pub.manifest.body, publicKey, pub.signature?.body as Buffer)).toBe(true);
    expect((await buildPublication(demo, options, (f) => f)).signature).toBeUndefined();
  });

  it('without a homepage, files carry no Homepage line (a relative "/" means nothing to a subscriber)', async () => {
    const pub = await buildPublication(demo, { expires: '1 day' }, (f) => `/lists/demo/${f}`);
    for (const file of pub.files.values()) {
      const text = file.body.toString();
      expect(text, file.format).not.toMatch(/Homepage/);
      expect(text, file.format).toMatch(/License"?: "?CC0-1\.0/i);
    }
  });

  it('writes a Source line with the absolute URL only when a public URL is set', async () => {
    const relative = await buildPublication(demo, options, (f) => `/lists/demo/${f}`);
    expect(relative.files.get('hosts')?.body.toString()).not.toContain('Source:');
    const absolute = await buildPublication(demo, { ...options, publicUrl: 'https://lists.example.org' }, (f) => `https://lists.example.org/lists/demo/${f}`);
    expect(absolute.files.get('hosts')?.body.toString()).toContain('# Source: https://lists.example.org/lists/demo/hosts\n');
  });
});
