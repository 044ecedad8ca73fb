// GET /api/fleet (role auditor or admin): every live replica (name, dnsward version, list
// versions and entry counts, last heartbeat, Redis state, block-log events written and spooled)
// and whether they all enforce the same lists (`consistent`).
import type { FastifyInstance } from 'fastify';
import { createAuth } from '../auth.ts';
import type { HttpDeps } from '../deps.ts';

export function registerFleetRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const fleet = deps.fleet;
  if (fleet === undefined) return;
  const auditor = { preHandler: createAuth(deps.config.auth.tokens).require('auditor') };
  app.get('/api/fleet', auditor, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return fleet.view();
  });
}
