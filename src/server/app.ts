/**
 * The HTTP API: health, readiness, Prometheus metrics and the JSON API under `/api`
 * (documented in docs/http-api.md).
 *
 * Every error answers `{ "error": { "code", "message", "retriable" } }` with the status the
 * TributaryError carries; anything else becomes a 500 with code INTERNAL (and is logged).
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { routePath } from 'hono/route';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bus, BusProducer } from '../bus/types.ts';
import { counter, histogram } from '../monitor/metrics.ts';
import { isTributaryError, TributaryError } from '../util/errors.ts';
import { ConsumerInstances } from './consumer-instances.ts';
import { errorBody, HttpError } from './errors.ts';
import { consumerRoutes } from './routes/consumers.ts';
import { groupRoutes } from './routes/groups.ts';
import { topicRoutes } from './routes/topics.ts';

export type PartState = 'starting' | 'ready' | 'stopping' | 'stopped' | 'failed' | 'disabled';

export interface PartStatus {
  state: PartState;
  detail?: string;
}

export interface HttpAppOptions {
  bus: Bus;
  registry?: Registry;
  logger?: Logger;
  /** State of the other parts of the process, shown by `/ready` (the HTTP API adds itself). */
  parts?: () => Record<string, PartStatus>;
  /** Largest accepted request body (default 16 MiB); larger answers 413. */
  maxBodyBytes?: number;
  /** Consumer instances idle this long are closed (default 60 s). */
  consumerIdleTimeoutMs?: number;
  version?: string;
  /** Routes of feature parts, mounted under `/api/<path>`. */
  mounts?: Array<{ path: string; app: Hono }>;
  /** Routes of feature parts mounted at the root, `/<path>`. */
  rootMounts?: Array<{ path: string; app: Hono }>;
  /** Serves the web UI for GET paths outside `/api` (see `createWebUi`). */
  web?: (c: Context) => Promise<Response>;
}

export interface HttpApp {
  /** The Hono application (use `app.fetch` or `app.request()` in tests). */
  app: Hono;
  consumers: ConsumerInstances;
  /** Refuses new API work, closes consumer instances (ending their long polls) and the API's producer. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

function send(c: Context, err: TributaryError) {
  return c.json(errorBody(err), err.httpStatus as ContentfulStatusCode);
}

/**
 * @example
 * ```ts
 * const http = createHttpApp({ bus, registry, logger });
 * const res = await http.app.request('/api/topics');
 * const server = await startHttpServer(http, { port: 8080 });
 * ```
 */
export function createHttpApp(opts: HttpAppOptions): HttpApp {
  const { bus, logger } = opts;
  const startedAt = Date.now();
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const consumers = new ConsumerInstances(bus, {
    ...(opts.consumerIdleTimeoutMs !== undefined ? { idleTimeoutMs: opts.consumerIdleTimeoutMs } : {}),
    ...(logger ? { logger } : {}),
    ...(opts.registry ? { registry: opts.registry } : {}),
  });
  let producer: BusProducer | null = null;
  let closing = false;
  const getProducer = () => {
    if (closing) throw new HttpError('SHUTTING_DOWN', 'the server is shutting down');
    return (producer ??= bus.producer({ lingerMs: 1 }));
  };

  const app = new Hono();

  if (opts.registry) {
    const requests = counter(opts.registry, {
      name: 'tributary_http_requests_total',
      help: 'HTTP requests answered, by method, route and status.',
      labelNames: ['method', 'route', 'status'],
    });
    const duration = histogram(opts.registry, {
      name: 'tributary_http_request_duration_seconds',
      help: 'Time to answer HTTP requests (long polls included).',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    });
    app.use('*', async (c, next) => {
      const start = process.hrtime.bigint();
      await next();
      const matched = routePath(c, -1);
      const route = matched === '*' || matched === '/*' ? 'unmatched' : matched;
      requests.inc({ method: c.req.method, route, status: String(c.res.status) });
      duration.observe({ method: c.req.method, route }, Number(process.hrtime.bigint() - start) / 1e9);
    });
  }

  app.use(
    '*',
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) =>
        send(c, new HttpError('PAYLOAD_TOO_LARGE', `request body exceeds ${maxBodyBytes} bytes: send fewer records per request`)),
    }),
  );

  app.onError((err, c) => {
    if (isTributaryError(err)) {
      if (err.httpStatus >= 500) logger?.error({ err, method: c.req.method, path: c.req.path }, 'request failed');
      else logger?.debug({ code: err.code, msg: err.message, path: c.req.path }, 'request rejected');
      return send(c, err);
    }
    logger?.error({ err, method: c.req.method, path: c.req.path }, 'request failed with an unexpected error');
    const message = err instanceof Error ? err.message : String(err);
    return send(c, new HttpError('INTERNAL', `internal error: ${message}`));
  });

  app.notFound((c) => send(c, new HttpError('NOT_FOUND', `no such endpoint: ${c.req.method} ${c.req.path} (see docs/http-api.md)`)));

  app.get('/health', (c) =>
    c.json({ status: 'ok', version: opts.version ?? null, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }),
  );

  app.get('/ready', (c) => {
    const parts: Record<string, PartStatus> = { ...(opts.parts?.() ?? {}), http: { state: closing ? 'stopping' : 'ready' } };
    const ready = Object.values(parts).every((p) => p.state === 'ready' || p.state === 'disabled');
    return c.json({ ready, parts }, ready ? 200 : 503);
  });

  app.get('/metrics', async (c) => {
    if (!opts.registry) throw new HttpError('NOT_FOUND', 'metrics are not enabled on this server');
    const text = await opts.registry.metrics();
    return c.body(text, 200, { 'Content-Type': opts.registry.contentType });
  });

  app.use('/api/*', async (c, next) => {
    if (closing) throw new HttpError('SHUTTING_DOWN', 'the server is shutting down: retry against the next instance');
    await next();
  });
  app.route('/api/topics', topicRoutes({ bus, producer: getProducer }));
  app.route('/api/consumers', consumerRoutes(consumers));
  app.route('/api/groups', groupRoutes(bus));
  for (const m of opts.mounts ?? []) app.route(`/api/${m.path.replace(/^\/+/, '')}`, m.app);
  for (const m of opts.rootMounts ?? []) app.route(`/${m.path.replace(/^\/+/, '')}`, m.app);
  if (opts.web) {
    const web = opts.web;
    app.get('*', (c, next) => (c.req.path === '/api' || c.req.path.startsWith('/api/') ? next() : web(c)));
  }

  return {
    app,
    consumers,
    async close() {
      closing = true;
      await consumers.close();
      const p = producer;
      producer = null;
      if (p) await p.close();
    },
  };
}
