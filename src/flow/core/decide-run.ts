/**
 * What to do next in one run: a pure function of the DAG's shape, the run's task states and the
 * clock. It never reads the clock itself and does no I/O, so every rule (trigger rules, retries
 * coming due, sensors giving up, lost workers, mapped fan-out and fan-in, run completion) is
 * tested with plain objects.
 *
 * Every action names the state it expects the task to be in (`from`); the store applies it only
 * if the row still is (compare-and-set), so a decision taken on a stale snapshot — a worker
 * finished meanwhile, another scheduler got there first — is dropped instead of overwriting.
 */
import type { DagShape, TriggerRule } from '../define/types.ts';
import { isTerminal, MAX_LOST, MAX_MAP_LENGTH, type RunView, type StateCounts, type TaskRow, type TaskState } from './states.ts';

export type RunAction =
  | {
      type: 'transition';
      taskId: string;
      mapIndex: number;
      from: TaskState;
      to: TaskState;
      /** Error text stored with the task (failed, upstream_failed, …). */
      error?: string;
      /** A worker lost the task: count it and release the lease. */
      lost?: boolean;
    }
  | { type: 'expand'; taskId: string; count: number }
  | { type: 'finishRun'; state: 'success' | 'failed' };

type Shape = DagShape['tasks'][number];

const FAILED_LIKE: ReadonlySet<TaskState> = new Set(['failed', 'upstream_failed']);

/**
 * Applies a trigger rule to the final-or-not states of a task's upstream tasks: 'ready', 'wait',
 * or the state the task ends in without running.
 */
export function evaluateTriggerRule(rule: TriggerRule, upstream: readonly TaskState[]): 'ready' | 'wait' | 'skipped' | 'upstream_failed' {
  if (upstream.length === 0) return 'ready';
  const done = upstream.every(isTerminal);
  const success = upstream.filter((s) => s === 'success').length;
  const failed = upstream.filter((s) => FAILED_LIKE.has(s)).length;
  const skipped = upstream.filter((s) => s === 'skipped').length;
  switch (rule) {
    case 'all_success':
      if (failed > 0) return 'upstream_failed';
      if (skipped > 0) return 'skipped';
      return success === upstream.length ? 'ready' : 'wait';
    case 'all_done':
      return done ? 'ready' : 'wait';
    case 'one_success':
      if (success > 0) return 'ready';
      if (!done) return 'wait';
      return failed > 0 ? 'upstream_failed' : 'skipped';
    case 'one_failed':
      if (failed > 0) return 'ready';
      return done ? 'skipped' : 'wait';
    case 'none_failed':
      if (failed > 0) return 'upstream_failed';
      return done ? 'ready' : 'wait';
    case 'all_failed':
      if (success > 0 || skipped > 0) return 'skipped';
      return done ? 'ready' : 'wait';
  }
}

/** Timers of one row (retry due, sensor poke due or out of time, lease expired). */
function timerAction(shape: Shape, row: TaskRow, now: number): RunAction | null {
  const base = { type: 'transition' as const, taskId: row.taskId, mapIndex: row.mapIndex, from: row.state };
  if (row.state === 'up_for_retry' && row.nextTryAt !== null && row.nextTryAt <= now) {
    return { ...base, to: 'scheduled' };
  }
  if (row.state === 'up_for_reschedule' && row.nextTryAt !== null && row.nextTryAt <= now) {
    const sensor = shape.sensor;
    if (sensor && row.firstStartedAt !== null && now - row.firstStartedAt >= sensor.maxWaitMs) {
      return sensor.softFail
        ? { ...base, to: 'skipped', error: `sensor gave up after waiting ${sensor.maxWaitMs} ms (softFail)` }
        : { ...base, to: 'failed', error: `SENSOR_TIMEOUT: the condition was not met within ${sensor.maxWaitMs} ms` };
    }
    return { ...base, to: 'scheduled' };
  }
  if (row.state === 'running' && row.leaseExpiresAt !== null && row.leaseExpiresAt < now) {
    if (row.lostCount + 1 >= MAX_LOST) {
      return { ...base, to: 'failed', lost: true, error: `WORKER_LOST: the worker running this task stopped renewing its lease ${row.lostCount + 1} times; the task may be crashing its worker` };
    }
    return { ...base, to: 'scheduled', lost: true };
  }
  return null;
}

