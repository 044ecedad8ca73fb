// The page's side of the auditor API. The token lives in sessionStorage only (gone when the
// browser session ends), travels only as `Authorization: Bearer`, never in a URL or a cookie;
// a 401 or 403 forgets it at once.
import { authProblem } from './model.ts';

const TOKEN_KEY = 'dnsward.dashboard.token';

export const session = {
  token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  save(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  forget(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** The API refused the token (401) or its role (403); the token is already forgotten. */
export class AuthError extends Error {}

export class ApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function bodyOf(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

export interface GetOptions {
  accept?: string;
  /** false: send no token (/readyz). */
  auth?: boolean;
  /** A 403 is an ApiError for the caller to handle, not a reason to forget the token (optional panels). */
  forbiddenIsOptional?: boolean;
}

/** Same-origin GET with the token in the Authorization header. */
export async function get(path: string, params: URLSearchParams | undefined, options: GetOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
  if (options.auth !== false) {
    const token = session.token();
    if (token === null) throw new AuthError('Enter a token to read the block log.');
    headers.authorization = `Bearer ${token}`;
  }
  const query = params && [...params.keys()].length > 0 ? `?${params.toString()}` : '';
  let response: Response;
  try {
    response = await fetch(path + query, { headers, credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' });
  } catch (error) {
    throw new ApiError(0, `${path}: the server did not answer (${(error as Error).message})`);
  }
  if (options.auth !== false && (response.status === 401 || (response.status === 403 && !options.forbiddenIsOptional))) {
    session.forget();
    throw new AuthError(authProblem(response.status, await bodyOf(response)));
  }
  // /readyz answers 503 with the same report while the replica is not ready: still worth showing.
  if (!response.ok && !(options.auth === false && response.status === 503)) {
    const body = (await bodyOf(response)) as { message?: unknown } | undefined;
    const message = typeof body?.message === 'string' ? body.message : response.statusText;
    throw new ApiError(response.status, `${path}: ${response.status} ${message}`);
  }
  return response;
}

export async function getJson<T>(path: string, params?: URLSearchParams, options: GetOptions = {}): Promise<T> {
  return (await (await get(path, params, options)).json()) as T;
}
