// Liveness, readiness and Prometheus metrics: public, no token.
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../deps.ts';

export function registerHealthRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (!deps.ready()) return reply.code(503).send({ status: 'starting' });
    return { status: 'ready', instance: deps.config.instance, lists: deps.lists.all().map((l) => ({ name: l.name, version: l.version })) };
  });
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', deps.metrics.contentType);
    return deps.metrics.metrics();
  });
}
