// Whether V8 keeps String.prototype fast is visible only through its natives syntax, so each
// case runs in a child Node with --allow-natives-syntax and prints %HasFastProperties.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function stringPrototypeFastAfter(code: string): boolean {
  const script = `const fast = new Function('o', 'return %HasFastProperties(o)');\n${code}\nconsole.log(fast(String.prototype));`;
  return execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8' }).trim() === 'true';
}

describe('String.prototype stays fast', () => {
  it('is slow after a subclass of String is defined, and fast again after makeStringPrototypeFast()', () => {
    const define = 'class Verbatim extends String {} globalThis.keep = Verbatim;';
    expect(stringPrototypeFastAfter(define)).toBe(false);
    expect(stringPrototypeFastAfter(`${define}\nconst { makeStringPrototypeFast } = await import('./src/util/fast-prototypes.ts');\nmakeStringPrototypeFast();`)).toBe(true);
  });

  it('is fast once the Redis connection module (and ioredis with it) is loaded', () => {
    expect(stringPrototypeFastAfter("await import('./src/state/redis-connection.ts');")).toBe(true);
  });
});
