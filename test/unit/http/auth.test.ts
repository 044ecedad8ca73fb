import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createAuth } from '../../../src/http/auth.ts';

const AUDITOR = 'a'.repeat(24);
const ADMIN = 'b'.repeat(24);
const tokens = [
  { name: 'reader', role: 'auditor' as const, token: AUDITOR },
  { name: 'ops', role: 'admin' as const, token_env: 'DNSWARD_TEST_ADMIN' },
];

describe('createAuth', () => {
  const auth = createAuth(tokens, { DNSWARD_TEST_ADMIN: ADMIN });

  it('knows a token by its Bearer header, from the config or the environment', () => {
    expect(auth.authenticate(`Bearer ${AUDITOR}`)).toEqual({ name: 'reader', role: 'auditor' });
    expect(auth.authenticate(`bearer \t${ADMIN} `)).toEqual({ name: 'ops', role: 'admin' });
  });

  it('knows nothing of a wrong, missing or malformed header', () => {
    for (const header of [undefined, '', `Bearer ${AUDITOR}x`, AUDITOR, `Basic ${AUDITOR}`, `Bearer ${AUDITOR} extra`, 'Bearer ']) expect(auth.authenticate(header)).toBeUndefined();
  });

  it('refuses to start when a token_env variable is unset, naming the key', () => {
    expect(() => createAuth(tokens, {})).toThrow('auth.tokens[1].token_env: environment variable DNSWARD_TEST_ADMIN (token "ops") is not set');
  });

  it('answers 401 without a valid token, 403 without the role, and lets an admin do what an auditor may', async () => {
    const app = Fastify();
    app.get('/audit', { preHandler: auth.require('auditor') }, async (request) => ({ who: request.principal?.name }));
    app.post('/admin', { preHandler: auth.require('admin') }, async (request) => ({ who: request.principal?.name }));
    const call = (method: 'GET' | 'POST', url: string, token?: string) => app.inject({ method, url, headers: token ? { authorization: `Bearer ${token}` } : {} });
    const none = await call('GET', '/audit');
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="dnsward"');
    expect((await call('GET', '/audit', 'wrong')).statusCode).toBe(401);
    expect((await call('POST', '/admin', AUDITOR)).statusCode).toBe(403);
    expect((await call('POST', '/admin', AUDITOR)).json()).toMatchObject({ error: 'forbidden', message: 'token "reader" has role auditor; this needs role admin' });
    expect((await call('GET', '/audit', AUDITOR)).json()).toEqual({ who: 'reader' });
    expect((await call('GET', '/audit', ADMIN)).json()).toEqual({ who: 'ops' });
    expect((await call('POST', '/admin', ADMIN)).json()).toEqual({ who: 'ops' });
    await app.close();
  });
});
