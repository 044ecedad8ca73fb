// The public list feed (no authentication): GET /lists (JSON index), GET /lists/<name>/<format>,
// the signed sha256sums manifest per list, each list's changelog (/lists/<name>/changes: JSON,
// or Atom for a client that prefers it; changes.json and changes.atom name one), the public
// key, and the subscriber page at /.
// Every body is pre-rendered per list version (src/lists/feed.ts), the page per index version;
// a request only picks the representation, answers conditionals with 304, and copies bytes.
// No request header changes a body: addresses come from lists.public_url, else are paths.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  CHANGES_ATOM_NAME,
  CHANGES_JSON_NAME,
  CHANGES_NAME,
  feedOptionsFromConfig,
  ListFeed,
  MANIFEST_NAME,
  PUBLIC_KEY_NAME,
  type RenderedFile,
  renderedFile,
  SIGNATURE_NAME,
} from '../../lists/feed.ts';
import type { HttpDeps } from '../deps.ts';
import { type Index, renderListsPage } from '../pages/lists-page.ts';

export function registerListRoutes(app: FastifyInstance, deps: Pick<HttpDeps, 'config' | 'logger' | 'lists' | 'networks'>): void {
  if (!deps.config.lists.feed) return;
  // A plugin so that the signing key loads (and fails) before the server listens.
  app.register(async (scope) => {
    const log = deps.logger.child({ component: 'lists-feed' });
    const feed = new ListFeed(deps.lists, await feedOptionsFromConfig(deps.config.lists, log), deps.networks);
    log.info({ signing_key: deps.config.lists.signing_key_file, sha256: feed.publicKeyFingerprint, public_url: deps.config.lists.public_url ?? null }, 'lists: feed ready');
    if (!deps.config.lists.public_url) log.warn('lists.public_url is not set: the page at / shows paths, not full addresses, and files carry no Homepage (set it to the address subscribers use)');
    feed.start((error) => log.error({ err: error }, 'rendering a list failed'));
    scope.addHook('onClose', async () => feed.stop());
    const maxAge = deps.config.lists.cache_max_age_s;
    const keyFile = feed.publicKeyPem ? renderedFile('key', PUBLIC_KEY_NAME, 'application/x-pem-file', feed.publicKeyPem) : undefined;

    // The page: rendered and compressed once per index version, the same bytes for every request.
    let page: { index: RenderedFile; file: Promise<RenderedFile> } | undefined;
    scope.get('/', async (request, reply) => {
      const indexFile = await feed.index();
      if (page?.index !== indexFile) {
        const index = JSON.parse(indexFile.body.toString('utf8')) as Index;
        const file = renderedFile('page', 'index.html', 'text/html; charset=utf-8', renderListsPage(index, deps.config.lists.public_url));
        page = { index: indexFile, file };
        file.catch(() => {
          if (page?.file === file) page = undefined;
        });
      }
      return sendRendered(request, reply, await page.file, undefined, 300);
    });

    scope.get('/lists', async (request, reply) => sendRendered(request, reply, await feed.index(), newestChange(feed), maxAge));

    scope.get(`/lists/${PUBLIC_KEY_NAME}`, async (request, reply) => {
      if (!keyFile) return notFound(reply, 'this feed has no signing key');
      return sendRendered(request, reply, await keyFile, undefined, maxAge);
    });

    scope.get<{ Params: { name: string; format: string } }>('/lists/:name/:format', async (request, reply) => {
      const { name, format } = request.params;
      const publication = await feed.anyPublication(name);
      if (!publication) return notFound(reply, `no list "${name}"; GET /lists for the index`);
      if (format === CHANGES_NAME || format === CHANGES_JSON_NAME || format === CHANGES_ATOM_NAME) {
        const changes = publication.changes;
        if (!changes) return notFound(reply, `list "${name}" has no changelog`);
        const negotiated = format === CHANGES_NAME;
        const atom = format === CHANGES_ATOM_NAME || (negotiated && prefersAtom(request.headers.accept));
        return sendRendered(request, reply, atom ? changes.atom : changes.json, publication.snapshot.lastModified, maxAge, negotiated ? 'Accept, Accept-Encoding' : undefined);
      }
      const file =
        format === MANIFEST_NAME ? publication.manifest : format === SIGNATURE_NAME ? publication.signature : publication.files.get(format);
      if (!file) {
        const known = [
          ...publication.files.keys(),
          MANIFEST_NAME,
          ...(publication.signature ? [SIGNATURE_NAME] : []),
          ...(publication.changes ? [CHANGES_NAME, CHANGES_JSON_NAME, CHANGES_ATOM_NAME] : []),
        ].join(', ');
        return notFound(reply, `list "${name}" has no format "${format}"; use one of: ${known}`);
      }
      return sendRendered(request, reply, file, publication.snapshot.lastModified, maxAge);
    });
  });
}

