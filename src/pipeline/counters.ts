// Query counts by segment × outcome × transport. Each segment carries its own small array
// (Segment.counts), handed out here by segment name so that a new policy snapshot keeps
// counting where the old one stopped. The query path bumps one slot; metrics read stats().
import { OUTCOME_INDEX, OUTCOMES, type Outcome, TRANSPORT_INDEX, TRANSPORTS, type Transport } from './context.ts';

const SLOTS = OUTCOMES.length * TRANSPORTS.length;

export interface QueryCount {
  segment: string;
  outcome: Outcome;
  transport: Transport;
  count: number;
}

/** One query more in `counts` (a Segment.counts array). */
export function countQuery(counts: Float64Array, outcome: Outcome, transport: Transport): void {
  const slot = OUTCOME_INDEX[outcome] * TRANSPORTS.length + TRANSPORT_INDEX[transport];
  counts[slot] = (counts[slot] as number) + 1;
}

export class QueryCounters {
  private readonly bySegment = new Map<string, Float64Array>();

  /** The counts array of a segment name (created at zero on first use). */
  readonly forSegment = (segment: string): Float64Array => {
    let counts = this.bySegment.get(segment);
    if (counts === undefined) {
      counts = new Float64Array(SLOTS);
      this.bySegment.set(segment, counts);
    }
    return counts;
  };

  /** Every non-zero count. */
  stats(): QueryCount[] {
    const out: QueryCount[] = [];
    for (const [segment, counts] of this.bySegment) {
      OUTCOMES.forEach((outcome, o) => {
        TRANSPORTS.forEach((transport, t) => {
          const count = counts[o * TRANSPORTS.length + t] ?? 0;
          if (count > 0) out.push({ segment, outcome, transport, count });
        });
      });
    }
    return out;
  }
}
