// The two HTTP listeners' apps, built here and started by the caller (tests use inject() or
// listen on port 0):
// - public: the list feed for subscribers; no token needed, none accepted;
// - private: the auditor and admin API, health, readiness and metrics; loopback by default.
// Each feature contributes a route module under ./routes/.
import type { FastifyInstance } from 'fastify';
import type { HttpListenerConfig } from '../config/sections/http.ts';
import type { HttpDeps } from './deps.ts';
import { createListenerApp, type TlsMaterial } from './listener.ts';
import { registerAuditRoutes } from './routes/audit.ts';
import { registerChangeRoutes } from './routes/changes.ts';
import { registerFleetRoutes } from './routes/fleet.ts';
import { registerDashboardRoutes } from './routes/dashboard.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerListEntryRoutes } from './routes/list-entries.ts';
import { registerListRoutes } from './routes/lists.ts';
import { registerReloadRoutes } from './routes/reload.ts';

export type { HttpDeps } from './deps.ts';

/** What the public feed needs: no metrics, health or audit (it runs in its own thread, see feed-thread.ts). */
export type FeedDeps = Pick<HttpDeps, 'config' | 'logger' | 'lists' | 'networks'>;

export function buildPublicApp(deps: FeedDeps, tls?: TlsMaterial): FastifyInstance {
  const app = createListenerApp(deps.config.http, tls, deps.logger.child({ component: 'http' }));
  registerListRoutes(app, deps);
  return app;
}

export function buildPrivateApp(deps: HttpDeps, tls?: TlsMaterial): FastifyInstance {
  const app = createListenerApp(deps.config.api, tls, deps.logger.child({ component: 'api' }));
  registerHealthRoutes(app, deps);
  registerAuditRoutes(app, deps);
  registerReloadRoutes(app, deps);
  registerFleetRoutes(app, deps);
  registerListEntryRoutes(app, deps);
  registerChangeRoutes(app, deps);
  registerDashboardRoutes(app, deps);
  return app;
}

/** Both listeners' routes on one app: for tests that exercise routes through inject(). */
export function buildHttpApp(deps: HttpDeps, listener: HttpListenerConfig = deps.config.api): FastifyInstance {
  const app = createListenerApp(listener, undefined, deps.logger.child({ component: 'http' }));
  registerHealthRoutes(app, deps);
  registerAuditRoutes(app, deps);
  registerReloadRoutes(app, deps);
  registerFleetRoutes(app, deps);
  registerListEntryRoutes(app, deps);
  registerChangeRoutes(app, deps);
  registerDashboardRoutes(app, deps);
  registerListRoutes(app, deps);
  return app;
}
