// A pino logger whose JSON lines land, parsed, in an array the test reads.
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';

/** A pino logger whose lines land, parsed, in `lines`. */
export function captureLogs(level = 'info'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write: (chunk: Buffer, _e, cb) => {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}
