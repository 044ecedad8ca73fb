// Liveness, readiness and Prometheus metrics, on the private listener; no token (probes and
// scrapers), and nothing in them a token would protect.
//   /healthz  200 while the process answers; the body names every degradation
//   /readyz   200 once the listeners are bound and the lists loaded, else 503 (same body)
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../deps.ts';

export function registerHealthRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/healthz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return deps.health.report();
  });
  app.get('/readyz', async (_request, reply) => {
    const report = deps.health.report();
    reply.header('cache-control', 'no-store');
    return reply.code(report.ready ? 200 : 503).send(report);
  });
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', deps.metrics.contentType);
    return deps.metrics.metrics();
  });
}
