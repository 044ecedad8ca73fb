// Error lines that cannot flood the log: a failing disk fails every flush, a full buffer
// refuses every decision. One line per interval is enough to be noticed; the counters
// (stats(), the signed `dropped`) carry the totals.
import type { Logger } from 'pino';

export const LOG_INTERVAL_MS = 10_000;

export class ThrottledLog {
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private last = Number.NEGATIVE_INFINITY;

  constructor(logger: Logger, intervalMs = LOG_INTERVAL_MS, now: () => number = Date.now) {
    this.logger = logger;
    this.intervalMs = intervalMs;
    this.now = now;
  }

  /**
   * Logs at error level unless a line went out less than the interval ago; true when it logged.
   * `fields` is a function so that a suppressed call builds nothing (drops happen on the query path).
   */
  error(fields: () => Record<string, unknown>, message: string): boolean {
    const now = this.now();
    if (now - this.last < this.intervalMs) return false;
    this.last = now;
    this.logger.error(fields(), message);
    return true;
  }
}
