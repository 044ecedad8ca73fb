// The HTTP side: built here, started by the caller (tests use inject() or listen on port 0).
// Each feature contributes a route module under ./routes/.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { HttpDeps } from './deps.ts';
import { registerAuditRoutes } from './routes/audit.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerListRoutes } from './routes/lists.ts';

export type { HttpDeps } from './deps.ts';

export function buildHttpApp(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger at runtime; the cast only aligns the generic types.
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // One line per HTTP request would drown the decision log; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Never echo request bodies larger than we need; the API takes none of size.
    bodyLimit: 64 * 1024,
  });
  registerHealthRoutes(app, deps);
  registerAuditRoutes(app, deps);
  registerListRoutes(app, deps);
  return app;
}
