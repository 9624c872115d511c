/**
 * The workflow HTTP API, mounted at `/api/dags` (and `/api/datasets` for dataset events).
 * Documented in docs/http-api.md. Errors are FlowErrors (stable codes, 4xx for bad input).
 */
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { ANONYMOUS } from '../../govern/index.ts';
import { badRequestFromIssues, HttpError } from '../../server/errors.ts';
import { boolParam, intParam, queryParams, readJson } from '../../server/request.ts';
import { RUN_STATES, type RunState } from '../core/states.ts';
import type { FlowEngine } from '../engine/engine.ts';
import { taskKey } from '../engine/worker.ts';
import { FlowError } from '../errors.ts';
import { runDag } from '../testing/run-dag.ts';

const time = z.union([z.string(), z.number()], { error: 'expected an ISO 8601 time (2026-01-31T00:00:00Z) or epoch milliseconds' });

const triggerBody = z.strictObject({
  params: z.record(z.string(), z.unknown()).optional(),
  logicalDate: time.optional(),
  intervalStart: time.optional(),
  intervalEnd: time.optional(),
  note: z.string().max(1000).optional(),
});
const backfillBody = z.strictObject({ from: time, to: time, rerunFailed: z.boolean().optional(), params: z.record(z.string(), z.unknown()).optional() });
const markBody = z.strictObject({ state: z.enum(['success', 'failed'], { error: 'expected "success" or "failed"' }), downstream: z.boolean().optional() });
const clearBody = z.strictObject({ downstream: z.boolean().optional() });
const testBody = z.strictObject({
  params: z.record(z.string(), z.unknown()).optional(),
  intervalStart: time.optional(),
  intervalEnd: time.optional(),
});
const datasetBody = z.strictObject({ info: z.record(z.string(), z.unknown()).optional(), at: time.optional() });

function runStateParam(q: Record<string, string>): RunState | undefined {
  const s = q['state'];
  if (s === undefined || s === '') return undefined;
  if (!(RUN_STATES as readonly string[]).includes(s)) throw new HttpError('BAD_REQUEST', `query parameter state: expected one of ${RUN_STATES.join(', ')}, got ${JSON.stringify(s)}`);
  return s as RunState;
}

const param = (c: Context, name: string) => decodeURIComponent(c.req.param(name) ?? '');

