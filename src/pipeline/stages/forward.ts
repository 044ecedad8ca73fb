// Stage forward: hand the question to the Forwarder (coalescing, upstream pool,
// serve-stale). Its answer comes back through the response side; a failure as SERVFAIL.
// Always the last query-side stage.
import type { Handler } from '../context.ts';

/** What the forward stage needs of the Forwarder (src/resolver/forwarder.ts). */
export interface QueryForwarder {
  forward: Handler;
}

export function forwardStage(deps: { forwarder: QueryForwarder }, _next: Handler): Handler {
  const { forwarder } = deps;
  return (ctx) => forwarder.forward(ctx);
}
