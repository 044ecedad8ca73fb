// The HTTP side: built here, started by the caller (tests use inject() or listen on port 0).
// Each feature contributes a route module under ./routes/.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AuditReader } from '../audit/reader.ts';
import type { Config } from '../config/schema.ts';
import type { ListRegistry } from '../lists/registry.ts';
import { registerAuditRoutes } from './routes/audit.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerListRoutes } from './routes/lists.ts';

export interface HttpDeps {
  config: Config;
  logger: Logger;
  metrics: Registry;
  lists: ListRegistry;
  /** Reports whether the resolver is serving (listeners bound, lists loaded). */
  ready: () => boolean;
  /** Where the auditor API reads the block log; absent: the files in audit.dir. */
  audit?: AuditReader;
}

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
