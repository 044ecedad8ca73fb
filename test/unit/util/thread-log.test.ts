import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { relayLogLine, threadLogger } from '../../../src/util/thread-log.ts';

function capture(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'trace', base: { instance: 'main' } }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(JSON.parse(c.toString()) as Record<string, unknown>), cb()) }));
  return { logger, lines };
}

describe('thread logging', () => {
  it('carries a worker line to the main logger with its level, message and fields, under the main base fields', () => {
    const sent: string[] = [];
    const worker = threadLogger('debug', (line) => sent.push(line));
    worker.warn({ component: 'feed', list: 'tiktok' }, 'rendering slow');
    worker.trace('not at this level');
    expect(sent).toHaveLength(1);
    const { logger, lines } = capture();
    relayLogLine(logger, sent[0] as string, 'feed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, msg: 'rendering slow', component: 'feed', list: 'tiktok', instance: 'main' });
  });

  it('logs an unreadable line as a warning instead of throwing', () => {
    const { logger, lines } = capture();
    relayLogLine(logger, 'not json', 'feed');
    expect(lines[0]).toMatchObject({ level: 40, line: 'not json', msg: 'unreadable log line from a worker thread (feed)' });
  });
});
