/** The scheduling decisions as pure functions: state + clock → actions, no I/O. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admit } from '../../src/flow/core/admit.ts';
import { afterAttempt, retryDelay } from '../../src/flow/core/attempt.ts';
import { decideRun, evaluateTriggerRule, type RunAction } from '../../src/flow/core/decide-run.ts';
import { decideRuns, type DagScheduleView } from '../../src/flow/core/decide-runs.ts';
import { decideLease } from '../../src/flow/core/lease.ts';
import { MAX_LOST, type RunView, type TaskRow, type TaskState } from '../../src/flow/core/states.ts';
import { DEFAULT_POLICY, defineDag } from '../../src/flow/define/dag.ts';
import { timetable } from '../../src/flow/schedule/timetable.ts';

function row(taskId: string, state: TaskState, extra: Partial<TaskRow> = {}): TaskRow {
  return { taskId, mapIndex: -1, state, tryNumber: 0, tryBase: 0, lostCount: 0, nextTryAt: null, leaseExpiresAt: null, firstStartedAt: null, outputLength: null, ...extra };
}

function view(rows: TaskRow[], extra: Partial<RunView> = {}): RunView {
  return { id: 1, dagId: 'd', state: 'running', tasks: new Map(rows.map((r) => [r.taskId, r])), mapped: new Map(), dueItems: [], ...extra };
}

const moves = (actions: RunAction[]) =>
  actions.map((a) => (a.type === 'transition' ? `${a.taskId}${a.mapIndex >= 0 ? `[${a.mapIndex}]` : ''}:${a.from}->${a.to}${a.lost ? '(lost)' : ''}` : a.type === 'expand' ? `${a.taskId}:expand ${a.count}` : `run:${a.state}`));

const diamond = defineDag({ id: 'd' }, (d) => {
  const a = d.task('a', () => 1);
  const b = d.task('b', { inputs: { a } }, () => 1);
  const c = d.task('c', { inputs: { a } }, () => 1);
  d.task('e', { inputs: { b, c } }, () => 1);
}).shape();

describe('evaluateTriggerRule', () => {
  it('covers every rule', () => {
    assert.equal(evaluateTriggerRule('all_success', []), 'ready');
    assert.equal(evaluateTriggerRule('all_success', ['success', 'running']), 'wait');
    assert.equal(evaluateTriggerRule('all_success', ['success', 'failed']), 'upstream_failed');
    assert.equal(evaluateTriggerRule('all_success', ['success', 'skipped']), 'skipped');
    assert.equal(evaluateTriggerRule('all_done', ['failed', 'running']), 'wait');
    assert.equal(evaluateTriggerRule('all_done', ['failed', 'success']), 'ready');
    assert.equal(evaluateTriggerRule('one_success', ['success', 'running']), 'ready');
    assert.equal(evaluateTriggerRule('one_success', ['failed', 'skipped']), 'upstream_failed');
    assert.equal(evaluateTriggerRule('one_failed', ['upstream_failed', 'running']), 'ready');
    assert.equal(evaluateTriggerRule('one_failed', ['success', 'success']), 'skipped');
    assert.equal(evaluateTriggerRule('none_failed', ['success', 'skipped']), 'ready');
    assert.equal(evaluateTriggerRule('all_failed', ['failed', 'failed']), 'ready');
    assert.equal(evaluateTriggerRule('all_failed', ['failed', 'success']), 'skipped');
  });
});

describe('decideRun', () => {
  it('schedules roots, then tasks whose upstream succeeded', () => {
    assert.deepEqual(moves(decideRun(diamond, view([row('a', 'pending'), row('b', 'pending'), row('c', 'pending'), row('e', 'pending')]), 0)), ['a:pending->scheduled']);
    assert.deepEqual(moves(decideRun(diamond, view([row('a', 'success'), row('b', 'pending'), row('c', 'running'), row('e', 'pending')]), 0)), ['b:pending->scheduled']);
  });

  it('a failure cascades downstream in one pass and fails the run', () => {
    const a = decideRun(diamond, view([row('a', 'success'), row('b', 'failed'), row('c', 'success'), row('e', 'pending')]), 0);
    assert.deepEqual(moves(a), ['e:pending->upstream_failed', 'run:failed']);
    const err = a[0]!.type === 'transition' ? a[0]!.error : '';
    assert.match(err ?? '', /upstream task failed \(b\)/);
  });

  it('a failure absorbed by an all_done clean-up task leaves the run successful when the clean-up succeeds', () => {
    const dag = defineDag({ id: 'x' }, (d) => {
      const a = d.task('a', () => 1);
      d.task('cleanup', { triggerRule: 'all_done', after: a }, () => 1);
    }).shape();
    assert.deepEqual(moves(decideRun(dag, view([row('a', 'failed'), row('cleanup', 'pending')]), 0)), ['cleanup:pending->scheduled']);
    assert.deepEqual(moves(decideRun(dag, view([row('a', 'failed'), row('cleanup', 'success')]), 0)), ['run:success']);
  });

  it('retries come due with the clock, not before', () => {
    const v = view([row('a', 'up_for_retry', { nextTryAt: 1000, tryNumber: 1 }), row('b', 'pending'), row('c', 'pending'), row('e', 'pending')]);
    assert.deepEqual(moves(decideRun(diamond, v, 999)), []);
    assert.deepEqual(moves(decideRun(diamond, v, 1000)), ['a:up_for_retry->scheduled']);
  });

  it('a lost worker: the task is queued again, and fails after MAX_LOST losses', () => {
    const lost = view([row('a', 'running', { leaseExpiresAt: 500 }), row('b', 'pending'), row('c', 'pending'), row('e', 'pending')]);
    assert.deepEqual(moves(decideRun(diamond, lost, 500)), []);
    assert.deepEqual(moves(decideRun(diamond, lost, 501)), ['a:running->scheduled(lost)']);
    const again = view([row('a', 'running', { leaseExpiresAt: 500, lostCount: MAX_LOST - 1 }), row('b', 'pending'), row('c', 'pending'), row('e', 'pending')]);
    const a = decideRun(diamond, again, 501);
    assert.deepEqual(moves(a), ['a:running->failed(lost)', 'b:pending->upstream_failed', 'c:pending->upstream_failed', 'e:pending->upstream_failed', 'run:failed']);
  });

  it('a sensor pokes again when due and gives up after maxWaitMs (failed, or skipped with softFail)', () => {
    const mk = (softFail: boolean) =>
      defineDag({ id: 's' }, (d) => {
        d.sensor('wait', { poke: () => false, pokeIntervalMs: 100, maxWaitMs: 1000, softFail });
      }).shape();
    const v = view([row('wait', 'up_for_reschedule', { nextTryAt: 600, firstStartedAt: 0 })]);
    assert.deepEqual(moves(decideRun(mk(false), v, 600)), ['wait:up_for_reschedule->scheduled']);
    const late = view([row('wait', 'up_for_reschedule', { nextTryAt: 1000, firstStartedAt: 0 })]);
    assert.deepEqual(moves(decideRun(mk(false), late, 1000)), ['wait:up_for_reschedule->failed', 'run:failed']);
    assert.deepEqual(moves(decideRun(mk(true), late, 1000)), ['wait:up_for_reschedule->skipped', 'run:success']);
  });

  it('maps over an upstream list: expands, handles empty lists and non-lists, and fans in', () => {
    const dag = defineDag({ id: 'm' }, (d) => {
      const list = d.task('list', () => [1, 2, 3]);
      const m = d.map('m', { over: list }, (ctx, x: number) => x);
      d.task('sum', { inputs: { m } }, () => 1);
    }).shape();
    const base = (len: number | null) => view([row('list', 'success', { outputLength: len }), row('m', 'pending'), row('sum', 'pending')]);
    assert.deepEqual(moves(decideRun(dag, base(3), 0)), ['m:expand 3']);
    assert.deepEqual(moves(decideRun(dag, base(0), 0)), ['m:expand 0', 'sum:pending->scheduled']);
    assert.deepEqual(moves(decideRun(dag, base(null), 0)), ['m:pending->failed', 'sum:pending->upstream_failed', 'run:failed']);
    const mapped = (counts: Record<string, number>, due: TaskRow[] = []) =>
      view([row('list', 'success'), row('m', 'mapped'), row('sum', 'pending')], { mapped: new Map([['m', counts]]), dueItems: due });
    assert.deepEqual(moves(decideRun(dag, mapped({ success: 2, running: 1 }), 0)), []);
    assert.deepEqual(moves(decideRun(dag, mapped({ success: 3 }), 0)), ['m:mapped->success', 'sum:pending->scheduled']);
    assert.deepEqual(moves(decideRun(dag, mapped({ success: 2, failed: 1 }), 0)), ['m:mapped->failed', 'sum:pending->upstream_failed', 'run:failed']);
    const item = { ...row('m', 'up_for_retry', { nextTryAt: 5 }), mapIndex: 2 };
    assert.deepEqual(moves(decideRun(dag, mapped({ success: 2, up_for_retry: 1 }, [item]), 5)), ['m[2]:up_for_retry->scheduled']);
  });

  it('does nothing for a run that is not running', () => {
    assert.deepEqual(decideRun(diamond, { ...view([row('a', 'pending')]), state: 'queued' }, 0), []);
  });
});

describe('decideRuns', () => {
  const H = 3600_000;
  const T0 = Date.parse('2026-01-01T00:00:00Z');
  const base = (o: Partial<DagScheduleView>): DagScheduleView => ({
    dagId: 'h',
    paused: false,
    timetable: timetable('@hourly', 'UTC'),
    catchup: true,
    start: T0,
    end: null,
    maxActiveRuns: 16,
    running: 0,
    queued: [],
    lastScheduled: null,
    datasetEvents: new Map(),
    lastDatasetRunEnd: null,
    ...o,
  });
  const created = (a: ReturnType<typeof decideRuns>) => a.filter((x) => x.type === 'createRun').map((x) => (x.type === 'createRun' ? new Date(x.interval.start).toISOString().slice(11, 16) : ''));

  it('an interval runs once it has ended', () => {
    assert.deepEqual(created(decideRuns(base({}), T0 + H - 1)), []);
    assert.deepEqual(created(decideRuns(base({}), T0 + H)), ['00:00']);
  });

  it('catchup creates every missed interval in order, within maxActiveRuns', () => {
    assert.deepEqual(created(decideRuns(base({ maxActiveRuns: 3, running: 1 }), T0 + 5 * H)), ['00:00', '01:00']);
    assert.deepEqual(created(decideRuns(base({ lastScheduled: { start: T0 + H, end: T0 + 2 * H } }), T0 + 5 * H)), ['02:00', '03:00', '04:00']);
  });

  it('without catchup only the newest interval runs', () => {
    assert.deepEqual(created(decideRuns(base({ catchup: false }), T0 + 5 * H + 10)), ['04:00']);
    assert.deepEqual(created(decideRuns(base({ catchup: false, lastScheduled: { start: T0 + 4 * H, end: T0 + 5 * H } }), T0 + 5 * H + 10)), []);
  });

  it('queued runs start oldest interval first; a paused DAG does nothing', () => {
    const a = decideRuns(base({ maxActiveRuns: 2, running: 1, queued: [{ id: 9, intervalStart: 50 }, { id: 7, intervalStart: 10 }], lastScheduled: { start: T0, end: T0 + H } }), T0 + H);
    assert.deepEqual(a, [{ type: 'startRun', runId: 7 }]);
    assert.deepEqual(decideRuns(base({ paused: true, queued: [{ id: 1, intervalStart: 0 }] }), T0 + 5 * H), []);
  });

  it('the end option bounds the schedule', () => {
    assert.deepEqual(created(decideRuns(base({ end: T0 + 2 * H }), T0 + 5 * H)), ['00:00', '01:00']);
  });

  it('data-aware: all datasets (or any) updated since the cursor create one run', () => {
    const ds = (mode: 'all' | 'any', events: Array<[string, number, number]>) =>
      decideRuns(
        base({ timetable: timetable({ datasets: ['a', 'b'], mode }), datasetEvents: new Map(events.map(([n, id, at]) => [n, { id, at }])), lastDatasetRunEnd: 100 }),
        1000,
      );
    assert.deepEqual(ds('all', [['a', 3, 500]]), []);
    assert.deepEqual(ds('all', [['a', 3, 500], ['b', 4, 700]]), [{ type: 'createRun', kind: 'dataset', interval: { start: 100, end: 700 }, datasetCursor: 4 }]);
    assert.deepEqual(ds('any', [['b', 4, 700]]), [{ type: 'createRun', kind: 'dataset', interval: { start: 100, end: 700 }, datasetCursor: 4 }]);
  });
});

describe('admit', () => {
  const c = (key: string, o: Partial<{ dagId: string; pool: string; priority: number; runOrder: number }> = {}) => ({ key, dagId: 'd', pool: 'default', priority: 1, runOrder: 1, mapIndex: -1, ...o });
  const limits = { pools: new Map([['default', 10], ['db', 2]]), maxActiveTasks: new Map([['d', 3]]), parallelism: 100 };
  const usage = (pools: Record<string, number> = {}, dags: Record<string, number> = {}, total = 0) => ({ pools: new Map(Object.entries(pools)), dags: new Map(Object.entries(dags)), total });

  it('respects pool slots, counting what already runs', () => {
    const r = admit([c('a', { pool: 'db' }), c('b', { pool: 'db' }), c('c', { pool: 'db' })], usage({ db: 1 }), limits);
    assert.deepEqual(r.admit, ['a']);
  });
  it("respects a DAG's maxActiveTasks and the global parallelism", () => {
    assert.deepEqual(admit([c('a'), c('b'), c('c'), c('d')], usage({}, { d: 1 }), limits).admit, ['a', 'b']);
    assert.deepEqual(admit([c('a', { dagId: 'x' }), c('b', { dagId: 'y' })], usage({}, {}, 99), limits).admit, ['a']);
  });
  it('higher priority first, then older runs', () => {
    const r = admit([c('low', { runOrder: 1 }), c('high', { priority: 5, runOrder: 2 }), c('old', { runOrder: 0 })], usage({}, { d: 1 }), limits);
    assert.deepEqual(r.admit, ['high', 'old']);
  });
  it('reports tasks whose pool does not exist', () => {
    assert.deepEqual(admit([c('a', { pool: 'nope' })], usage(), limits).unknownPool, [{ key: 'a', pool: 'nope' }]);
  });
});

describe('attempt outcomes', () => {
  const p = { ...DEFAULT_POLICY, retries: 3, retryDelayMs: 1000, retryBackoff: 2, maxRetryDelayMs: 5000, retryJitter: 0.5 };
  it('exponential backoff with bounded jitter, capped', () => {
    assert.equal(retryDelay(p, 1, 0), 1000);
    assert.equal(retryDelay(p, 2, 0), 2000);
    assert.equal(retryDelay(p, 3, 0), 4000);
    assert.equal(retryDelay(p, 3, 1), 5000);
    assert.equal(retryDelay(p, 1, 1), 1500);
    assert.equal(retryDelay(p, 10, 0.3), 5000);
  });
  it('retries while retries remain, then fails; lost attempts do not count', () => {
    const fail = { kind: 'failure' as const, error: 'x', code: 'TASK_FAILED', retriable: true };
    const c = (tryNumber: number, lostCount = 0) => ({ tryNumber, tryBase: 0, lostCount, firstStartedAt: 0 });
    assert.deepEqual(afterAttempt(p, null, c(1), fail, 100, 0), { state: 'up_for_retry', nextTryAt: 1100, error: 'x' });
    assert.equal(afterAttempt(p, null, c(4), fail, 100, 0).state, 'failed');
    assert.equal(afterAttempt(p, null, c(5, 1), fail, 100, 0).state, 'failed');
    assert.equal(afterAttempt(p, null, c(4, 1), fail, 100, 0).state, 'up_for_retry');
    assert.equal(afterAttempt(p, null, c(1), { ...fail, retriable: false }, 100, 0).state, 'failed');
    assert.equal(afterAttempt(p, null, { ...c(4), tryBase: 3 }, fail, 100, 0).state, 'up_for_retry');
  });
  it('a sensor that is not ready is rescheduled, and gives up when its next poke would be too late', () => {
    const s = { pokeIntervalMs: 100, maxWaitMs: 1000, softFail: false };
    assert.deepEqual(afterAttempt(p, s, { tryNumber: 1, tryBase: 0, lostCount: 0, firstStartedAt: 0 }, { kind: 'not-ready' }, 500, 0), { state: 'up_for_reschedule', nextTryAt: 600, error: null });
    assert.equal(afterAttempt(p, s, { tryNumber: 1, tryBase: 0, lostCount: 0, firstStartedAt: 0 }, { kind: 'not-ready' }, 950, 0).state, 'failed');
  });
});

describe('decideLease', () => {
  it('acquire when free or expired, renew when mine, stand by otherwise', () => {
    assert.deepEqual(decideLease(null, 'a', 0, 100), { type: 'acquire', expiresAt: 100 });
    assert.deepEqual(decideLease({ holder: 'a', expiresAt: 100 }, 'a', 50, 100), { type: 'renew', expiresAt: 150 });
    assert.deepEqual(decideLease({ holder: 'a', expiresAt: 100 }, 'b', 99, 100), { type: 'standby', holder: 'a', until: 100 });
    assert.deepEqual(decideLease({ holder: 'a', expiresAt: 100 }, 'b', 100, 100), { type: 'acquire', expiresAt: 200 });
  });
});
