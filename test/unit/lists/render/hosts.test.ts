import { describe, expect, it } from 'vitest';
import { rendererFor } from '../../../../src/lists/render/index.ts';
import { HEADER, options, render, snapshot, syntaxOf } from './fixture.ts';

describe('hosts renderer', () => {
  it('hosts: 0.0.0.0 lines for every exact name, known hosts included', () => {
    expect(render('hosts')).toBe(`${HEADER('#', 3, syntaxOf('hosts'))}0.0.0.0 example.com\n0.0.0.0 example.net\n0.0.0.0 www.example.com\n`);
  });

  it('falls back to the blocking domains when a snapshot has no known hosts', () => {
    const plain = { ...snapshot, hosts: undefined };
    expect(rendererFor('hosts')?.render(plain, options).split('#\n')[1]).toBe('0.0.0.0 example.com\n0.0.0.0 example.net\n');
  });
});
