/**
 * HTTP routes of the warehouse (docs/http-api.md):
 *
 *   POST   /api/sql                    run a query; the result streams (format ndjson | json | csv | arrow)
 *   GET    /api/sql/queries            running queries
 *   DELETE /api/sql/queries/:id        cancel one (also: the client closing the connection)
 *   GET    /api/models                 the project's models, their DAG and tests
 *   POST   /api/models/build           build (streams JSON lines: start/done per model, then the result)
 *   POST   /api/models/test            run the tests (streams JSON lines: one per test, then the result)
 *
 * `ndjson` (the CLI's format) is: a first line `{"queryId","columns"}`, then one JSON array per
 * row (values in column order), then `{"done":{"rows","ms"}}` — or `{"error":{…}}` if the query
 * fails after the first line. Errors before the first line are ordinary error answers, with
 * `position` (line, column, offset) when DuckDB located the problem.
 */
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { ANONYMOUS } from '../../govern/index.ts';
import { readJson, queryParams } from '../../server/request.ts';
import { isTributaryError } from '../../util/errors.ts';
import { num, obj, oneOf, str } from '../../util/schema.ts';
import { WarehouseError } from '../errors.ts';
import { ArrowEncoder } from '../gateway/arrow.ts';
import type { QueryCursor, SqlGateway } from '../gateway/gateway.ts';
import { convertChunk, csvLine } from '../gateway/values.ts';
import type { ModelRunner } from '../models/runner.ts';

export const SQL_FORMATS = ['ndjson', 'json', 'csv', 'arrow'] as const;
export type SqlFormat = (typeof SQL_FORMATS)[number];

const sqlBody = obj({
  sql: str('a SQL query'),
  format: oneOf(SQL_FORMATS).optional(),
  asOf: z
    .union([obj({ snapshot: num({ int: true, min: 0 }) }), obj({ time: z.union([z.string(), z.number()], { error: 'expected an ISO-8601 time or epoch milliseconds' }) })], {
      error: 'expected { snapshot: <id> } or { time: "<ISO-8601>" | <epoch ms> }',
    })
    .optional(),
  queryId: z.string({ error: 'expected a string' }).regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'use 1–64 of A-Z a-z 0-9 _ -' }).optional(),
});

const buildBody = obj({
  select: z.array(str('a selector')).optional(),
  vars: z.record(z.string(), z.unknown(), { error: 'expected an object of name → value' }).optional(),
  fullRefresh: z.boolean({ error: 'expected true or false' }).optional(),
});

const testBody = obj({
  select: z.array(str('a selector')).optional(),
  vars: z.record(z.string(), z.unknown(), { error: 'expected an object of name → value' }).optional(),
});

function errorJson(err: unknown): { code: string; message: string; retriable: boolean; position?: unknown } {
  if (err instanceof WarehouseError) return err.toJSON();
  if (isTributaryError(err)) return err.toJSON();
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err), retriable: false };
}

function fail(c: Context, err: unknown) {
  if (!isTributaryError(err)) throw err;
  return c.json({ error: errorJson(err) }, err.httpStatus as ContentfulStatusCode);
}

function parseAsOf(a: { snapshot: number } | { time: string | number } | undefined): { snapshot: number } | { time: number } | undefined {
  if (!a) return undefined;
  if ('snapshot' in a) return a;
  const t = typeof a.time === 'number' ? a.time : /^\d+$/.test(a.time) ? Number(a.time) : Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(a.time) ? a.time.replace(' ', 'T') : `${a.time.replace(' ', 'T')}Z`);
  if (!Number.isFinite(t)) throw new WarehouseError('WAREHOUSE_AS_OF_INVALID', `asOf.time: expected an ISO-8601 time or epoch milliseconds, got ${JSON.stringify(a.time)}`);
  return { time: t };
}

const encoder = new TextEncoder();

/** A pull-driven body: the next batch is fetched from DuckDB only when the client has taken the previous one. */
function streamBody(cursor: QueryCursor, format: SqlFormat, started: number): ReadableStream<Uint8Array> {
  let arrow: ArrowEncoder | null = null;
  const chunks = cursor.chunks()[Symbol.asyncIterator]();
  let headerSent = false;
  let finished = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (finished) return;
      if (!headerSent) {
        headerSent = true;
        if (format === 'ndjson') return controller.enqueue(encoder.encode(JSON.stringify({ queryId: cursor.id, columns: cursor.columns }) + '\n'));
        if (format === 'csv') return controller.enqueue(encoder.encode(csvLine(cursor.columns.map((c) => c.name))));
      }
      try {
        const { value: chunk, done } = await chunks.next();
        if (done) {
          finished = true;
          if (format === 'ndjson') controller.enqueue(encoder.encode(JSON.stringify({ done: { rows: cursor.rows, ms: Date.now() - started } }) + '\n'));
          if (format === 'arrow') {
            arrow ??= new ArrowEncoder(cursor.columns.map((c) => c.name), cursor.types);
            controller.enqueue(arrow.finish());
          }
          controller.close();
          return;
        }
        if (format === 'arrow') {
          arrow ??= new ArrowEncoder(cursor.columns.map((c) => c.name), cursor.types);
          controller.enqueue(arrow.write(chunk));
          return;
        }
        const rows = convertChunk(chunk, cursor.types);
        let text = '';
        if (format === 'ndjson') for (const r of rows) text += JSON.stringify(r) + '\n';
        else for (const r of rows) text += csvLine(r);
        controller.enqueue(encoder.encode(text));
      } catch (err) {
        finished = true;
        if (format === 'ndjson') {
          controller.enqueue(encoder.encode(JSON.stringify({ error: errorJson(err) }) + '\n'));
          controller.close();
        } else controller.error(err);
      }
    },
    cancel() {
      finished = true;
      cursor.cancel();
      void chunks.return?.(undefined);
    },
  });
}

