// Stage forward: hand the question to the upstream pool; the answer (or failure) comes
// back through ResolverCore.onUpstreamResult. Always the last stage.
import type { ResolverCore } from '../../resolver/core.ts';
import type { Handler, QueryContext } from '../context.ts';

export function forwardStage(core: ResolverCore, _next: Handler): Handler {
  return (ctx: QueryContext) => core.forward(ctx);
}
