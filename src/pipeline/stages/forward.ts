// Stage forward: hand the question to the Forwarder (coalescing, upstream pool, serve-stale);
// the answer or failure comes back through ResolverCore.answerFromUpstream / respondSynth.
// Always the last stage.
import type { ResolverCore } from '../../resolver/core.ts';
import type { Handler, QueryContext } from '../context.ts';

export function forwardStage(core: ResolverCore, _next: Handler): Handler {
  const forwarder = core.forwarder;
  return (ctx: QueryContext) => forwarder.forward(ctx);
}