export function sqlRoutes(opts: { gateway: () => SqlGateway }): Hono {
  const app = new Hono();

  app.post('/', async (c) => {
    queryParams(c, []);
    const started = Date.now();
    let cursor: QueryCursor;
    let format: SqlFormat;
    try {
      const body = await readJson(c, sqlBody);
      format = body.format ?? 'ndjson';
      const asOf = parseAsOf(body.asOf);
      cursor = await opts.gateway().query(body.sql, {
        principal: ANONYMOUS,
        signal: c.req.raw.signal,
        via: 'sql',
        ...(asOf ? { asOf } : {}),
        ...(body.queryId ? { id: body.queryId } : {}),
      });
    } catch (err) {
      return fail(c, err);
    }
    const headers: Record<string, string> = { 'X-Tributary-Query-Id': cursor.id, 'Cache-Control': 'no-store' };
    if (format === 'json') {
      try {
        const rows = await cursor.all();
        return c.json({ queryId: cursor.id, columns: cursor.columns, rows, rowCount: rows.length, ms: Date.now() - started }, 200, headers);
      } catch (err) {
        return fail(c, err);
      }
    }
    const type = format === 'ndjson' ? 'application/x-ndjson' : format === 'csv' ? 'text/csv; charset=utf-8' : 'application/vnd.apache.arrow.stream';
    return new Response(streamBody(cursor, format, started), { status: 200, headers: { ...headers, 'Content-Type': type } });
  });

  app.get('/queries', (c) => {
    queryParams(c, []);
    return c.json({ queries: opts.gateway().running() });
  });

  app.delete('/queries/:id', (c) => {
    queryParams(c, []);
    const id = c.req.param('id');
    if (!opts.gateway().cancel(id)) return fail(c, new WarehouseError('WAREHOUSE_QUERY_UNKNOWN', `no running query ${id} (it may have finished): see GET /api/sql/queries`));
    return c.json({ cancelled: id });
  });

  return app;
}

function ndjsonStream(run: (send: (v: unknown) => void) => Promise<unknown>): Response {
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (v: unknown) => controller.enqueue(encoder.encode(JSON.stringify(v) + '\n'));
      try {
        send({ result: await run(send) });
      } catch (err) {
        send({ error: errorJson(err) });
      }
      controller.close();
    },
  });
  return new Response(stream, { status: 200, headers: { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' } });
}

export function modelRoutes(opts: { runner: () => ModelRunner; gateway: () => SqlGateway }): Hono {
  const app = new Hono();

  app.get('/', (c) => {
    queryParams(c, []);
    try {
      const project = opts.runner().project();
      const models = project.dag.order.map((name) => {
        const m = project.models.get(name)!;
        return {
          name,
          file: m.file,
          relation: m.relation,
          materialized: m.config.materialized,
          strategy: m.config.incrementalStrategy,
          uniqueKey: m.config.uniqueKey,
          partitionBy: m.config.partitionBy,
          tags: m.config.tags,
          description: m.properties?.description ?? m.config.description,
          parents: project.dag.parents.get(name),
          sources: m.template.sources.map((s) => `${s.zone}.${s.table}`),
          tests: m.properties?.tests.length ?? 0,
        };
      });
      return c.json({ models, disabled: project.disabled, sqlTests: project.sqlTests.map((t) => ({ name: t.name, file: t.file, severity: t.severity })) });
    } catch (err) {
      return fail(c, err);
    }
  });

  // Errors in the request itself answer 4xx; once building starts, progress and the result stream.
  app.post('/build', async (c) => {
    queryParams(c, []);
    let body: z.infer<typeof buildBody>;
    try {
      body = await readJson(c, buildBody, { optional: true });
      opts.runner().project();
    } catch (err) {
      return fail(c, err);
    }
    return ndjsonStream((send) =>
      opts.runner().build({
        principal: ANONYMOUS,
        ...(body.select ? { select: body.select } : {}),
        ...(body.vars ? { vars: body.vars } : {}),
        ...(body.fullRefresh ? { fullRefresh: true } : {}),
        onEvent: (e) => send(e.type === 'start' ? { start: { model: e.model, index: e.index, total: e.total } } : { model: e.result }),
      }),
    );
  });

  app.post('/test', async (c) => {
    queryParams(c, []);
    let body: z.infer<typeof testBody>;
    try {
      body = await readJson(c, testBody, { optional: true });
      opts.runner().project();
    } catch (err) {
      return fail(c, err);
    }
    return ndjsonStream((send) =>
      opts.runner().test({
        principal: ANONYMOUS,
        ...(body.select ? { select: body.select } : {}),
        ...(body.vars ? { vars: body.vars } : {}),
        onResult: (r) => send({ test: r }),
      }),
    );
  });

  return app;
}
