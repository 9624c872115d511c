/** The shapes of a DAG definition: what `defineDag` builds and the engine runs. */
import type { z } from 'zod';
import type { Interval, ScheduleSpec } from '../schedule/timetable.ts';

/** When a task may start, given its upstream tasks' final states (Airflow's trigger rules). */
export type TriggerRule = 'all_success' | 'all_done' | 'one_success' | 'one_failed' | 'none_failed' | 'all_failed';

export interface RetryPolicy {
  /** Attempts after the first one (default 0). */
  retries: number;
  /** Delay before the first retry (default 1 s); doubled (`retryBackoff`) per further retry. */
  retryDelayMs: number;
  /** Multiplier per retry (default 2: exponential backoff). */
  retryBackoff: number;
  /** Upper bound of one delay (default 10 min). */
  maxRetryDelayMs: number;
  /** Fraction of random spread added to each delay (default 0.2: up to +20 %). */
  retryJitter: number;
}

export interface TaskPolicy extends RetryPolicy {
  /** Per-attempt time limit; the task's AbortSignal fires, then the attempt fails (default none). */
  timeoutMs: number | null;
  /** Concurrency pool the task takes a slot of (default "default"). */
  pool: string;
  /** Higher runs first when slots are scarce (default 1). */
  priority: number;
  triggerRule: TriggerRule;
}

export type TaskOptions = Partial<TaskPolicy>;

/** Everything a running task knows about itself. */
export interface TaskContext<P = Record<string, unknown>> {
  dagId: string;
  /** The run's id, e.g. `scheduled__2026-01-01T00:00:00.000Z`. */
  runId: string;
  runKind: RunKind;
  taskId: string;
  /** Index in a mapped task's list; -1 for an unmapped task. */
  mapIndex: number;
  /** 1 on the first attempt, 2 on the first retry, … */
  attempt: number;
  /** The slice of time this run processes: [start, end). */
  interval: { start: Date; end: Date };
  /** = interval.start (Airflow's logical date). */
  logicalDate: Date;
  params: P;
  /** Fires on timeout, on `dags mark`/`clear` of a running task, and on shutdown. */
  signal: AbortSignal;
  log: TaskLogger;
  /** Topics of the running Tributary, through the bus (works in child processes too). */
  topics: TopicAccess;
  /**
   * A read-only query through the warehouse's SQL gateway (lake tables as `zone.table`), rows as
   * plain objects. Placeholders `$1`, `$2`, … or `?` take `params` as an array, `$name` as an
   * object. Audited with via `task` and this task's DAG, task and run ids; works in child processes.
   *
   * @example
   * ```ts
   * const rows = await ctx.sql('SELECT status, count(*) AS n FROM raw.orders WHERE event_time >= $1 AND event_time < $2 GROUP BY ALL', [ctx.interval.start, ctx.interval.end]);
   * ```
   */
  sql<R extends Record<string, unknown> = Record<string, unknown>>(query: string, params?: SqlParams, opts?: SqlOptions): Promise<R[]>;
  /** The warehouse's SQL models (marts): `tributary models build` / `models test` from a task. */
  models: TaskModels;
}

/** Values for `ctx.sql` placeholders: an array for `$1`/`?`, an object for `$name`. */
export type SqlParamValue = string | number | bigint | boolean | null | Date | SqlParamValue[];
export type SqlParams = SqlParamValue[] | Record<string, SqlParamValue>;

export interface SqlOptions {
  /** Fail with SQL_TOO_MANY_ROWS when the result has more rows than this (default 10 000, at most 1 000 000): aggregate in SQL, add a LIMIT, or write a model. */
  maxRows?: number;
  /** Read every lake table as of this snapshot id or time (time travel). */
  asOf?: { snapshot: number } | { time: number | Date };
}

/** One model's outcome of `ctx.models.build` (see `tributary models build`). */
export interface TaskModelResult {
  model: string;
  relation: string;
  materialized: string;
  status: 'success' | 'error' | 'skipped';
  rows: number | null;
  snapshot: number | null;
  ms: number;
  error?: { code: string; message: string; position?: { line: number; column: number; offset: number; file?: string } };
  skippedBecause?: string;
}

/** One test's outcome of `ctx.models.test` (see `tributary models test`). */
export interface TaskModelTestResult {
  test: string;
  kind: string;
  model: string | null;
  column: string | null;
  severity: string;
  status: 'pass' | 'fail' | 'warn' | 'error';
  failures: number;
  samples: Array<Record<string, unknown>>;
  ms: number;
  error?: { code: string; message: string };
}

export interface ModelsBuildOptions {
  /** dbt-style selectors (`orders_daily`, `+top_products`, `tag:shop`); default every model. */
  select?: string[];
  vars?: Record<string, unknown>;
  fullRefresh?: boolean;
  /** Return the results instead of failing the task when a model fails (default false). */
  allowFailures?: boolean;
}

export interface ModelsTestOptions {
  select?: string[];
  vars?: Record<string, unknown>;
  /** Return the results instead of failing the task when an error-severity test fails (default false). */
  allowFailures?: boolean;
}

