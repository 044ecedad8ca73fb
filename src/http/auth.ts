// Bearer-token auth for the HTTP API: tokens from auth.tokens (inline or from an
// environment variable), roles auditor < admin, 401 without a valid token, 403 without the
// role. Tokens are compared as SHA-256 digests with timingSafeEqual against every
// configured token (no early exit), and never logged: only the token's name is.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Config } from '../config/schema.ts';
import { DnswardError, ErrorCodes } from '../errors.ts';

export type Role = 'auditor' | 'admin';

export interface Principal {
  /** The token's name from the config (safe to log). */
  name: string;
  role: Role;
}

interface TokenEntry extends Principal {
  digest: Buffer;
}

/** What each role may do: admin includes everything auditor may. */
const GRANTS: Record<Role, readonly Role[]> = { auditor: ['auditor'], admin: ['auditor', 'admin'] };

export interface Auth {
  /** A fastify preHandler: 401 / 403, or sets request.principal and continues. */
  require(role: Role): preHandlerAsyncHookHandler;
  /** The principal for an Authorization header value, or undefined (constant time in the token). */
  authenticate(header: string | undefined): Principal | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Resolves auth.tokens; throws DnswardError naming the key when a token_env variable is unset. */
export function createAuth(tokens: Config['auth']['tokens'], environment: NodeJS.ProcessEnv = process.env): Auth {
  const entries: TokenEntry[] = tokens.map((t, index) => {
    let value = t.token;
    if (t.token_env !== undefined) {
      value = environment[t.token_env];
      if (value === undefined || value === '') {
        throw new DnswardError(ErrorCodes.CONFIG, `auth.tokens[${index}].token_env: environment variable ${t.token_env} (token "${t.name}") is not set; set it or remove the token`);
      }
    }
    return { name: t.name, role: t.role, digest: digest(value as string) };
  });

  const authenticate = (header: string | undefined): Principal | undefined => {
    if (header === undefined) return undefined;
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!m) return undefined;
    const presented = digest(m[1] as string);
    let found: TokenEntry | undefined;
    for (const entry of entries) {
      // Every entry is compared, whatever matched before: timing says nothing about which.
      if (timingSafeEqual(presented, entry.digest) && found === undefined) found = entry;
    }
    return found && { name: found.name, role: found.role };
  };

  return {
    authenticate,
    require(role: Role): preHandlerAsyncHookHandler {
      return async function requireRole(request: FastifyRequest, reply: FastifyReply): Promise<void> {
        const principal = authenticate(request.headers.authorization);
        if (!principal) {
          request.log.warn({ component: 'auth', url: request.routeOptions.url, ip: request.ip, reason: request.headers.authorization ? 'invalid token' : 'no token' }, 'unauthorized request');
          await reply
            .code(401)
            .header('www-authenticate', 'Bearer realm="dnsward"')
            .send({ error: 'unauthorized', message: 'send a valid token: Authorization: Bearer <token> (auth.tokens in the config)' });
          return reply;
        }
        if (!GRANTS[principal.role].includes(role)) {
          request.log.warn({ component: 'auth', url: request.routeOptions.url, token: principal.name, role: principal.role, needs: role }, 'forbidden request');
          await reply.code(403).send({ error: 'forbidden', message: `token "${principal.name}" has role ${principal.role}; this needs role ${role}` });
          return reply;
        }
        request.principal = principal;
      };
    },
  };
}
