// GET /api/audit/changes (role auditor or admin): the admin change log, oldest first. Every
// change of the organisation's list entries: who, when, what, why, and the list's version
// before and after, hash-chained (seq, prev, hash) as `audit verify` checks it.
//   from, to     time range (ISO 8601 or epoch ms; from inclusive, to exclusive)
//   list, actor, action (add | remove)   exact match
//   limit        1..1000, default 100
//   cursor       the `next` of the previous page (polling with it returns only new changes)
import type { FastifyInstance } from 'fastify';
import { parseTime } from '../../audit/reader.ts';
import { createAuth } from '../auth.ts';
import type { HttpDeps } from '../deps.ts';

const KNOWN = ['from', 'to', 'list', 'actor', 'action', 'limit', 'cursor'] as const;

export function registerChangeRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const fleet = deps.fleet;
  if (fleet === undefined) return;
  const auditor = { preHandler: createAuth(deps.config.auth.tokens).require('auditor') };

  app.get<{ Querystring: Record<string, string | string[] | undefined> }>('/api/audit/changes', auditor, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const q = request.query;
    const bad = (message: string): unknown => reply.code(400).send({ error: 'bad_request', message });
    for (const [key, value] of Object.entries(q)) {
      if (!(KNOWN as readonly string[]).includes(key)) return bad(`unknown parameter "${key}"; use ${KNOWN.join(', ')}`);
      if (Array.isArray(value)) return bad(`${key}: give it once`);
    }
    const text = (key: string): string | undefined => (q[key] === '' ? undefined : (q[key] as string | undefined));
    const time = (key: string): string | undefined | null => {
      const value = text(key);
      if (value === undefined) return undefined;
      return parseTime(value) ?? null;
    };
    const from = time('from');
    const to = time('to');
    if (from === null || to === null) return bad('from, to: use ISO 8601 (2026-11-28T10:00:00Z or 2026-11-28) or epoch milliseconds');
    const action = text('action');
    if (action !== undefined && action !== 'add' && action !== 'remove') return bad(`action: "${action}" is not valid; use add or remove`);
    const limit = text('limit') === undefined ? 100 : Number(text('limit'));
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return bad('limit: use 1..1000');
    const cursorText = text('cursor');
    const after = cursorText === undefined ? 0 : Number(cursorText);
    if (!Number.isSafeInteger(after) || after < 0) return bad('cursor is not valid: pass the "next" value of the previous page unchanged');
    const list = text('list');
    const actor = text('actor');

    const all = fleet.changes();
    const out = [];
    let last = after;
    for (const c of all.slice(after)) {
      last = c.seq;
      if (from !== undefined && c.ts < from) continue;
      if (to !== undefined && c.ts >= to) continue;
      if (list !== undefined && c.list !== list) continue;
      if (actor !== undefined && c.actor !== actor) continue;
      if (action !== undefined && c.action !== action) continue;
      out.push(c);
      if (out.length === limit) break;
    }
    const head = all.at(-1);
    return { changes: out, next: String(last), head: { seq: head?.seq ?? 0, hash: head?.hash ?? '0'.repeat(64) } };
  });
}