function newestChange(feed: ListFeed): Date | undefined {
  const times = [...feed.published(), ...feed.publishedNetworks()].map((s) => s.lastModified.getTime());
  return times.length > 0 ? new Date(Math.max(...times)) : undefined;
}

function notFound(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(404).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(`${message}\n`);
}

type Encoding = 'br' | 'gzip' | 'identity';

/** Sends a pre-rendered file with validators; 304 for a matching conditional request. */
export function sendRendered(
  request: FastifyRequest,
  reply: FastifyReply,
  file: RenderedFile,
  lastModified: Date | undefined,
  maxAge: number,
  vary = 'Accept-Encoding',
): FastifyReply {
  const encoding = negotiateEncoding(request.headers['accept-encoding']);
  const tags = { identity: file.etag, gzip: file.etag.replace(/"$/, '-gz"'), br: file.etag.replace(/"$/, '-br"') };
  reply.header('etag', tags[encoding]);
  reply.header('cache-control', `public, max-age=${maxAge}`);
  reply.header('vary', vary);
  reply.header('x-content-type-options', 'nosniff');
  if (lastModified) reply.header('last-modified', lastModified.toUTCString());

  const ifNoneMatch = request.headers['if-none-match'];
  const ifModifiedSince = request.headers['if-modified-since'];
  if (ifNoneMatch !== undefined) {
    // Weak comparison (RFC 9110 13.1.2): any of our representations' tags matches.
    const ours = new Set(Object.values(tags));
    const theirs = ifNoneMatch.split(',').map((t) => t.trim().replace(/^W\//, ''));
    if (theirs.includes('*') || theirs.some((t) => ours.has(t))) return reply.code(304).send();
  } else if (ifModifiedSince !== undefined && lastModified) {
    const since = Date.parse(ifModifiedSince);
    if (!Number.isNaN(since) && Math.floor(lastModified.getTime() / 1000) * 1000 <= since) return reply.code(304).send();
  }

  const body = encoding === 'br' ? file.br : encoding === 'gzip' ? file.gzip : file.body;
  if (encoding !== 'identity') reply.header('content-encoding', encoding);
  reply.header('content-length', body.length);
  return reply.code(200).type(file.contentType).send(body);
}

/** Whether an Accept header prefers Atom to JSON (feed readers ask for application/atom+xml); JSON otherwise. */
export function prefersAtom(accept: string | undefined): boolean {
  if (!accept) return false;
  /** The q-value the header gives a type, from its most specific matching range (RFC 9110 12.5.1). */
  const q = (type: string): number => {
    let specificity = -1;
    let value = 0;
    for (const part of accept.split(',')) {
      const [range = '', ...params] = part.trim().toLowerCase().split(';');
      const r = range.trim();
      const level = r === type ? 2 : r === `${type.split('/')[0]}/*` ? 1 : r === '*/*' ? 0 : -1;
      if (level <= specificity) continue;
      const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      const parsed = qParam ? Number(qParam.slice(2)) : 1;
      specificity = level;
      value = Number.isFinite(parsed) ? parsed : 0;
    }
    return value;
  };
  return q('application/atom+xml') > q('application/json');
}

/** Picks br, then gzip, then identity, honouring q-values and "*". */
export function negotiateEncoding(header: string | undefined): Encoding {
  if (!header) return 'identity';
  const q = new Map<string, number>();
  for (const part of header.split(',')) {
    const [token = '', ...params] = part.trim().toLowerCase().split(';');
    if (!token) continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = qParam ? Number(qParam.slice(2)) : 1;
    q.set(token.trim(), Number.isFinite(value) ? value : 0);
  }
  const weight = (coding: string): number => q.get(coding) ?? (coding === 'identity' ? 1 : (q.get('*') ?? 0));
  if (weight('br') > 0 && weight('br') >= weight('gzip')) return 'br';
  if (weight('gzip') > 0) return 'gzip';
  return 'identity';
}
