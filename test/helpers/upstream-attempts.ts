// Driving one upstream transport directly in unit tests: attempts as the pool makes them,
// and events recorded as they arrive.
import { parseUpstream, type UpstreamTarget } from '../../src/config/upstreams.ts';
import type { Attempt, TransportEvents, Upstream } from '../../src/resolver/upstream-transport.ts';
import { nameToWire } from './stub-upstream.ts';

export function upstreamFor(address: string): Upstream {
  const target = parseUpstream(address) as UpstreamTarget;
  return { target, kind: target.kind, label: target.label, downUntil: 0, consecutiveFailures: 0, sent: 0, answered: 0, timeouts: 0, errors: 0 };
}

/** The question section for `name` (type A unless given, class IN). */
export function questionOf(name: string, type = 1): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([nameToWire(name), tail]);
}

export function attempt(upstream: Upstream, name: string, budgetMs = 2000): Attempt {
  const now = Date.now();
  return {
    question: questionOf(name),
    exactQuestion: false,
    dnssecOk: false,
    checkingDisabled: false,
    deadline: now + budgetMs,
    attemptDeadline: now + budgetMs,
    sentAt: now,
    upstream,
    id: 0,
    query: undefined,
    handle: undefined,
  };
}

export interface Outcome {
  job: Attempt;
  answer?: Buffer;
  reason?: string;
}

/** Events that keep what arrives, and a way to wait for the n-th outcome. */
export class RecordingEvents implements TransportEvents<Attempt> {
  readonly outcomes: Outcome[] = [];
  mismatches = 0;
  private waiters: { count: number; resolve: () => void }[] = [];

  answered(job: Attempt, answer: Buffer): void {
    this.push({ job, answer });
  }

  failed(job: Attempt, reason: string): void {
    this.push({ job, reason });
  }

  mismatched(): void {
    this.mismatches++;
  }

  /** Resolves once `count` outcomes have arrived (rejects after `ms`). */
  async until(count: number, ms = 5000): Promise<Outcome[]> {
    if (this.outcomes.length < count) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${this.outcomes.length} of ${count} outcomes after ${ms} ms`)), ms);
        this.waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
      });
    }
    return this.outcomes;
  }

  private push(outcome: Outcome): void {
    this.outcomes.push(outcome);
    this.waiters = this.waiters.filter((w) => {
      if (this.outcomes.length < w.count) return true;
      w.resolve();
      return false;
    });
  }
}
