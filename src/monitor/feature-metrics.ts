/**
 * Metrics the monitor takes from other parts of the same process, for the series issue 8 names
 * that those parts do not record themselves:
 *
 *   tributary_flow_dag_run_duration_seconds{dag,state}      histogram, start → end of a finished run
 *   tributary_flow_dag_run_schedule_delay_seconds{dag}      histogram, end of a scheduled run's data
 *                                                           interval → the run's start (Airflow's
 *                                                           dagrun.schedule_delay), taken when it finishes
 *   tributary_flow_task_queued_duration_seconds{dag,pool}   histogram, queued → started of each task
 *                                                           instance of a finished run (its last try)
 *   tributary_warehouse_query_duration_seconds{outcome}     histogram, SQL gateway queries from the call
 *                                                           to the last row read (or the error)
 *
 * Labels are bounded: DAG ids and pools come from the project's files, `state` and `outcome` are
 * small fixed sets. The parts are found by name at start (`ctx.parts` holds every part by then) and
 * used through the narrow shapes below, so a part that is absent or shaped differently is skipped.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { FeaturePart } from '../server/parts.ts';
import { histogram } from './metrics.ts';

/** What the monitor needs of the flow part (see src/flow/part.ts). */
export interface FlowLike {
  engine: {
    events: EventEmitter;
    store: {
      runById(id: number): Promise<{ dagId: string; kind: string; intervalEnd: number; startedAt: number | null; endedAt: number | null } | undefined>;
      runTasks(runId: number): Promise<Array<{ pool: string; queuedAt: number | null; startedAt: number | null }>>;
    };
  };
}

/** What the monitor needs of the warehouse part (see src/warehouse/part.ts). */
export interface WarehouseLike {
  gateway: { query: (sql: string, opts?: never) => Promise<{ close(): void }> };
}

const RUN_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600];
const DELAY_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const QUERY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

function isFlow(p: FeaturePart | undefined): p is FeaturePart & FlowLike {
  const e = (p as Partial<FlowLike> | undefined)?.engine;
  return !!e && typeof e.events?.on === 'function' && typeof e.store?.runById === 'function' && typeof e.store?.runTasks === 'function';
}

function isWarehouse(p: FeaturePart | undefined): p is FeaturePart & WarehouseLike {
  return typeof (p as Partial<WarehouseLike> | undefined)?.gateway?.query === 'function';
}

/**
 * Starts recording the flow and warehouse series; returns a function that stops it.
 *
 * @example
 * ```ts
 * const detach = instrumentParts(ctx.parts, registry, logger); // in the monitor's start()
 * detach(); // in its stop()
 * ```
 */
export function instrumentParts(parts: ReadonlyMap<string, FeaturePart>, registry: Registry, logger?: Logger): () => void {
  const undo: Array<() => void> = [];
  const flow = parts.get('flow');
  if (isFlow(flow)) undo.push(instrumentFlow(flow, registry, logger));
  const warehouse = parts.get('warehouse');
  if (isWarehouse(warehouse)) undo.push(instrumentWarehouse(warehouse, registry));
  return () => {
    for (const u of undo.splice(0)) u();
  };
}

export function instrumentFlow(flow: FlowLike, registry: Registry, logger?: Logger): () => void {
  const runDuration = histogram(registry, {
    name: 'tributary_flow_dag_run_duration_seconds',
    help: 'Duration of finished DAG runs (start to end), by DAG and final state.',
    labelNames: ['dag', 'state'],
    buckets: RUN_BUCKETS,
  });
  const scheduleDelay = histogram(registry, {
    name: 'tributary_flow_dag_run_schedule_delay_seconds',
    help: "Delay of scheduled DAG runs: from the end of the run's data interval to the run's start (observed when the run finishes).",
    labelNames: ['dag'],
    buckets: DELAY_BUCKETS,
  });
  const queued = histogram(registry, {
    name: 'tributary_flow_task_queued_duration_seconds',
    help: 'Time task instances waited in the queue (queued to started, last try), by DAG and pool; observed when their run finishes.',
    labelNames: ['dag', 'pool'],
    buckets: DELAY_BUCKETS,
  });
  const onRun = (id: number, state: string) => {
    void (async () => {
      const run = await flow.engine.store.runById(id);
      if (!run) return;
      if (run.startedAt !== null && run.endedAt !== null) runDuration.observe({ dag: run.dagId, state }, Math.max(0, run.endedAt - run.startedAt) / 1000);
      if (run.kind === 'scheduled' && run.startedAt !== null) scheduleDelay.observe({ dag: run.dagId }, Math.max(0, run.startedAt - run.intervalEnd) / 1000);
      for (const t of await flow.engine.store.runTasks(id)) {
        if (t.queuedAt !== null && t.startedAt !== null && t.startedAt >= t.queuedAt) queued.observe({ dag: run.dagId, pool: t.pool }, (t.startedAt - t.queuedAt) / 1000);
      }
    })().catch((err: unknown) => logger?.warn({ err, run: id }, 'monitor: could not read a finished run for its metrics'));
  };
  flow.engine.events.on('run', onRun);
  return () => flow.engine.events.off('run', onRun);
}

export function instrumentWarehouse(warehouse: WarehouseLike, registry: Registry): () => void {
  const duration = histogram(registry, {
    name: 'tributary_warehouse_query_duration_seconds',
    help: 'SQL queries of the warehouse gateway (console, API, models): from the call to the last row read, by outcome (ok or error).',
    labelNames: ['outcome'],
    buckets: QUERY_BUCKETS,
  });
  const gateway = warehouse.gateway;
  const original = gateway.query;
  const timed = async (sql: string, opts?: never) => {
    const started = performance.now();
    let cursor: { close(): void };
    try {
      cursor = await original.call(gateway, sql, opts);
    } catch (err) {
      duration.observe({ outcome: 'error' }, (performance.now() - started) / 1000);
      throw err;
    }
    // Every way a cursor ends (read to the end, failed while reading, cancelled) goes through close().
    const close = cursor.close;
    let observed = false;
    cursor.close = function (this: unknown) {
      if (!observed) {
        observed = true;
        duration.observe({ outcome: 'ok' }, (performance.now() - started) / 1000);
      }
      close.call(cursor);
    };
    return cursor;
  };
  gateway.query = timed;
  return () => {
    if (gateway.query === timed) gateway.query = original;
  };
}