export interface TaskModels {
  /** Builds the selected models in dependency order; throws MODELS_BUILD_FAILED (naming the models) when one fails. */
  build(opts?: ModelsBuildOptions): Promise<{ ok: boolean; results: TaskModelResult[] }>;
  /** Runs the model tests; throws MODELS_TEST_FAILED when an error-severity test fails (warn-severity failures are logged). */
  test(opts?: ModelsTestOptions): Promise<{ ok: boolean; results: TaskModelTestResult[] }>;
}

/** A record read by `ctx.topics.read` (key and value decoded as UTF-8). */
export interface TopicRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
}

/**
 * What tasks may do with topics. The engine host performs the calls (it holds the bus), so the
 * same task code works inline and in a child process.
 */
export interface TopicAccess {
  /** Records with timestamp in [from, to) (default: everything), oldest partition offsets first; at most `limit` (default 1 000 000). */
  read(topic: string, opts?: { from?: Date | number; to?: Date | number; limit?: number }): Promise<TopicRecord[]>;
  /** Appends records (values are JSON-encoded unless strings); resolves once they are durable. Returns how many. */
  write(topic: string, records: Array<{ key?: string | null; value: unknown }>): Promise<number>;
}

export interface TaskLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export type RunKind = 'scheduled' | 'manual' | 'backfill' | 'dataset';

/** A sensor's answer: not yet (false), or done (true / { done: true, value }). */
export type PokeResult<V> = boolean | { done: boolean; value?: V };

export interface SensorTiming {
  /** Time between two pokes (default 30 s); the worker slot is free meanwhile. */
  pokeIntervalMs?: number;
  /** Give up waiting this long after the first poke (default 24 h). */
  maxWaitMs?: number;
  /** On timeout: skipped (true) instead of failed (default false). */
  softFail?: boolean;
}

/** What a built-in sensor checks; evaluated by the engine host itself (it has the bus, the lake, the file system). */
export type BuiltinTrigger =
  | { kind: 'file'; path: string | ((ctx: SensorArgs) => string) }
  | { kind: 'topic-offset'; topic: string; offset: number | ((ctx: SensorArgs) => number); partition?: number }
  | { kind: 'dataset'; dataset: string; since?: 'interval-start' | 'interval-end' | 'run-created' }
  | { kind: 'lake-partition'; table: string; partition: Record<string, string> | ((ctx: SensorArgs) => Record<string, string>) };

/** What a built-in sensor's arguments can be computed from. */
export interface SensorArgs {
  interval: { start: Date; end: Date };
  params: Record<string, unknown>;
  runId: string;
}

export type TaskKind = 'task' | 'map' | 'sensor';

/** How a task is executed: on a worker (user code) or by the engine host (built-in sensors; `host-bus`: needs the bus). */
export type TaskHost = 'worker' | 'host' | 'host-bus';

// biome-ignore lint: the task function's types are erased at this level.
export type AnyTaskFn = (ctx: TaskContext<any>, ...args: any[]) => unknown;

/** One task of a DAG, after `defineDag` resolved groups and dependencies. */
export interface TaskDef {
  id: string;
  kind: TaskKind;
  host: TaskHost;
  /** Every task this one waits for (data inputs included), sorted. */
  upstream: string[];
  /** Input name → upstream task id whose output it receives. */
  inputs: Record<string, string>;
  /** Mapped tasks: the upstream task whose output (a list) is mapped over. */
  over: string | null;
  policy: TaskPolicy;
  sensor: Required<SensorTiming> | null;
  trigger: BuiltinTrigger | null;
  /** The group path (`transform`, `transform.clean`) or null. */
  group: string | null;
  description: string | null;
  fn: AnyTaskFn | null;
}

/** The part of a DAG the scheduler needs: serializable, no functions. */
export interface DagShape {
  id: string;
  tasks: Array<{
    id: string;
    kind: TaskKind;
    host: TaskHost;
    upstream: string[];
    inputs: Record<string, string>;
    over: string | null;
    policy: TaskPolicy;
    sensor: Required<SensorTiming> | null;
    group: string | null;
    description: string | null;
  }>;
  maxActiveRuns: number;
  maxActiveTasks: number;
}

export type ParamsSpec = Record<string, unknown> | z.ZodType;
export type ParamsOf<S> = S extends z.ZodType ? z.output<S> : S extends Record<string, unknown> ? S : Record<string, unknown>;

export interface DagOptions<S extends ParamsSpec = Record<string, unknown>> {
  /** Letters, digits, `_`, `.`, `-`; unique in the project. */
  id: string;
  /** Cron (`0 * * * *`, `@daily`), null for manual only, or `{ datasets: [...] }` (default null). */
  schedule?: ScheduleSpec;
  /** IANA timezone of the cron schedule (default UTC). */
  timezone?: string;
  /** The first interval starts at or after this (default: when the DAG is first seen). */
  start?: Date | string;
  /** No scheduled interval ends after this. */
  end?: Date | string;
  /** Create runs for every interval missed since `start` (default false: only the newest). */
  catchup?: boolean;
  /** Runs of this DAG running at once (default 16). */
  maxActiveRuns?: number;
  /** Tasks of this DAG queued or running at once, across its runs (default 16). */
  maxActiveTasks?: number;
  tags?: string[];
  description?: string;
  /** Parameters of a run: defaults `{ limit: 10 }` (types follow the defaults) or a zod object schema. */
  params?: S;
  /** Policy every task starts from (retries, timeouts, pool, …). */
  defaults?: TaskOptions;
}

export type { Interval, ScheduleSpec };
