/**
 * The engine on real SQLite with a controllable clock: retries and backoff, timeouts with
 * AbortSignal, pools, max active runs, catchup, backfill idempotency, data-aware runs, sensors
 * that release their slot, mark/clear, bad task behaviour.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineDag } from '../../src/flow/define/dag.ts';
import { sensors } from '../../src/flow/define/sensors.ts';
import { ManualClock } from '../../src/flow/engine/clock.ts';
import { FlowError } from '../../src/flow/errors.ts';
import { T0, testEngine } from './helpers/engine.ts';

const H = 3600_000;

async function states(t: Awaited<ReturnType<typeof testEngine>>, dagId: string, runRef: string | number) {
  const run = await t.engine.getRun(dagId, String(runRef));
  return Object.fromEntries(run.tasks.map((x) => [x.taskId, x.state]));
}

describe('flow engine', () => {
  it('runs a DAG: inputs flow downstream, the run succeeds, logs are kept per attempt', async () => {
    const dag = defineDag({ id: 'basic' }, (d) => {
      const a = d.task('a', (ctx) => {
        ctx.log.info('computing a', { n: 20 });
        return 20;
      });
      d.task('b', { inputs: { a } }, (ctx, { a }) => a + 1);
    });
    const t = await testEngine([dag]);
    try {
      const run = await t.engine.trigger('basic');
      await t.engine.settle();
      const detail = await t.engine.getRun('basic', run.runId);
      assert.equal(detail.state, 'success');
      assert.deepEqual(detail.tasks.map((x) => [x.taskId, x.state, x.output]), [['a', 'success', 20], ['b', 'success', 21]]);
      const logs = await t.engine.readLogs('basic', run.runId, 'a');
      assert.equal(logs.done, true);
      assert.match(logs.lines.map((l) => l.text).join(''), /INFO computing a \{"n":20\}/);
    } finally {
      await t.close();
    }
  });

  it('retries with exponential backoff: nothing runs before the delay has passed', async () => {
    let calls = 0;
    const dag = defineDag({ id: 'retry' }, (d) => {
      d.task('flaky', { retries: 3, retryDelayMs: 10_000, retryBackoff: 3, retryJitter: 0 }, () => {
        calls++;
        if (calls < 3) throw new Error(`boom ${calls}`);
        return 'ok';
      });
    });
    const t = await testEngine([dag]);
    try {
      const run = await t.engine.trigger('retry');
      await t.engine.settle();
      assert.equal(calls, 1);
      let ti = (await t.engine.getRun('retry', run.runId)).tasks[0]!;
      assert.equal(ti.state, 'up_for_retry');
      assert.equal(ti.error, 'boom 1');
      assert.equal(ti.nextTryAt, new Date(T0 + 10_000).toISOString());
      await t.clock.advance(9_999);
      await t.engine.settle();
      assert.equal(calls, 1, 'not before the delay');
      await t.clock.advance(1);
      await t.engine.settle();
      assert.equal(calls, 2);
      ti = (await t.engine.getRun('retry', run.runId)).tasks[0]!;
      assert.equal(ti.nextTryAt, new Date(T0 + 10_000 + 30_000).toISOString(), 'second delay is 3× the first');
      await t.clock.advance(30_000);
      await t.engine.settle();
      const done = await t.engine.getRun('retry', run.runId);
      assert.equal(done.state, 'success');
      assert.equal(done.tasks[0]!.tryNumber, 3);
      const attempts = await t.engine.taskAttempts('retry', run.runId, 'flaky');
      assert.deepEqual(attempts.attempts.map((a) => a.outcome), ['TASK_FAILED', 'TASK_FAILED', 'success']);
    } finally {
      await t.close();
    }
  });

  it('a task that throws a non-Error or never returns fails with a clear error; timeouts fire its AbortSignal', async () => {
    let aborted: unknown = null;
    const dag = defineDag({ id: 'bad' }, (d) => {
      d.task('throws_string', () => {
        throw 'plain string';
      });
      d.task('throws_undefined', () => {
        throw undefined;
      });
      d.task('hangs', { timeoutMs: 5000 }, (ctx) => new Promise(() => ctx.signal.addEventListener('abort', () => (aborted = ctx.signal.reason))));
      d.task('huge', () => 'x'.repeat(300 * 1024));
      d.task('cyclic', () => {
        const o: Record<string, unknown> = {};
        o['self'] = o;
        return o;
      });
    });
    const t = await testEngine([dag]);
    try {
      const run = await t.engine.trigger('bad');
      await t.engine.tick();
      await t.engine.tick();
      await t.clock.advance(5000);
      await t.engine.settle();
      const tasks = Object.fromEntries((await t.engine.getRun('bad', run.runId)).tasks.map((x) => [x.taskId, x]));
      assert.equal(tasks['throws_string']!.error, 'the task threw a string: plain string');
      assert.equal(tasks['throws_undefined']!.error, 'the task threw undefined');
      assert.match(tasks['hangs']!.error!, /TASK_TIMEOUT: the attempt did not finish within 5000 ms/);
      assert.equal((aborted as { code?: string })?.code, 'TASK_TIMEOUT');
      assert.match(tasks['huge']!.error!, /TASK_OUTPUT_INVALID: the output is \d+ bytes; .* at most 262144 bytes: write large data to the lake/);
      assert.match(tasks['cyclic']!.error!, /TASK_OUTPUT_INVALID: the output is not JSON-serializable/);
      for (const x of Object.values(tasks)) assert.equal(x.state, 'failed');
      assert.equal((await t.engine.getRun('bad', run.runId)).state, 'failed');
    } finally {
      await t.close();
    }
  });

  it('a pool limits how many tasks run at once, across runs', async () => {
    let running = 0;
    let peak = 0;
    const release: Array<() => void> = [];
    const dag = defineDag({ id: 'pooled', maxActiveRuns: 5 }, (d) => {
      for (const n of ['a', 'b', 'c']) {
        d.task(n, { pool: 'db' }, async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise<void>((r) => release.push(r));
          running--;
        });
      }
    });
    const t = await testEngine([dag], { pools: { db: 2 }, workerSlots: 8 });
    try {
      await t.engine.trigger('pooled');
      await t.engine.trigger('pooled');
      for (let i = 0; i < 6; i++) {
        await t.engine.tick();
        await new Promise((r) => setImmediate(r));
        assert.ok(running <= 2, `at most 2 in the pool, saw ${running}`);
        while (release.length) release.shift()!();
        await new Promise((r) => setTimeout(r, 5));
      }
      await t.engine.settle();
      assert.equal(peak, 2);
      const runs = await t.engine.listRuns('pooled');
      assert.deepEqual(runs.map((r) => r.state), ['success', 'success']);
    } finally {
      await t.close();
    }
  });

  it('a task naming a pool that does not exist fails saying how to add it', async () => {
    const dag = defineDag({ id: 'nopool' }, (d) => void d.task('a', { pool: 'gpu' }, () => 1));
    const t = await testEngine([dag]);
    try {
      const run = await t.engine.trigger('nopool');
      await t.engine.settle();
      const ti = (await t.engine.getRun('nopool', run.runId)).tasks[0]!;
      assert.equal(ti.state, 'failed');
      assert.match(ti.error!, /POOL_UNKNOWN: pool "gpu" does not exist: add it to flow.pools/);
    } finally {
      await t.close();
    }
  });

  it('maxActiveRuns: queued runs wait and start oldest first', async () => {
    const gates: Array<() => void> = [];
    const dag = defineDag({ id: 'mar', maxActiveRuns: 1 }, (d) => void d.task('a', () => new Promise<void>((r) => gates.push(r))));
    const t = await testEngine([dag]);
    try {
      const r1 = await t.engine.trigger('mar', { intervalStart: T0, intervalEnd: T0 + H });
      const r2 = await t.engine.trigger('mar', { intervalStart: T0 - H, intervalEnd: T0 });
      await t.engine.tick();
      await t.engine.tick();
      const runs = Object.fromEntries((await t.engine.listRuns('mar')).map((r) => [r.runId, r.state]));
      assert.deepEqual(runs, { [r1.runId]: 'queued', [r2.runId]: 'running' }, 'the older interval starts first');
      gates.shift()!();
      await new Promise((r) => setTimeout(r, 5));
      await t.engine.tick();
      await t.engine.tick();
      assert.equal((await t.engine.getRun('mar', r1.runId)).state, 'running');
      gates.shift()!();
      await t.engine.settle();
      assert.deepEqual((await t.engine.listRuns('mar')).map((r) => r.state), ['success', 'success']);
    } finally {
      await t.close();
    }
  });

  it('catchup creates one run per missed interval; without catchup only the newest; never twice', async () => {
    const seen: string[] = [];
    const mk = (id: string, catchup: boolean) =>
      defineDag({ id, schedule: '@hourly', start: new Date(T0), catchup, maxActiveRuns: 2 }, (d) => void d.task('a', (ctx) => void seen.push(`${id} ${ctx.interval.start.toISOString().slice(11, 16)}`)));
    const t = await testEngine([mk('cu', true), mk('nocu', false)], { now: T0 + 3 * H + 60_000 });
    try {
      for (let i = 0; i < 4; i++) await t.engine.settle();
      assert.deepEqual(seen.filter((s) => s.startsWith('cu ')).sort(), ['cu 00:00', 'cu 01:00', 'cu 02:00']);
      assert.deepEqual(seen.filter((s) => s.startsWith('nocu')), ['nocu 02:00']);
      await t.clock.advance(H);
      await t.engine.settle();
      assert.deepEqual(seen.filter((s) => s.startsWith('cu ')).sort(), ['cu 00:00', 'cu 01:00', 'cu 02:00', 'cu 03:00']);
      assert.deepEqual(seen.filter((s) => s.startsWith('nocu')), ['nocu 02:00', 'nocu 03:00']);
    } finally {
      await t.close();
    }
  });

  it('backfill: one run per interval, idempotent with scheduled runs and with itself', async () => {
    const seen: string[] = [];
    const dag = defineDag({ id: 'bf', schedule: '0 0 * * *', catchup: true, start: '2026-01-01', maxActiveRuns: 8 }, (d) => void d.task('a', (ctx) => void seen.push(ctx.interval.start.toISOString().slice(0, 10))));
    const t = await testEngine([dag], { now: Date.parse('2026-01-03T00:30:00Z') });
    try {
      await t.engine.settle(); // scheduled: Jan 1 and Jan 2
      const b = await t.engine.backfill('bf', { from: '2025-12-01', to: '2026-01-03' });
      assert.equal(b.total, 33);
      assert.equal(b.created, 31);
      assert.equal(b.skipped, 2);
      await t.engine.settle();
      const again = await t.engine.backfill('bf', { from: '2025-12-01', to: '2026-01-03' });
      assert.equal(again.created, 0);
      await t.engine.settle();
      assert.equal(seen.length, 33, 'every day ran exactly once');
      assert.equal(new Set(seen).size, 33);
      const status = await t.engine.backfillStatus('bf', b.id);
      assert.deepEqual(status.states, { success: 33 });
      assert.equal(status.complete, true);
    } finally {
      await t.close();
    }
  });

  it('backfill --rerun-failed clears failed runs of the range', async () => {
    let fail = true;
    const dag = defineDag({ id: 'bff', schedule: '0 0 * * *', start: '2026-03-01' }, (d) => void d.task('a', () => {
      if (fail) throw new Error('bad day');
    }));
    const t = await testEngine([dag], { now: Date.parse('2026-02-01T00:00:00Z') });
    try {
      await t.engine.backfill('bff', { from: '2026-01-01', to: '2026-01-04' });
      await t.engine.settle();
      assert.equal((await t.engine.listRuns('bff', { state: 'failed' })).length, 3);
      fail = false;
      const b = await t.engine.backfill('bff', { from: '2026-01-01', to: '2026-01-04', rerunFailed: true });
      await t.engine.settle();
      assert.deepEqual((await t.engine.backfillStatus('bff', b.id)).states, { success: 3 });
    } finally {
      await t.close();
    }
  });

  it('one run per interval: a manual run of a scheduled interval is refused with RUN_EXISTS', async () => {
    const dag = defineDag({ id: 'idem', schedule: '@hourly' }, (d) => void d.task('a', () => 1));
    const t = await testEngine([dag], { now: T0 + H + 1 });
    try {
      await t.engine.settle();
      await assert.rejects(t.engine.trigger('idem', { logicalDate: new Date(T0).toISOString() }), (e: unknown) => e instanceof FlowError && e.code === 'RUN_EXISTS' && /clear its tasks/.test(e.message));
      await assert.rejects(t.engine.trigger('idem', { logicalDate: '2026-01-01T00:30:00Z' }), /not a tick of the schedule @hourly/);
    } finally {
      await t.close();
    }
  });

  it('data-aware schedule: a run starts when all its datasets were updated, covering the events', async () => {
    const runs: string[] = [];
    const dag = defineDag({ id: 'ds', schedule: { datasets: ['lake.orders', 'lake.items'] } }, (d) => void d.task('a', (ctx) => void runs.push(ctx.runId)));
    const t = await testEngine([dag]);
    try {
      await t.engine.onDatasetUpdated('lake.orders', { snapshot: 1 });
      await t.engine.settle();
      assert.equal(runs.length, 0, 'waits for every dataset');
      await t.clock.advance(1000);
      await t.engine.onDatasetUpdated('lake.items', { snapshot: 7 });
      await t.engine.settle();
      assert.equal(runs.length, 1);
      const r = (await t.engine.listRuns('ds'))[0]!;
      assert.equal(r.kind, 'dataset');
      assert.equal(r.intervalEnd, new Date(T0 + 1000).toISOString());
      await t.engine.settle();
      assert.equal(runs.length, 1, 'the same events never trigger twice');
    } finally {
      await t.close();
    }
  });

  it('sensors wait without holding a worker slot; a built-in dataset sensor sees onDatasetUpdated', async () => {
    let pokes = 0;
    let ready = false;
    let other = 0;
    const dag = defineDag({ id: 'sense' }, (d) => {
      d.sensor('custom', { poke: () => (pokes++, ready ? { done: true, value: 'ok' } : false), pokeIntervalMs: 60_000, maxWaitMs: H });
      d.sensor('lake', sensors.dataset('lake.orders', { since: 'run-created' }), { pokeIntervalMs: 30_000 });
      d.task('meanwhile', () => other++);
    });
    const t = await testEngine([dag], { workerSlots: 1 });
    try {
      const run = await t.engine.trigger('sense');
      await t.engine.settle();
      assert.equal(other, 1, 'the other task ran although the only slot saw a sensor');
      let s = await states(t, 'sense', run.runId);
      assert.equal(s['custom'], 'up_for_reschedule');
      assert.equal(s['lake'], 'up_for_reschedule');
      await t.clock.advance(60_000);
      await t.engine.settle();
      assert.equal(pokes, 2);
      ready = true;
      await t.engine.onDatasetUpdated('lake.orders', { rows: 5 });
      await t.clock.advance(60_000);
      await t.engine.settle();
      s = await states(t, 'sense', run.runId);
      assert.deepEqual(s, { custom: 'success', lake: 'success', meanwhile: 'success' });
      const detail = await t.engine.getRun('sense', run.runId);
      assert.equal(detail.tasks.find((x) => x.taskId === 'custom')!.tryNumber, 1, 'pokes are one attempt');
      assert.deepEqual((detail.tasks.find((x) => x.taskId === 'lake')!.output as { info: unknown }).info, { rows: 5 });
      const lakeLog = await t.engine.readLogs('sense', run.runId, 'lake');
      assert.match(lakeLog.lines.map((l) => l.text).join(''), /poke: no update of lake.orders since .*\n.*poke: lake.orders updated at/s);
    } finally {
      await t.close();
    }
  });

  it('a sensor that waits too long fails', async () => {
    const dag = defineDag({ id: 'late' }, (d) => void d.sensor('f', sensors.file('/nonexistent/tributary-flow-test'), { pokeIntervalMs: 10_000, maxWaitMs: 30_000 }));
    const t = await testEngine([dag]);
    try {
      const run = await t.engine.trigger('late');
      for (let i = 0; i < 5; i++) {
        await t.engine.settle();
        await t.clock.advance(10_000);
      }
      await t.engine.settle();
      const ti = (await t.engine.getRun('late', run.runId)).tasks[0]!;
      assert.equal(ti.state, 'failed');
      assert.match(ti.error!, /SENSOR_TIMEOUT/);
    } finally {
      await t.close();
    }
  });

  it('mark failed / success with downstream, and clear-and-rerun of a task and what follows', async () => {
    const count: Record<string, number> = { a: 0, b: 0, c: 0 };
    const dag = defineDag({ id: 'ops' }, (d) => {
      const a = d.task('a', () => ++count['a']!);
      const b = d.task('b', { inputs: { a } }, (ctx, { a }) => (++count['b']!, a * 10));
      d.task('c', { inputs: { b } }, (ctx, { b }) => (++count['c']!, b + 1));
    });
    const t = await testEngine([dag]);
    try {
      const run = await t.engine.trigger('ops');
      await t.engine.settle();
      assert.equal((await t.engine.getRun('ops', run.runId)).tasks[2]!.output, 11);

      const cleared = await t.engine.clearTask('ops', run.runId, 'b');
      assert.deepEqual(cleared.cleared, ['b', 'c']);
      await t.engine.settle();
      const after = await t.engine.getRun('ops', run.runId);
      assert.equal(after.state, 'success');
      assert.deepEqual(count, { a: 1, b: 2, c: 2 }, 'a is not re-run; b and c are');
      assert.equal(after.tasks[1]!.tryNumber, 2, 'the cleared task starts a new attempt');

      const marked = await t.engine.markTask('ops', run.runId, 'b', 'failed', { downstream: true });
      assert.deepEqual(marked.changed, ['b', 'c']);
      await t.engine.settle();
      assert.equal((await t.engine.getRun('ops', run.runId)).state, 'failed');
      await t.engine.markTask('ops', run.runId, 'b', 'success', { downstream: true });
      await t.engine.settle();
      assert.equal((await t.engine.getRun('ops', run.runId)).state, 'success');
      await assert.rejects(t.engine.clearTask('ops', run.runId, 'nope'), /dag ops has no task "nope"; its tasks: a, b, c/);
      await assert.rejects(t.engine.getRun('ops', 'manual__never'), (e: unknown) => e instanceof FlowError && e.code === 'RUN_NOT_FOUND');
    } finally {
      await t.close();
    }
  });

  it('marking a running task stops its attempt and drops its late result', async () => {
    let signal: AbortSignal | null = null;
    let finish!: () => void;
    const dag = defineDag({ id: 'stop' }, (d) => void d.task('slow', (ctx) => ((signal = ctx.signal), new Promise<string>((r) => (finish = () => r('late'))))));
    const t = await testEngine([dag], { taskLeaseMs: 3000 });
    try {
      await t.engine.start();
      const run = await t.engine.trigger('stop');
      while (!signal) await new Promise((r) => setTimeout(r, 2));
      await t.engine.markTask('stop', run.runId, 'slow', 'success');
      await t.clock.advance(1000); // heartbeat: the worker learns it no longer holds the task
      await new Promise((r) => setTimeout(r, 20));
      assert.equal((signal as AbortSignal).aborted, true);
      finish();
      await t.engine.worker!.idle();
      const ti = (await t.engine.getRun('stop', run.runId)).tasks[0]!;
      assert.equal(ti.state, 'success');
      assert.equal(ti.output, null, 'the late output was not recorded');
    } finally {
      await t.close();
    }
  });

  it('fan-out over a dynamic list and fan-in, with a failing item retried', async () => {
    const tries = new Map<number, number>();
    const dag = defineDag({ id: 'fan' }, (d) => {
      const items = d.task('items', () => Array.from({ length: 25 }, (_, i) => i));
      const sq = d.map('square', { over: items, retries: 1, retryDelayMs: 100 }, (ctx, x: number) => {
        tries.set(x, (tries.get(x) ?? 0) + 1);
        if (x === 7 && ctx.attempt === 1) throw new Error('transient');
        return x * x;
      });
      d.task('sum', { inputs: { sq } }, (ctx, { sq }) => sq.reduce((a, b) => a + b, 0));
    });
    const t = await testEngine([dag]);
    try {
      const run = await t.engine.trigger('fan');
      await t.engine.settle();
      await t.clock.advance(100);
      await t.engine.settle();
      const d = await t.engine.getRun('fan', run.runId);
      assert.equal(d.state, 'success');
      assert.equal(d.tasks.find((x) => x.taskId === 'sum')!.output, Array.from({ length: 25 }, (_, i) => i * i).reduce((a, b) => a + b, 0));
      assert.deepEqual(d.tasks.find((x) => x.taskId === 'square')!.items, { success: 25 });
      assert.equal(tries.get(7), 2);
    } finally {
      await t.close();
    }
  });

  it('pause stops new runs; unpause resumes', async () => {
    const dag = defineDag({ id: 'pz', schedule: '@hourly' }, (d) => void d.task('a', () => 1));
    const t = await testEngine([dag], { now: T0 + H + 1 });
    try {
      await t.engine.setPaused('pz', true);
      await t.engine.settle();
      assert.equal((await t.engine.listRuns('pz')).length, 0);
      await t.engine.setPaused('pz', false);
      await t.engine.settle();
      assert.equal((await t.engine.listRuns('pz')).length, 1);
    } finally {
      await t.close();
    }
  });

  it('params: triggers are validated against the DAG and reach the tasks', async () => {
    const dag = defineDag({ id: 'par', params: { top: 3 } }, (d) => void d.task('a', (ctx) => ctx.params.top * 2));
    const t = await testEngine([dag]);
    try {
      await assert.rejects(t.engine.trigger('par', { params: { top: 'x' } }), (e: unknown) => e instanceof FlowError && e.code === 'PARAMS_INVALID');
      await assert.rejects(t.engine.trigger('nope'), (e: unknown) => e instanceof FlowError && e.code === 'DAG_NOT_FOUND');
      const run = await t.engine.trigger('par', { params: { top: 5 } });
      await t.engine.settle();
      assert.equal((await t.engine.getRun('par', run.runId)).tasks[0]!.output, 10);
    } finally {
      await t.close();
    }
  });

  it('governance: every trigger and task run passes the execute check', async () => {
    const { Governance } = await import('../../src/govern/index.ts');
    const denied = new Set<string>();
    const gov = new Governance((p, action, r) => !(r.type === 'dag' && denied.has(`${p.name} ${action} ${r.name}`)));
    const dag = defineDag({ id: 'gov' }, (d) => void d.task('a', () => 1));
    const t = await testEngine([dag], { governance: gov });
    try {
      denied.add('User:ANONYMOUS execute gov');
      await assert.rejects(t.engine.trigger('gov'), (e: unknown) => (e as { code?: string }).code === 'ACCESS_DENIED');
      denied.clear();
      denied.add('Service:flow execute gov');
      const run = await t.engine.trigger('gov');
      await t.engine.settle();
      const ti = (await t.engine.getRun('gov', run.runId)).tasks[0]!;
      assert.equal(ti.state, 'failed');
      assert.match(ti.error!, /ACCESS_DENIED: Service:flow may not execute dag gov/);
      assert.ok(gov.recent(10).some((e) => e.principal === 'Service:flow' && e.action === 'execute' && e.via === 'flow' && !e.allowed));
    } finally {
      await t.close();
    }
  });
});

describe('scheduler lease (SQLite: one scheduler at a time)', () => {
  it('a standby scheduler acts only after the holder stopped renewing for the lease time, and the old holder then stands down', async () => {
    const { openSqlite } = await import('../../src/flow/store/sql.ts');
    const { tempDir } = await import('../helpers/temp-dir.ts');
    const path = await import('node:path');
    const tmp = tempDir('flow-lease-');
    const clock = new ManualClock(T0 + 10);
    const dag = defineDag({ id: 'leased', schedule: '@hourly', start: new Date(T0), catchup: true, maxActiveRuns: 100 }, (d) => void d.task('a', () => 1));
    const file = path.join(tmp.dir, 'flow.db');
    const opts = { clock, schedulerLease: { ttlMs: 10_000 }, workerSlots: 0 };
    const a = await testEngine([dag], { ...opts, db: await openSqlite(file), workerId: 'A' });
    const b = await testEngine([dag], { ...opts, db: await openSqlite(file), workerId: 'B' });
    try {
      assert.equal((await a.engine.scheduler!.pass()).leader, true);
      assert.equal((await b.engine.scheduler!.pass()).leader, false, 'B stands by while A holds the lease');
      await clock.advance(5_000);
      assert.equal((await a.engine.scheduler!.pass()).leader, true, 'A renews');
      await clock.advance(9_999);
      assert.equal((await b.engine.scheduler!.pass()).leader, false, 'A renewed 9.999 s ago: its lease still holds');
      // An hour passes without A renewing: its runs are due, B takes over and schedules them.
      await clock.advance(H);
      const taken = await b.engine.scheduler!.pass();
      assert.equal(taken.leader, true, 'B takes the expired lease');
      assert.equal(taken.created, 1);
      // B keeps renewing while the next hour passes; then its next run is due.
      while (clock.now() + 5000 < T0 + 2 * H) {
        await clock.advance(5000);
        const p = await b.engine.scheduler!.pass();
        assert.equal(p.leader, true);
        assert.equal(p.created, 0);
      }
      await clock.advanceTo(T0 + 2 * H);
      const stale = await a.engine.scheduler!.pass();
      assert.equal(stale.leader, false, 'A finds its lease taken and stands down');
      assert.equal(stale.created, 0, 'A creates nothing without the lease');
      assert.equal((await b.engine.scheduler!.pass()).created, 1);
      assert.equal((await a.engine.listRuns('leased')).length, 2);
    } finally {
      await a.close();
      await b.close();
      tmp.cleanup();
    }
  });
});
