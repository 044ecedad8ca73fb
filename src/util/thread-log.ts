// Logging from worker threads: the worker's pino writes each line to the main thread, which
// writes it with the app's logger (one stdout, one format, the app's base fields).
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';

const LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** A logger for a worker thread whose lines go to `send` (then to relayLogLine on the main thread). */
export function threadLogger(level: string, send: (line: string) => void): Logger {
  return pino({ level }, new Writable({ write: (chunk: Buffer, _encoding, callback) => (send(chunk.toString('utf8')), callback()) }));
}

/** Writes a line a worker's threadLogger produced with `logger`, at its level, with its fields. */
export function relayLogLine(logger: Logger, line: string, fallbackMsg: string): void {
  try {
    const { level, msg, time: _time, pid: _pid, hostname: _hostname, ...fields } = JSON.parse(line) as Record<string, unknown>;
    logger[LEVELS[level as number] ?? 'info'](fields, typeof msg === 'string' ? msg : fallbackMsg);
  } catch {
    logger.warn({ line }, `unreadable log line from a worker thread (${fallbackMsg})`);
  }
}