function countsDone(c: StateCounts): { total: number; done: number; bad: number } {
  let total = 0;
  let done = 0;
  let bad = 0;
  for (const [s, n] of Object.entries(c) as Array<[TaskState, number]>) {
    total += n;
    if (isTerminal(s)) done += n;
    if (FAILED_LIKE.has(s)) bad += n;
  }
  return { total, done, bad };
}

/**
 * @example
 * ```ts
 * const actions = decideRun(dag.shape(), view, clock.now());
 * ```
 */
export function decideRun(dag: DagShape, run: RunView, now: number): RunAction[] {
  if (run.state !== 'running') return [];
  const actions: RunAction[] = [];
  // States as they will be after this pass, so a failure cascades through the DAG in one pass.
  const state = new Map<string, TaskState>();
  for (const [id, row] of run.tasks) state.set(id, row.state);
  const byId = new Map(dag.tasks.map((t) => [t.id, t]));

  for (const item of run.dueItems) {
    const shape = byId.get(item.taskId);
    if (!shape) continue;
    const a = timerAction(shape, item, now);
    if (a) actions.push(a);
  }

  for (const shape of dag.tasks) {
    const row = run.tasks.get(shape.id);
    if (!row) continue; // a task added to the DAG after this run was created: not part of the run
    const cur = state.get(shape.id)!;
    const move = (to: TaskState, extra: { error?: string } = {}) => {
      actions.push({ type: 'transition', taskId: shape.id, mapIndex: -1, from: cur, to, ...extra });
      state.set(shape.id, to);
    };

    if (cur === 'pending') {
      const ups = shape.upstream.filter((u) => state.has(u)).map((u) => state.get(u)!);
      const verdict = evaluateTriggerRule(shape.policy.triggerRule, ups);
      if (verdict === 'wait') continue;
      if (verdict === 'skipped') {
        move('skipped');
        continue;
      }
      if (verdict === 'upstream_failed') {
        move('upstream_failed', { error: `an upstream task failed (${shape.upstream.filter((u) => FAILED_LIKE.has(state.get(u)!)).join(', ')})` });
        continue;
      }
      if (shape.kind === 'map') {
        const over = shape.over!;
        if (state.get(over) !== 'success') {
          move('upstream_failed', { error: `cannot map over ${over}: it did not succeed` });
          continue;
        }
        const len = run.tasks.get(over)?.outputLength ?? null;
        if (len === null) {
          move('failed', { error: `TASK_INPUT_INVALID: cannot map over the output of ${over}: it is not a list` });
          continue;
        }
        if (len > MAX_MAP_LENGTH) {
          move('failed', { error: `TASK_INPUT_INVALID: ${over} produced ${len} items; a mapped task expands to at most ${MAX_MAP_LENGTH}` });
          continue;
        }
        actions.push({ type: 'expand', taskId: shape.id, count: len });
        state.set(shape.id, len === 0 ? 'success' : 'mapped');
        continue;
      }
      move('scheduled');
      continue;
    }

    if (cur === 'mapped') {
      const counts = run.mapped.get(shape.id);
      if (!counts) continue;
      const { total, done, bad } = countsDone(counts);
      if (total > 0 && done === total) {
        if (bad > 0) move('failed', { error: `${bad} of ${total} mapped items failed` });
        else move('success');
      }
      continue;
    }

    const t = timerAction(shape, row, now);
    if (t && t.type === 'transition') {
      actions.push(t);
      state.set(shape.id, t.to);
    }
  }

  // The run ends when every task is final; it failed if a leaf task (nothing downstream) failed,
  // so a failure handled by an all_done/one_failed clean-up task still fails only if that fails.
  const all = [...state.values()];
  if (all.length > 0 && all.every(isTerminal)) {
    const hasDown = new Set<string>();
    for (const t of dag.tasks) for (const u of t.upstream) hasDown.add(u);
    const leafFailed = [...state].some(([id, s]) => !hasDown.has(id) && FAILED_LIKE.has(s));
    actions.push({ type: 'finishRun', state: leafFailed ? 'failed' : 'success' });
  }
  return actions;
}
