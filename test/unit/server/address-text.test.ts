import { describe, expect, it } from 'vitest';
import { AddressText } from '../../../src/server/address-text.ts';

describe('AddressText', () => {
  it('reads the text and gives back the same string while the bytes repeat', () => {
    const texts = new AddressText();
    const buffer = Buffer.from('xx127.0.0.1yy127.0.0.1');
    const first = texts.read(buffer, 2, 9);
    expect(first).toBe('127.0.0.1');
    expect(texts.read(buffer, 13, 9)).toBe(first);
  });

  it('tells apart addresses of the same length that differ at the start, the middle or the end', () => {
    const texts = new AddressText();
    const reads = ['10.0.0.1', '20.0.0.1', '20.0.1.1', '20.0.1.2', '20.0.1.2'].map((a) => texts.read(Buffer.from(a), 0, a.length));
    expect(reads).toEqual(['10.0.0.1', '20.0.0.1', '20.0.1.1', '20.0.1.2', '20.0.1.2']);
  });

  it('follows a change of length, including to and from the empty text', () => {
    const texts = new AddressText();
    expect(texts.read(Buffer.from('::1'), 0, 0)).toBe('');
    expect(texts.read(Buffer.from('::1'), 0, 3)).toBe('::1');
    expect(texts.read(Buffer.from('127.0.0.1'), 0, 9)).toBe('127.0.0.1');
  });
});
