import { describe, expect, it } from 'vitest';
import { render, snapshot } from './fixture.ts';

describe('json renderer', () => {
  it('json: header fields as properties, domains, hosts', () => {
    const data = JSON.parse(render('json')) as Record<string, unknown>;
    expect(data).toMatchObject({ name: 'demo', title: 'Demo', version: 'abcdef012345', lastModified: '2026-11-28T09:30:00Z', numberOfEntries: 2, domains: ['example.com', 'example.net'] });
    expect(data.hosts).toEqual(snapshot.hosts);
  });
});
