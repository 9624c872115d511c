/**
 * States of runs and task instances, and the rows the scheduling functions read.
 *
 * Task instance life cycle (one row per task and run; a mapped task gets one extra row per item):
 *
 *   pending ──deps met──► scheduled ──admitted (pool/limits)──► queued ──claimed──► running
 *      │                      ▲                                                    │
 *      │                      ├──────────── up_for_retry ◄── attempt failed ───────┤
 *      │                      ├──────── up_for_reschedule ◄── sensor: not yet ─────┤
 *      │                      └──────────────── lease expired (worker lost) ◄──────┤
 *      ├──► upstream_failed / skipped (trigger rule)                                ├──► success
 *      └──► mapped (a map task expanded into items; done when every item is)        └──► failed
 *
 * Runs: queued (waiting for max active runs) → running → success | failed.
 */
import type { TaskPolicy, SensorTiming, TaskKind, TaskHost, RunKind } from '../define/types.ts';

export type TaskState =
  | 'pending'
  | 'scheduled'
  | 'queued'
  | 'running'
  | 'up_for_retry'
  | 'up_for_reschedule'
  | 'mapped'
  | 'success'
  | 'failed'
  | 'skipped'
  | 'upstream_failed';

export const TASK_STATES: readonly TaskState[] = [
  'pending',
  'scheduled',
  'queued',
  'running',
  'up_for_retry',
  'up_for_reschedule',
  'mapped',
  'success',
  'failed',
  'skipped',
  'upstream_failed',
];

export const TERMINAL: ReadonlySet<TaskState> = new Set(['success', 'failed', 'skipped', 'upstream_failed']);
export const isTerminal = (s: TaskState): boolean => TERMINAL.has(s);

export type RunState = 'queued' | 'running' | 'success' | 'failed';
export const RUN_STATES: readonly RunState[] = ['queued', 'running', 'success', 'failed'];

export type { RunKind };

/** A worker may lose a task this many times (its lease expired) before the task fails. */
export const MAX_LOST = 3;
/** A mapped task expands to at most this many items. */
export const MAX_MAP_LENGTH = 100_000;

/** One task instance as the scheduler sees it. */
export interface TaskRow {
  taskId: string;
  /** -1 for the task itself; 0… for the items of a mapped task. */
  mapIndex: number;
  state: TaskState;
  /** Attempts started so far. */
  tryNumber: number;
  /** try_number when the task was last cleared: failures count from here. */
  tryBase: number;
  /** Times a worker lost this task (lease expired). */
  lostCount: number;
  /** up_for_retry / up_for_reschedule: when to try again (epoch ms). */
  nextTryAt: number | null;
  /** running: the worker's lease ends here unless renewed. */
  leaseExpiresAt: number | null;
  /** Sensors: when the first poke started (their max wait counts from here). */
  firstStartedAt: number | null;
  /** Length of the output when it is a list (what a mapped downstream expands over); null otherwise. */
  outputLength: number | null;
}

/** Items of a mapped task, counted by state. */
export type StateCounts = Partial<Record<TaskState, number>>;

export interface RunView {
  id: number;
  dagId: string;
  state: RunState;
  /** Rows with mapIndex -1, one per task of the DAG. */
  tasks: ReadonlyMap<string, TaskRow>;
  /** For tasks in state `mapped`: their items by state. */
  mapped: ReadonlyMap<string, StateCounts>;
  /** Items of mapped tasks whose timer is due (retry, reschedule, lease expired). */
  dueItems: readonly TaskRow[];
}

export type { TaskPolicy, SensorTiming, TaskKind, TaskHost };

export interface TaskKey {
  taskId: string;
  mapIndex: number;
}

export function keyOf(k: TaskKey): string {
  return k.mapIndex < 0 ? k.taskId : `${k.taskId}[${k.mapIndex}]`;
}
