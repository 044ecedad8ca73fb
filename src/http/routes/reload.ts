// POST /api/reload (admin): re-read the config and the lists, validate them, and install the
// new policy without dropping a query. 200 when installed; 409 with the reason when the new
// config or a list was refused (the policy in force stays).
import type { FastifyInstance } from 'fastify';
import { createAuth } from '../auth.ts';
import type { HttpDeps } from '../deps.ts';

export function registerReloadRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const reload = deps.reload;
  if (reload === undefined) return;
  const auth = createAuth(deps.config.auth.tokens);
  app.post('/api/reload', { preHandler: auth.require('admin') }, async (request, reply) => {
    const result = await reload(`api:${request.principal?.name ?? 'unknown'}`);
    reply.header('cache-control', 'no-store');
    return reply.code(result.ok ? 200 : 409).send(result);
  });
}
