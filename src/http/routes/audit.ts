// The auditor API: GET /api/audit/events and GET /api/audit/summary (role auditor or admin).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CSV_HEADER, csvRow } from '../../audit/csv.ts';
import { createAuditReader } from '../../audit/index.ts';
import { type AuditFilter, normalizeQname, parseTime } from '../../audit/reader.ts';
import { DnswardError } from '../../errors.ts';
import type { HttpDeps } from '../deps.ts';
import { createAuth } from '../auth.ts';

export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 100;
const DAY_MS = 86_400_000;

class BadRequest extends Error {}

type Query = Record<string, string | string[] | undefined>;

const FILTER_PARAMETERS = ['from', 'to', 'segment', 'action', 'list', 'client', 'qname'] as const;
const EVENTS_PARAMETERS: readonly string[] = [...FILTER_PARAMETERS, 'limit', 'cursor', 'format'];
const SUMMARY_PARAMETERS: readonly string[] = FILTER_PARAMETERS;

/** A mistyped parameter (`sgment=`) must not silently widen the answer to everything. */
function onlyKnown(query: Query, known: readonly string[]): void {
  const unknown = Object.keys(query).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new BadRequest(`unknown parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}; known: ${known.join(', ')}`);
  }
}

function one(query: Query, key: string): string | undefined {
  const value = query[key];
  if (Array.isArray(value)) throw new BadRequest(`${key}: give it once`);
  return value === '' ? undefined : value;
}

function time(query: Query, key: string): string | undefined {
  const text = one(query, key);
  if (text === undefined) return undefined;
  const iso = parseTime(text);
  if (iso === undefined) throw new BadRequest(`${key}: "${text}" is not a time; use ISO 8601 (2026-11-28T10:00:00Z or 2026-11-28) or epoch milliseconds`);
  return iso;
}

export function parseFilter(query: Query): AuditFilter {
  const filter: AuditFilter = {};
  const from = time(query, 'from');
  const to = time(query, 'to');
  if (from !== undefined) filter.from = from;
  if (to !== undefined) filter.to = to;
  if (from !== undefined && to !== undefined && from >= to) throw new BadRequest('from must be before to (to is exclusive)');
  for (const key of ['segment', 'list', 'client'] as const) {
    const value = one(query, key);
    if (value !== undefined) filter[key] = value;
  }
  const action = one(query, 'action');
  if (action !== undefined) {
    if (action !== 'blocked' && action !== 'logged') throw new BadRequest(`action: "${action}" is not valid; use blocked or logged`);
    filter.action = action;
  }
  const qname = one(query, 'qname');
  if (qname !== undefined) filter.qname = normalizeQname(qname);
  return filter;
}

function wantsCsv(request: FastifyRequest, query: Query): boolean {
  const format = one(query, 'format');
  if (format !== undefined) {
    if (format !== 'csv' && format !== 'json') throw new BadRequest(`format: "${format}" is not valid; use json or csv`);
    return format === 'csv';
  }
  const accept = request.headers.accept ?? '';
  return /\btext\/csv\b/i.test(accept) && !/\bapplication\/json\b/i.test(accept);
}

function badRequest(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(400).send({ error: 'bad_request', message });
}

export function registerAuditRoutes(app: FastifyInstance, deps: Pick<HttpDeps, 'config' | 'audit'>): void {
  const auth = createAuth(deps.config.auth.tokens);
  const reader = deps.audit ?? createAuditReader(deps.config);
  const auditor = { preHandler: auth.require('auditor') };

  app.get('/api/audit/events', auditor, async (request, reply) => {
    const query = request.query as Query;
    let csv: boolean;
    let filter: AuditFilter;
    let limit = DEFAULT_LIMIT;
    try {
      onlyKnown(query, EVENTS_PARAMETERS);
      csv = wantsCsv(request, query);
      filter = parseFilter(query);
      const limitText = one(query, 'limit');
      if (limitText !== undefined) {
        limit = Number(limitText);
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new BadRequest(`limit: "${limitText}" is not valid; use 1..${MAX_LIMIT}`);
      }
    } catch (error) {
      if (error instanceof BadRequest) return badRequest(reply, error.message);
      throw error;
    }
    const cursor = one(query, 'cursor');
    let page;
    try {
      page = await reader.events({ ...filter, limit, ...(cursor !== undefined ? { cursor } : {}) });
    } catch (error) {
      if (error instanceof DnswardError) return badRequest(reply, error.message);
      throw error;
    }
    reply.header('cache-control', 'no-store');
    if (csv) {
      if (page.next) reply.header('x-next-cursor', page.next);
      reply.header('content-type', 'text/csv; charset=utf-8');
      reply.header('content-disposition', 'attachment; filename="dnsward-audit.csv"');
      return CSV_HEADER + page.events.map(csvRow).join('');
    }
    return page;
  });

  app.get('/api/audit/summary', auditor, async (request, reply) => {
    let filter: AuditFilter;
    try {
      onlyKnown(request.query as Query, SUMMARY_PARAMETERS);
      filter = parseFilter(request.query as Query);
    } catch (error) {
      if (error instanceof BadRequest) return badRequest(reply, error.message);
      throw error;
    }
    // Default range: the last 24 hours (to the dashboard, "today so far").
    filter.to ??= new Date().toISOString();
    filter.from ??= new Date(Date.parse(filter.to) - DAY_MS).toISOString();
    if (filter.from >= filter.to) return badRequest(reply, 'from must be before to (to is exclusive)');
    reply.header('cache-control', 'no-store');
    return reader.summary(filter);
  });
}
