// One HTTP listener (public feed or private API) as fastify options and server settings: TLS
// from files (re-read on reload), and the connection limits that keep a flood of HTTP
// connections from taking what DNS needs: a total and a per-client cap, header, request and
// keep-alive timeouts. Closing an over-limit connection costs one accept and one close.
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { Server as TlsServer } from 'node:https';
import type { Socket } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { HttpListenerConfig } from '../config/sections/http.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';
import { deadlineCheckInterval } from '../server/listen.ts';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/** Reads the listener's certificate and key; a clear error names the key to fix. */
export async function readTls(tls: HttpListenerConfig['tls'], section: string): Promise<TlsMaterial | undefined> {
  if (tls === undefined) return undefined;
  const read = async (file: string, key: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new DnswardError(ErrorCodes.CONFIG, `${section}.tls.${key}: cannot read ${file}: ${(error as Error).message}; give a readable PEM file`, { cause: error });
    }
  };
  return { cert: await read(tls.cert_file, 'cert_file'), key: await read(tls.key_file, 'key_file') };
}

/** A fastify app for one listener: built here, routes added by the caller, started with listen(). */
export function createListenerApp(config: HttpListenerConfig, tls: TlsMaterial | undefined, logger: Logger): FastifyInstance {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger at runtime; the cast only aligns the generic types.
    loggerInstance: logger as FastifyBaseLogger,
    // One line per HTTP request would drown the decision log; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Never accept bodies larger than we need; the API takes none of size.
    bodyLimit: 64 * 1024,
    keepAliveTimeout: config.idle_timeout_ms,
    requestTimeout: config.request_timeout_ms,
    // Socket inactivity of any kind (an idle connection that never sends a request).
    connectionTimeout: config.idle_timeout_ms + config.request_timeout_ms,
    // Node checks the header and request deadlines only every connectionsCheckingInterval
    // (30 s by default): check often enough for headers_timeout to mean what it says.
    ...(tls ? { https: { cert: tls.cert, key: tls.key, ...deadlineChecks(config) } } : { http: deadlineChecks(config) }),
  }) as unknown as FastifyInstance;
  applyConnectionLimits(app.server, config);
  return app;
}

function deadlineChecks(config: HttpListenerConfig): { headersTimeout: number; connectionsCheckingInterval: number } {
  return { headersTimeout: config.headers_timeout_ms, connectionsCheckingInterval: deadlineCheckInterval(config.headers_timeout_ms) };
}

/** Caps connections in total and per client address, and bounds how long headers may take. */
export function applyConnectionLimits(server: Server | TlsServer, config: HttpListenerConfig): void {
  server.maxConnections = config.max_connections;
  server.headersTimeout = config.headers_timeout_ms;
  const perClient = new Map<string, number>();
  // 'connection' fires for every accepted socket (before TLS for https): close the excess at once.
  server.on('connection', (socket: Socket) => {
    const client = socket.remoteAddress ?? '';
    const open = perClient.get(client) ?? 0;
    if (open >= config.max_connections_per_client) {
      socket.destroy();
      return;
    }
    perClient.set(client, open + 1);
    socket.once('close', () => {
      const left = (perClient.get(client) ?? 1) - 1;
      if (left <= 0) perClient.delete(client);
      else perClient.set(client, left);
    });
  });
}

/** Installs a new certificate and key on a running TLS listener (new connections use them). */
export function swapTls(app: FastifyInstance, tls: TlsMaterial): void {
  (app.server as TlsServer).setSecureContext({ cert: tls.cert, key: tls.key });
}
