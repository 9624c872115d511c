/**
 * The CLI's client of the HTTP API of a running `tributary up`. Every failure becomes a CliError
 * whose message says what to do: an unreachable server names the URL and how to change it;
 * an error answer carries the server's message and code.
 */
import { CliError } from './io.ts';

export const DEFAULT_SERVER = 'http://localhost:8080';

export function serverUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const raw = flag || env['TRIBUTARY_SERVER'] || DEFAULT_SERVER;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`--server: expected a URL like ${DEFAULT_SERVER}, got ${JSON.stringify(raw)}`, { exitCode: 2 });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`--server: expected an http:// or https:// URL, got ${JSON.stringify(raw)}`, { exitCode: 2 });
  }
  return raw.replace(/\/+$/, '');
}

export interface ApiErrorAnswer {
  error: { code: string; message: string; retriable?: boolean };
}

/**
 * POSTs JSON for an answer read as a stream (SQL results, model progress). Throws a CliError for
 * an unreachable server or an error answer; an abort is rethrown as is.
 */
export async function postForStream(base: string, path: string, body: unknown, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  let res: Response;
  try {
    res = await fetch(base + path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, ...(signal ? { signal } : {}) });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(`cannot reach ${base} (${cause?.code ?? cause?.message ?? (err as Error).message}): is \`tributary up\` running? (--server / TRIBUTARY_SERVER)`, { code: 'SERVER_UNREACHABLE' });
  }
  if (!res.ok || !res.body) {
    const text = await res.text();
    let e: ApiErrorAnswer['error'] | undefined;
    try {
      e = (JSON.parse(text) as ApiErrorAnswer).error;
    } catch {
      e = undefined;
    }
    throw new CliError(e?.message ?? `POST ${path} answered ${res.status}: ${text.slice(0, 200)}`, { code: e?.code ?? `HTTP_${res.status}` });
  }
  return res.body;
}

export class ApiClient {
  constructor(readonly baseUrl: string) {}

  async request<T>(method: string, path: string, body?: unknown, opts: { signal?: AbortSignal } = {}): Promise<T> {
    const url = this.baseUrl + path;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new CliError(
        `cannot reach ${this.baseUrl} (${why}): is \`tributary up\` running? (--server / TRIBUTARY_SERVER)`,
        { code: 'SERVER_UNREACHABLE', cause: err },
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = (json as ApiErrorAnswer | undefined)?.error;
      if (e?.message) throw new CliError(e.message, { code: e.code });
      throw new CliError(`${method} ${url} answered ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`, {
        code: `HTTP_${res.status}`,
      });
    }
    return json as T;
  }

  get<T>(path: string, opts?: { signal?: AbortSignal }) {
    return this.request<T>('GET', path, undefined, opts);
  }
  post<T>(path: string, body?: unknown, opts?: { signal?: AbortSignal }) {
    return this.request<T>('POST', path, body ?? {}, opts);
  }
  delete<T>(path: string) {
    return this.request<T>('DELETE', path);
  }
}

export const enc = encodeURIComponent;
