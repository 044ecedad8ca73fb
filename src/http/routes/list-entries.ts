// The organisation's own list entries (role admin):
//   POST   /api/lists/<name>/entries           { "domain": "...", "reason": "..." }  201
//   DELETE /api/lists/<name>/entries/<domain>  reason in the body or ?reason=          200
// In force on every replica within seconds (docs/FLEET.md). 400 bad input, 404 no such list
// or entry, 409 refused (never-block, already listed, a maintained entry), 503 shared state
// unreachable: the answer always says why.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ChangeOutcome } from '../../fleet/list-changes.ts';
import { createAuth } from '../auth.ts';
import type { HttpDeps } from '../deps.ts';

interface EntryBody {
  domain?: unknown;
  reason?: unknown;
}

export function registerListEntryRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const fleet = deps.fleet;
  if (fleet === undefined) return;
  const admin = { preHandler: createAuth(deps.config.auth.tokens).require('admin') };

  app.post<{ Params: { name: string }; Body: EntryBody | undefined }>('/api/lists/:name/entries', admin, async (request, reply) => {
    const body = request.body;
    if (body === null || typeof body !== 'object' || typeof body.domain !== 'string') {
      return send(reply, { ok: false, status: 400, error: 'bad_request', message: 'send JSON {"domain": "name.example", "reason": "why it is blocked"}' });
    }
    const outcome = await fleet.change({ action: 'add', list: request.params.name, domain: body.domain, reason: body.reason, actor: request.principal?.name ?? 'unknown' });
    return send(reply, outcome, 201);
  });

  app.delete<{ Params: { name: string; domain: string }; Body: EntryBody | undefined; Querystring: { reason?: string } }>('/api/lists/:name/entries/:domain', admin, async (request, reply) => {
    const body = request.body;
    const reason = body !== null && typeof body === 'object' && body.reason !== undefined ? body.reason : request.query.reason;
    const outcome = await fleet.change({ action: 'remove', list: request.params.name, domain: request.params.domain, reason, actor: request.principal?.name ?? 'unknown' });
    return send(reply, outcome, 200);
  });
}

function send(reply: FastifyReply, outcome: ChangeOutcome, okStatus = 200): FastifyReply {
  reply.header('cache-control', 'no-store');
  if (outcome.ok) return reply.code(okStatus).send({ change: outcome.change, list: outcome.list });
  if (outcome.status === 503) reply.header('retry-after', '5');
  return reply.code(outcome.status).send({ error: outcome.error, message: outcome.message });
}
