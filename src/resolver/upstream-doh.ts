// DNS over HTTPS to one upstream (RFC 8484) through undici: one Pool per upstream, kept open
// and reused; HTTP/2 when the server offers it (every query a stream on one connection),
// else a few HTTP/1.1 connections. Each query is a POST of application/dns-message with ID
// 0 (§4.1, friendlier to HTTP caches). An answer counts only with status 200, the DNS media
// type, ID 0, QR=1 and our question; anything else fails the attempt and the pool fails over.
// Loaded only when a DoH upstream is configured (undici costs memory).
import { Pool } from 'undici';
import type { UpstreamTarget } from '../config/upstreams.ts';
import { buildUpstreamQuery, isReplyTo } from './upstream-message.ts';
import type { Attempt, TransportContext, UpstreamTransport } from './upstream-transport.ts';

const MEDIA_TYPE = 'application/dns-message';
/** HTTP/1.1 connections at most when the server does not speak HTTP/2. */
const H1_CONNECTIONS = 4;
/** An idle connection is kept this long (the server may close it sooner). */
const KEEP_ALIVE_MS = 30_000;

/** The attempt's abort switch; compared on completion, so a late result of an old attempt is ignored. */
interface Request {
  readonly abort: AbortController;
}

export class DohTransport<J extends Attempt> implements UpstreamTransport<J> {
  private readonly target: UpstreamTarget;
  private readonly context: TransportContext<J>;
  private readonly pool: Pool;
  private readonly headers: Record<string, string>;
  private readonly inFlight = new Set<Request>();
  private closed = false;

  constructor(target: UpstreamTarget, context: TransportContext<J>) {
    this.target = target;
    this.context = context;
    const host = target.family === 6 ? `[${target.host}]` : target.host;
    this.pool = new Pool(`https://${host}:${target.port}`, {
      allowH2: true,
      connections: H1_CONNECTIONS,
      keepAliveTimeout: KEEP_ALIVE_MS,
      maxResponseSize: 65_535,
      connect: {
        // Ask for h2 first; the server chooses.
        preferH2: true,
        timeout: Math.max(context.timeoutMs, 1000),
        ...(target.serverName !== undefined ? { servername: target.serverName } : {}),
        ...(context.ca !== undefined ? { ca: context.ca } : {}),
      },
    });
    this.headers = { 'content-type': MEDIA_TYPE, accept: MEDIA_TYPE };
    // With "#name" the HTTP authority is that name too, as a browser would send it.
    if (target.serverName !== undefined) this.headers.host = target.port === 443 ? target.serverName : `${target.serverName}:${target.port}`;
  }

  async start(): Promise<void> {}

  send(job: J): void {
    if (this.closed) return;
    const request: Request = { abort: new AbortController() };
    job.id = 0;
    job.handle = request;
    job.query = buildUpstreamQuery(0, job.question, job.dnssecOk, job.checkingDisabled);
    this.inFlight.add(request);
    const wait = Math.max(job.attemptDeadline - Date.now(), 1);
    this.exchange(job, request, wait).then(
      (outcome) => this.settle(job, request, outcome),
      (error: NodeJS.ErrnoException) => this.settle(job, request, `doh-error: ${error.code ?? error.message}`),
    );
  }

  cancel(job: J): void {
    const request = job.handle as Request | undefined;
    job.handle = undefined;
    request?.abort.abort();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const request of this.inFlight) request.abort.abort();
    await this.pool.destroy().catch(() => undefined);
  }

  /** The answer, or why there is none. */
  private async exchange(job: J, request: Request, waitMs: number): Promise<Buffer | string> {
    const response = await this.pool.request({
      method: 'POST',
      path: this.target.path,
      headers: this.headers,
      body: job.query as Buffer,
      signal: request.abort.signal,
      headersTimeout: waitMs,
      bodyTimeout: waitMs,
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      return `doh-status-${response.statusCode}`;
    }
    const type = response.headers['content-type'];
    if (typeof type !== 'string' || type.split(';')[0]?.trim().toLowerCase() !== MEDIA_TYPE) {
      await response.body.dump();
      return 'doh-media-type';
    }
    const body = Buffer.from(await response.body.arrayBuffer());
    return isReplyTo(body, job) ? body : 'doh-mismatch';
  }

  private settle(job: J, request: Request, outcome: Buffer | string): void {
    this.inFlight.delete(request);
    if (job.handle !== request || this.closed) return;
    job.handle = undefined;
    if (typeof outcome !== 'string') {
      this.context.events.answered(job, outcome);
      return;
    }
    if (outcome === 'doh-mismatch') this.context.events.mismatched();
    this.context.events.failed(job, outcome);
  }
}
