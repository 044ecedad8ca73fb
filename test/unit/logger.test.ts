import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { repeatedKeys } from '../helpers/json-keys.ts';

/** A logger writing real pino lines into an array. */
function capture(level = 'info'): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger(level, 'a', { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

describe('repeatedKeys (the check the log tests rely on)', () => {
  it('finds a key repeated in the raw text, at any depth, and nothing else', () => {
    expect(repeatedKeys('{"a":1,"b":{"c":2,"c":3},"a":"x,\\"a\\":"}')).toEqual(['b.c', 'a']);
    expect(repeatedKeys('{"a":[{"k":1},{"k":2}],"b":"{\\"a\\":1}"}')).toEqual([]);
  });
});

describe('createLogger', () => {
  it('writes a child of a child with one component: the innermost', () => {
    const { logger, lines } = capture();
    logger.child({ component: 'resolver' }).child({ component: 'upstream' }).warn({ upstream: '192.0.2.1:53' }, 'upstream timed out');
    expect(lines).toHaveLength(1);
    expect(repeatedKeys(lines[0] as string)).toEqual([]);
    expect(lines[0]).toContain('"instance":"a","component":"upstream","upstream":"192.0.2.1:53","msg":"upstream timed out"');
  });

  it('writes a call that repeats a binding with one value: the call\'s', () => {
    const { logger, lines } = capture();
    const http = logger.child({ component: 'http' }).child({ reqId: 'r1' }, { level: 'info' });
    http.warn({ component: 'auth', reason: 'no token' }, 'unauthorized request');
    logger.child({ component: 'audit' }).error({ component: 'audit', code: 'X' }, 'failed');
    logger.info({ instance: 'b' }, 'override');
    for (const line of lines) expect(repeatedKeys(line), line).toEqual([]);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ component: 'auth', reqId: 'r1', reason: 'no token', msg: 'unauthorized request' });
    expect(JSON.parse(lines[1] as string)).toMatchObject({ component: 'audit', code: 'X' });
    expect(JSON.parse(lines[2] as string)).toMatchObject({ instance: 'b', msg: 'override' });
  });

  it('leaves every other line as pino writes it', () => {
    const { logger, lines } = capture('debug');
    const child = logger.child({ component: 'lists' });
    child.info({ lists: [{ name: 'tiktok' }], domains: 3 }, 'lists loaded');
    child.debug('plain %s', 'message');
    child.error(new Error('boom'));
    expect(lines.map((l) => repeatedKeys(l))).toEqual([[], [], []]);
    expect(lines[0]).toMatch(/^\{"level":30,"time":"[^"]+","instance":"a","component":"lists","lists":\[\{"name":"tiktok"\}\],"domains":3,"msg":"lists loaded"\}\n$/);
    expect(JSON.parse(lines[1] as string)).toMatchObject({ level: 20, component: 'lists', msg: 'plain message' });
    expect(JSON.parse(lines[2] as string)).toMatchObject({ level: 50, component: 'lists', err: { message: 'boom' } });
  });
});
