// The auditor dashboard on the private listener: GET /dashboard (the page),
// GET /dashboard/assets/<hash>/<file> (its modules, style and icon), served from memory as
// built by `npm run build` (src/http/dashboard/), and the data endpoint only it needs,
// GET /api/audit/timeline (./audit-timeline.ts). The page is static and holds no secret: it
// asks for a token and calls the auditor API with it. Every response carries a strict
// Content-Security-Policy (scripts and styles from this origin only, no inline script, no
// framing, no form submission, Trusted Types so that no HTML sink can be used).
// Caching: assets live under their content hash, so they are immutable for a year; the page
// is revalidated on every load (ETag, 304), so a new build is picked up at once.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RenderedFile } from '../../lists/rendered-file.ts';
import { ASSETS_PATH, type DashboardBundle, DASHBOARD_DIST, loadDashboard } from '../dashboard/bundle.ts';
import type { HttpDeps } from '../deps.ts';
import { registerAuditTimelineRoutes } from './audit-timeline.ts';
import { negotiateEncoding } from './lists.ts';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-resource-policy', 'same-origin');
}

function sendFile(request: FastifyRequest, reply: FastifyReply, file: RenderedFile, cacheControl: string): FastifyReply {
  const encoding = negotiateEncoding(request.headers['accept-encoding']);
  const tags = { identity: file.etag, gzip: file.etag.replace(/"$/, '-gz"'), br: file.etag.replace(/"$/, '-br"') };
  securityHeaders(reply).header('etag', tags[encoding]).header('cache-control', cacheControl).header('vary', 'Accept-Encoding');
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    const ours = new Set(Object.values(tags));
    if (ifNoneMatch.split(',').some((t) => ours.has(t.trim().replace(/^W\//, '')) || t.trim() === '*')) return reply.code(304).send();
  }
  const body = encoding === 'br' ? file.br : encoding === 'gzip' ? file.gzip : file.body;
  if (encoding !== 'identity') reply.header('content-encoding', encoding);
  return reply.code(200).type(file.contentType).header('content-length', body.length).send(body);
}

function plain(reply: FastifyReply, code: number, text: string): FastifyReply {
  return securityHeaders(reply).code(code).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(`${text}\n`);
}

/** `dir`: where the build is (tests of the route pass their own). */
export function registerDashboardRoutes(app: FastifyInstance, deps: HttpDeps, dir: string = DASHBOARD_DIST): void {
  registerAuditTimelineRoutes(app, deps);
  const log = deps.logger.child({ component: 'dashboard' });
  // Read and compressed once, in the background: starting the replica does not wait for it.
  const loading: Promise<DashboardBundle | undefined> = loadDashboard(dir).then(
    (bundle) => {
      if (bundle === undefined) log.warn({ dir }, 'dashboard: not built; /dashboard answers 503 until `npm run build` writes it and dnsward restarts');
      return bundle;
    },
    (error: unknown) => {
      log.error({ err: error, dir }, 'dashboard: the build cannot be read; /dashboard answers 503');
      return undefined;
    },
  );
  const notBuilt = `the dashboard is not built: run \`npm run build\` (it writes ${dir}) and restart dnsward`;

  app.get('/dashboard', async (request, reply) => {
    const bundle = await loading;
    return bundle ? sendFile(request, reply, bundle.page, REVALIDATE) : plain(reply, 503, notBuilt);
  });
  app.get('/dashboard/', async (_request, reply) => securityHeaders(reply).redirect('/dashboard', 308));
  app.get<{ Params: { hash: string; file: string } }>(`${ASSETS_PATH}/:hash/:file`, async (request, reply) => {
    const bundle = await loading;
    const { hash, file } = request.params;
    const asset = bundle?.hash === hash ? bundle.assets.get(file) : undefined;
    if (!asset) return plain(reply, 404, bundle ? 'no such dashboard file; reload /dashboard' : notBuilt);
    return sendFile(request, reply, asset, IMMUTABLE);
  });
}
