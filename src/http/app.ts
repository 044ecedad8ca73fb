// The HTTP side: built here, started by the caller (tests use inject() or listen on port 0).
// Each feature contributes a route module under ./routes/.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.ts';
import type { ListRegistry } from '../lists/registry.ts';
import { registerHealthRoutes } from './routes/health.ts';

export interface HttpDeps {
  config: Config;
  logger: Logger;
  metrics: Registry;
  lists: ListRegistry;
  /** Reports whether the resolver is serving (listeners bound, lists loaded). */
  ready: () => boolean;
}

export function buildHttpApp(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }),
    disableRequestLogging: true,
    // Never echo request bodies larger than we need; the API takes none of size.
    bodyLimit: 64 * 1024,
  });
  registerHealthRoutes(app, deps);
  return app;
}
