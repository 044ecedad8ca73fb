// pino JSON logs to stdout; each component takes a child logger ({ component: "..." }).
import { pino, type Logger } from 'pino';

export function createLogger(level: string, instance: string): Logger {
  return pino({ level, base: { instance }, timestamp: pino.stdTimeFunctions.isoTime });
}
