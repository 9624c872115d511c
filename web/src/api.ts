/**
 * Calls to the Tributary HTTP API. Every failure becomes an ApiError whose message says what
 * happened in words (the server's own message when it sent one), so views show it as is.
 */

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retriable: boolean;
  constructor(code: string, message: string, status: number, retriable = false) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.retriable = retriable;
  }
}

export interface ApiOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  /** Error statuses whose JSON body is still the answer (e.g. 503 from /ready). */
  accept?: number[];
}

interface Fetched {
  ok: boolean;
  status: number;
  statusText: string;
  text: string;
}

/** Answers index.html asked for while the scripts loaded (each used once, by the first GET of its path). */
function takePrefetched(path: string): Promise<Fetched> | undefined {
  const pre = (globalThis as { __tributaryPrefetch?: Record<string, Promise<Fetched> | undefined> }).__tributaryPrefetch;
  const p = pre?.[path];
  if (p) delete pre![path];
  return p;
}

export async function api<T>(path: string, opts: ApiOptions = {}): Promise<T> {
  let res: Fetched;
  try {
    const pre = opts.method === undefined && opts.body === undefined ? takePrefetched(path) : undefined;
    res = pre
      ? await pre
      : await fetch(path, {
          method: opts.method ?? (opts.body !== undefined ? 'POST' : 'GET'),
          headers: opts.body !== undefined ? { 'Content-Type': 'application/json' } : {},
          body: opts.body !== undefined ? JSON.stringify(opts.body) : null,
          signal: opts.signal ?? null,
        }).then(async (r) => ({ ok: r.ok, status: r.status, statusText: r.statusText, text: await r.text() }));
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError('NETWORK', `cannot reach the Tributary server (${(err as Error).message}): is \`tributary up\` still running?`, 0, true);
  }
  const text = res.text;
  let body: unknown = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      if (!res.ok) throw new ApiError('HTTP_' + res.status, `${opts.method ?? 'GET'} ${path} failed with HTTP ${res.status} ${res.statusText}: ${text.slice(0, 200)}`, res.status);
      throw new ApiError('BAD_RESPONSE', `${path} answered something that is not JSON: ${text.slice(0, 120)}`, res.status);
    }
  }
  if (!res.ok && !opts.accept?.includes(res.status)) {
    const e = (body as { error?: { code?: string; message?: string; retriable?: boolean } } | undefined)?.error;
    if (e?.message) throw new ApiError(e.code ?? 'HTTP_' + res.status, e.message, res.status, e.retriable ?? false);
    throw new ApiError('HTTP_' + res.status, `${opts.method ?? 'GET'} ${path} failed with HTTP ${res.status} ${res.statusText}`, res.status);
  }
  return body as T;
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.code && !err.code.startsWith('HTTP_') && err.code !== 'NETWORK' ? `${err.message} (${err.code})` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export const enc = encodeURIComponent;
