import type { ErrorBody } from '../../shared/schemas.js';

/** The hub answered with an error a person can act on (a 4xx): its code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: ErrorBody,
  ) {
    super(error.message);
  }
}

/** The hub could not be reached, did not answer in time, or was briefly unavailable (5xx): try again later. */
export class Unreachable extends Error {}

export type Api = {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
};

/**
 * JSON calls to the hub that served the page. With a token (a wall screen, a kiosk), as
 * `Authorization: Bearer`; without, the session cookie goes along (same origin, so the hub's Origin
 * check on changes passes).
 */
export function createApi(opts: { token?: string; timeoutMs?: number } = {}): Api {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      throw new Unreachable(`the hub did not answer ${method} ${path}`);
    }
    if (res.status >= 500 || res.status === 408) throw new Unreachable(`the hub answered ${res.status}`);
    if (res.status === 204) return undefined as T;
    const json = await res.json().catch(() => undefined);
    if (!res.ok) throw new ApiError(res.status, json?.error ?? { code: `http_${res.status}`, message: res.statusText });
    return json as T;
  };
  return { get: (path) => call('GET', path), post: (path, body) => call('POST', path, body) };
}

/** Every page of a list (`{data, next}`), in order. */
export async function all<T>(api: Api, path: string): Promise<T[]> {
  const items: T[] = [];
  const join = path.includes('?') ? '&' : '?';
  for (let after: string | null = ''; after !== null; ) {
    const page: { data: T[]; next: string | null } = await api.get(`${path}${join}limit=500${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    items.push(...page.data);
    after = page.next;
  }
  return items;
}
