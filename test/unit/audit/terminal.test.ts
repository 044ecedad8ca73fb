import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { endQuietlyOnEpipe, escapeChar, terminalSafe } from '../../../src/audit/terminal.ts';

describe('terminalSafe', () => {
  it('escapes C0 and C1 controls, DEL, line separators and bidi overrides; leaves the rest', () => {
    expect(terminalSafe('a\u001b[2Jb\u0007\u0000c\u007f\u009bd\u2028e\u202ef')).toBe('a\\027[2Jb\\007\\000c\\127\\155d\\u{2028}e\\u{202e}f');
    expect(terminalSafe('line\nnext\ttab\r')).toBe('line\\010next\\009tab\\013');
    expect(terminalSafe('plain é ü 日本 ;,="')).toBe('plain é ü 日本 ;,="');
    expect(escapeChar('\u0001')).toBe('\\001');
  });
});

describe('endQuietlyOnEpipe', () => {
  it('turns EPIPE into "closed" and lets other errors through', () => {
    const stream = new PassThrough();
    const closed = endQuietlyOnEpipe(stream);
    expect(closed()).toBe(false);
    stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(closed()).toBe(true);
    expect(() => stream.emit('error', Object.assign(new Error('no space'), { code: 'ENOSPC' }))).toThrow('no space');
  });
});