export function dagRoutes(engine: FlowEngine): Hono {
  const app = new Hono();

  app.get('/', async (c) => {
    queryParams(c, []);
    return c.json({ dags: await engine.listDags(), importErrors: engine.registry.importErrors });
  });

  app.get('/:dag', async (c) => {
    queryParams(c, []);
    const d = await engine.describeDag(param(c, 'dag'));
    const { tasks_, ...rest } = d;
    return c.json({ ...rest, taskCount: rest.tasks, tasks: tasks_ });
  });

  app.post('/:dag/pause', async (c) => c.json(await engine.setPaused(param(c, 'dag'), true, ANONYMOUS)));
  app.post('/:dag/unpause', async (c) => c.json(await engine.setPaused(param(c, 'dag'), false, ANONYMOUS)));

  app.get('/:dag/runs', async (c) => {
    const q = queryParams(c, ['state', 'limit', 'backfill']);
    const state = runStateParam(q);
    const limit = intParam(q, 'limit', { min: 1, max: 10_000, default: 25 });
    const backfillId = intParam(q, 'backfill', { min: 1 });
    return c.json({ runs: await engine.listRuns(param(c, 'dag'), { ...(state ? { state } : {}), limit, ...(backfillId !== undefined ? { backfillId } : {}) }) });
  });

  app.post('/:dag/runs', async (c) => {
    const body = await readJson(c, triggerBody, { optional: true });
    const run = await engine.trigger(param(c, 'dag'), { ...body, principal: ANONYMOUS });
    return c.json(run, 201);
  });

  app.get('/:dag/runs/:run', async (c) => {
    const q = queryParams(c, ['items']);
    return c.json(await engine.getRun(param(c, 'dag'), param(c, 'run'), { items: boolParam(q, 'items') }));
  });

  app.post('/:dag/runs/:run/tasks/:task/mark', async (c) => {
    const body = await readJson(c, markBody);
    return c.json(await engine.markTask(param(c, 'dag'), param(c, 'run'), param(c, 'task'), body.state, { downstream: body.downstream ?? false, principal: ANONYMOUS }));
  });

  app.post('/:dag/runs/:run/tasks/:task/clear', async (c) => {
    const body = await readJson(c, clearBody, { optional: true });
    return c.json(await engine.clearTask(param(c, 'dag'), param(c, 'run'), param(c, 'task'), { downstream: body.downstream ?? true, principal: ANONYMOUS }));
  });

  app.get('/:dag/runs/:run/tasks/:task', async (c) => {
    const q = queryParams(c, ['mapIndex']);
    return c.json(await engine.taskAttempts(param(c, 'dag'), param(c, 'run'), param(c, 'task'), intParam(q, 'mapIndex', { min: -1, default: -1 })));
  });

  app.get('/:dag/runs/:run/tasks/:task/logs', async (c) => {
    const q = queryParams(c, ['try', 'mapIndex', 'after', 'follow']);
    const dag = param(c, 'dag');
    const run = param(c, 'run');
    const task = param(c, 'task');
    const mapIndex = intParam(q, 'mapIndex', { min: -1, default: -1 });
    const tryNumber = intParam(q, 'try', { min: 1 });
    const after = intParam(q, 'after', { min: 0, default: 0 });
    const follow = boolParam(q, 'follow') || (c.req.header('accept') ?? '').includes('text/event-stream');
    const first = await engine.readLogs(dag, run, task, { mapIndex, ...(tryNumber !== undefined ? { tryNumber } : {}), afterId: after });
    if (!follow) {
      return c.json({ tryNumber: first.tryNumber, state: first.state, done: first.done, lines: first.lines, next: first.lines.at(-1)?.id ?? after });
    }
    return streamSSE(c, async (stream) => {
      let last = after;
      let closed = false;
      stream.onAbort(() => {
        closed = true;
      });
      let page = first;
      const key = () => taskKey(page.runId, task, mapIndex, page.tryNumber);
      await stream.writeSSE({ event: 'attempt', data: JSON.stringify({ tryNumber: page.tryNumber, state: page.state }) });
      for (;;) {
        for (const l of page.lines) {
          await stream.writeSSE({ event: 'log', id: String(l.id), data: JSON.stringify({ at: l.at, text: l.text }) });
          last = l.id;
        }
        if (page.done || closed) break;
        if (page.lines.length === 0) {
          // Wait for new lines: an in-process wake-up, or poll (workers in other processes).
          await new Promise<void>((resolve) => {
            const k = key();
            const onLog = (x: string) => {
              if (x === k) done();
            };
            const onChanged = () => done();
            const timer = setTimeout(() => done(), 250);
            const done = () => {
              clearTimeout(timer);
              engine.events.off('log', onLog);
              engine.events.off('changed', onChanged);
              resolve();
            };
            engine.events.on('log', onLog);
            engine.events.on('changed', onChanged);
          });
        }
        if (closed) break;
        page = await engine.readLogs(dag, run, task, { mapIndex, tryNumber: page.tryNumber, afterId: last });
      }
      if (!closed) await stream.writeSSE({ event: 'end', data: JSON.stringify({ tryNumber: page.tryNumber, state: page.state }) });
    });
  });

  app.post('/:dag/backfills', async (c) => {
    const body = await readJson(c, backfillBody);
    return c.json(await engine.backfill(param(c, 'dag'), { ...body, principal: ANONYMOUS }), 201);
  });

  app.get('/:dag/backfills/:id', async (c) => {
    queryParams(c, []);
    const id = Number(param(c, 'id'));
    if (!Number.isSafeInteger(id) || id < 1) throw new HttpError('BAD_REQUEST', `backfill id: expected a whole number ≥ 1, got ${JSON.stringify(param(c, 'id'))}`);
    return c.json(await engine.backfillStatus(param(c, 'dag'), id));
  });

  app.post('/:dag/test', async (c) => {
    const body = await readJson(c, testBody, { optional: true });
    const dagId = param(c, 'dag');
    const dag = engine.registry.get(dagId);
    if (!dag) {
      await engine.describeDag(dagId); // throws DAG_NOT_FOUND with the import errors
      throw new FlowError('DAG_NOT_FOUND', `no DAG ${dagId}`);
    }
    engine.governance.authorize(ANONYMOUS, 'execute', { type: 'dag', name: dag.id }, 'flow');
    if ((body.intervalStart === undefined) !== (body.intervalEnd === undefined)) throw new FlowError('BAD_REQUEST', 'give both intervalStart and intervalEnd, or neither');
    const result = await runDag(dag, {
      ...(engine.bus ? { bus: engine.bus } : {}),
      ...(engine.lake ? { lake: engine.lake } : {}),
      ...(body.params ? { params: body.params } : {}),
      ...(body.intervalStart !== undefined ? { interval: { start: body.intervalStart, end: body.intervalEnd! } } : {}),
    });
    return c.json(result);
  });

  return app;
}

export function datasetRoutes(engine: FlowEngine): Hono {
  const app = new Hono();
  app.post('/:name/events', async (c) => {
    const body = await readJson(c, datasetBody, { optional: true });
    const name = param(c, 'name');
    let at: number | undefined;
    if (body.at !== undefined) {
      at = typeof body.at === 'number' ? body.at : Date.parse(body.at);
      if (!Number.isFinite(at)) throw badRequestFromIssues('invalid request body', [{ code: 'custom', path: ['at'], message: 'expected an ISO 8601 time', input: body.at }] as never);
    }
    const id = await engine.onDatasetUpdated(name, body.info ?? {}, at);
    return c.json({ dataset: name, eventId: id }, 201);
  });
  return app;
}
