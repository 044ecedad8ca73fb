import { describe, expect, it } from 'vitest';
import { commentHeader, exactNames, headerFields } from '../../../../src/lists/render/header.ts';
import { options, snapshot } from './fixture.ts';

describe('headerFields', () => {
  it('gives the fields in order, the description on one line, the time without milliseconds', () => {
    expect(headerFields(snapshot, options, 'Hosts', 3)).toEqual([
      ['Title', 'Demo'],
      ['Description', 'Two domains and a host.'],
      ['Homepage', 'https://lists.example.org/'],
      ['License', 'CC0-1.0'],
      ['Version', 'abcdef012345'],
      ['Last modified', '2026-11-28T09:30:00Z'],
      ['Expires', '1 day'],
      ['Number of entries', '3'],
      ['Syntax', 'Hosts'],
    ]);
  });

  it('adds Source when the file knows its absolute URL', () => {
    expect(headerFields(snapshot, { ...options, url: 'https://lists.example.org/lists/demo/hosts' }, 'Hosts', 3).at(-1)).toEqual(['Source', 'https://lists.example.org/lists/demo/hosts']);
  });

  it('adds Changes, the changelog\'s address: absolute as given, a path said to be on the server the file came from', () => {
    expect(headerFields(snapshot, { ...options, changes: 'https://lists.example.org/lists/demo/changes' }, 'Hosts', 3).at(-1)).toEqual(['Changes', 'https://lists.example.org/lists/demo/changes']);
    expect(headerFields(snapshot, { ...options, changes: '/lists/demo/changes' }, 'Hosts', 3).at(-1)).toEqual(['Changes', '/lists/demo/changes (on the server this file came from)']);
    expect(headerFields(snapshot, options, 'Hosts', 3).map(([k]) => k)).not.toContain('Changes');
  });

  it('points at the Homepage for the licence when the list states none', () => {
    expect(headerFields({ ...snapshot, license: undefined }, options, 'Hosts', 3)).toContainEqual(['License', 'see Homepage']);
  });

  it('leaves the Homepage line out when there is no homepage (never a relative "/")', () => {
    const fields = headerFields({ ...snapshot, license: undefined }, { expires: '1 day' }, 'Hosts', 3);
    expect(fields.map(([k]) => k)).toEqual(['Title', 'Description', 'License', 'Version', 'Last modified', 'Expires', 'Number of entries', 'Syntax']);
    expect(fields).toContainEqual(['License', 'not stated']);
  });
});

describe('commentHeader', () => {
  it('writes one field per line after the marker, then a bare marker line', () => {
    expect(commentHeader(';', [['Title', 'Demo'], ['Version', '1']])).toBe('; Title: Demo\n; Version: 1\n;\n');
  });
});

describe('exactNames', () => {
  it('is the known hosts when the snapshot has them, else the blocking domains', () => {
    expect(exactNames(snapshot)).toEqual(['example.com', 'example.net', 'www.example.com']);
    expect(exactNames({ ...snapshot, hosts: undefined })).toEqual(['example.com', 'example.net']);
  });
});
