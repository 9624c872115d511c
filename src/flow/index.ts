/**
 * Workflows: DAGs of typed tasks on schedules, with retries, timeouts, pools, sensors, backfills,
 * task logs and a worker pool of child processes; metadata in SQLite or PostgreSQL.
 *
 * @example
 * ```ts
 * import { defineDag, runDag } from 'tributary';
 * const dag = defineDag({ id: 'hello', schedule: '@daily' }, (d) => {
 *   const a = d.task('a', () => 20);
 *   d.task('b', { inputs: { a } }, (ctx, { a }) => a + 1);
 * });
 * const r = await runDag(dag);
 * r.tasks['b']!.output; // 21
 * ```
 */
export { defineDag, isDag, DagBuilder, TaskHandle, GroupHandle, DEFAULT_POLICY, type Dag, type DagNode, type ResolvedDagOptions } from './define/dag.ts';
export { sensors } from './define/sensors.ts';
export type {
  DagOptions,
  TaskContext,
  TaskLogger,
  TaskOptions,
  TaskPolicy,
  TriggerRule,
  SensorTiming,
  RunKind,
  PokeResult,
  SensorArgs,
  SqlParams,
  SqlParamValue,
  SqlOptions,
  TaskModels,
  TaskModelResult,
  TaskModelTestResult,
  ModelsBuildOptions,
  ModelsTestOptions,
} from './define/types.ts';
export { FlowError, DagLoadError, type FlowErrorCode } from './errors.ts';
export { timetable, type Timetable, type Interval, type ScheduleSpec } from './schedule/timetable.ts';
export { runDag, type RunDagOptions, type RunDagResult, type TaskResult } from './testing/run-dag.ts';
export { FlowEngine, type FlowEngineOptions, type DagSummary, type RunSummary, type RunDetail, type BackfillStatus } from './engine/engine.ts';
export { ManualClock, systemClock, type Clock } from './engine/clock.ts';
export type { LakeProbe } from './engine/host-sensors.ts';
export type { WarehouseHandle, WarehouseResolver } from './engine/host-warehouse.ts';
export { DagRegistry } from './engine/registry.ts';
export { FlowStore } from './store/flow-store.ts';
export { openSqlite, openPostgres } from './store/sql.ts';
export type { TaskState, RunState } from './core/states.ts';
