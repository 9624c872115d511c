/**
 * `runDag`: runs one DAG run in this process and returns every task's state and output — a unit
 * test of a DAG is one call. It uses the real engine (scheduler, worker, store on an in-memory
 * SQLite database); waits between attempts (retry delays, sensor pokes) are skipped by a manual
 * clock, while task timeouts use real time.
 */
import pino from 'pino';
import type { Bus } from '../../bus/types.ts';
import type { Dag } from '../define/dag.ts';
import type { TaskState } from '../core/states.ts';
import { FlowError } from '../errors.ts';
import { ManualClock, systemClock } from '../engine/clock.ts';
import { FlowEngine } from '../engine/engine.ts';
import type { LakeProbe } from '../engine/host-sensors.ts';
import type { WarehouseHandle } from '../engine/host-warehouse.ts';
import { DagRegistry } from '../engine/registry.ts';
import { parseTime, type Interval } from '../schedule/timetable.ts';
import { FlowStore } from '../store/flow-store.ts';
import { openSqlite } from '../store/sql.ts';

export interface RunDagOptions<P> {
  /** The data interval of the run (default: the newest complete interval of the schedule, or [now, now]). */
  interval?: { start: string | number | Date; end: string | number | Date };
  params?: Partial<P>;
  /** Where the clock starts (default: the interval's end, or now). */
  now?: string | number | Date;
  pools?: Record<string, number>;
  workerSlots?: number;
  /** Give up when simulated time passes this (default 7 days). */
  maxSimulatedMs?: number;
  /** Dataset events recorded before the run starts (for dataset sensors). */
  datasets?: Array<{ name: string; at?: string | number | Date; info?: Record<string, unknown> }>;
  bus?: Bus;
  lake?: LakeProbe;
  /** The warehouse for `ctx.sql` / `ctx.models` (e.g. `{ gateway, runner }` over a test lake). */
  warehouse?: WarehouseHandle;
}

export interface TaskResult {
  state: TaskState;
  output: unknown;
  error: string | null;
  /** Attempts started. */
  attempts: number;
  /** Log text of the latest attempt. */
  log: string;
  /** Mapped tasks: one result per item. */
  items?: TaskResult[];
}

export interface RunDagResult {
  state: 'success' | 'failed';
  runId: string;
  interval: { start: Date; end: Date };
  tasks: Record<string, TaskResult>;
}

/**
 * @example
 * ```ts
 * import { runDag } from 'tributary';
 * import dag from '../dags/orders.ts';
 * const result = await runDag(dag, { interval: { start: '2026-01-01', end: '2026-01-02' } });
 * assert.equal(result.state, 'success');
 * assert.deepEqual(result.tasks['top10']!.output, [...]);
 * ```
 */
export async function runDag<P>(dag: Dag<P>, opts: RunDagOptions<P> = {}): Promise<RunDagResult> {
  const realNow = Date.now();
  let interval: Interval | null = null;
  if (opts.interval) interval = { start: parseTime(opts.interval.start, 'interval.start'), end: parseTime(opts.interval.end, 'interval.end') };
  const start = opts.now !== undefined ? parseTime(opts.now, 'now') : interval ? Math.max(interval.end, interval.start) : realNow;
  const clock = new ManualClock(start);
  const store = await FlowStore.open(await openSqlite(':memory:'));
  const registry = new DagRegistry([dag as Dag]);
  const engine = new FlowEngine({
    store,
    registry,
    clock,
    timeoutClock: systemClock,
    schedulerLease: false,
    workerSlots: opts.workerSlots ?? 4,
    ...(opts.pools ? { pools: opts.pools } : {}),
    ...(opts.bus ? { bus: opts.bus } : {}),
    ...(opts.lake ? { lake: opts.lake } : {}),
    ...(opts.warehouse ? { warehouse: () => opts.warehouse ?? null } : {}),
    logger: pino({ level: 'silent' }),
  });
  try {
    await engine.init();
    // Only this run: a scheduled DAG must not start its own runs here.
    await store.setPaused(dag.id, false, clock.now());
    for (const d of opts.datasets ?? []) await engine.onDatasetUpdated(d.name, d.info ?? {}, d.at !== undefined ? parseTime(d.at, 'datasets[].at') : clock.now());
    const iv = interval ?? dag.timetable.manualInterval(clock.now());
    const triggered = await engine.trigger(dag.id, { params: opts.params ?? {}, intervalStart: iv.start, intervalEnd: iv.end });
    await store.db.run(`UPDATE flow_dag SET last_scheduled_start = $2, last_scheduled_end = $2 WHERE dag_id = $1`, [dag.id, Number.MAX_SAFE_INTEGER]);
    const limit = clock.now() + (opts.maxSimulatedMs ?? 7 * 24 * 3600_000);
    for (;;) {
      await engine.settle();
      const run = await store.runById(triggered.id);
      if (run && (run.state === 'success' || run.state === 'failed')) break;
      const next = await store.nextTimer();
      if (next === null || next > limit) {
        const tasks = (await store.runTasks(triggered.id)).filter((t) => t.state !== 'success');
        throw new FlowError(
          'BAD_REQUEST',
          `run of dag ${dag.id} cannot finish: ${tasks.map((t) => `${t.taskId}${t.mapIndex >= 0 ? `[${t.mapIndex}]` : ''} is ${t.state}`).join(', ')}${next !== null ? ' (still waiting beyond maxSimulatedMs)' : ''}`,
        );
      }
      await clock.advanceTo(Math.max(next, clock.now()));
    }
    const run = (await store.runById(triggered.id))!;
    const all = await store.runTasks(run.id);
    const result = async (t: (typeof all)[number]): Promise<TaskResult> => {
      const lines = t.tryNumber > 0 ? await store.readLogs({ runId: run.id, taskId: t.taskId, mapIndex: t.mapIndex }, t.tryNumber, 0, 100_000) : [];
      return { state: t.state, output: t.output === undefined ? null : t.output, error: t.error, attempts: t.tryNumber, log: lines.map((l) => l.text).join('') };
    };
    const tasks: Record<string, TaskResult> = {};
    for (const t of all.filter((x) => x.mapIndex === -1)) {
      const r = await result(t);
      const items = all.filter((x) => x.taskId === t.taskId && x.mapIndex >= 0);
      if (items.length) {
        r.items = await Promise.all(items.map(result));
        if (t.state === 'success' && (r.output === null || r.output === undefined)) r.output = r.items.map((i) => i.output);
      }
      tasks[t.taskId] = r;
    }
    return { state: run.state as 'success' | 'failed', runId: run.runId, interval: { start: new Date(run.intervalStart), end: new Date(run.intervalEnd) }, tasks };
  } finally {
    await engine.stop();
    await store.close();
  }
}
