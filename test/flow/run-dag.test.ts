import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineDag } from '../../src/flow/define/dag.ts';
import { runDag } from '../../src/flow/testing/run-dag.ts';

describe('runDag: testing a DAG is one call', () => {
  const dag = defineDag({ id: 'orders', schedule: '0 0 * * *', timezone: 'Asia/Seoul', params: { top: 2 } }, (d) => {
    const stores = d.task('stores', (ctx) => ({ day: ctx.interval.start.toISOString(), ids: ['s1', 's2', 's3'] }));
    const ids = d.task('ids', { inputs: { stores } }, (ctx, { stores }) => stores.ids);
    const totals = d.map('total', { over: ids, retries: 2, retryDelayMs: 3_600_000 }, (ctx, id: string) => {
      if (id === 's2' && ctx.attempt === 1) throw new Error('flaky store API');
      return { id, total: id.length * 10 + Number(id[1]) };
    });
    d.group('report', (g) => {
      g.task('top', { inputs: { totals } }, (ctx, { totals }) => [...totals].sort((a, b) => b.total - a.total).slice(0, ctx.params.top).map((t) => t.id));
    });
  });

  it('returns every task state and output, skipping the hour-long retry wait', async () => {
    const r = await runDag(dag, { interval: { start: '2025-12-31T15:00:00Z', end: '2026-01-01T15:00:00Z' }, params: { top: 1 } });
    assert.equal(r.state, 'success');
    assert.equal((r.tasks['stores']!.output as { day: string }).day, '2025-12-31T15:00:00.000Z');
    assert.deepEqual(r.tasks['report.top']!.output, ['s3']);
    assert.equal(r.tasks['total']!.items!.length, 3);
    assert.equal(r.tasks['total']!.items![1]!.attempts, 2);
    assert.deepEqual(r.tasks['total']!.output, [{ id: 's1', total: 21 }, { id: 's2', total: 22 }, { id: 's3', total: 23 }]);
  });

  it('a failing run reports which task failed and why', async () => {
    const bad = defineDag({ id: 'bad' }, (d) => {
      const a = d.task('a', () => {
        throw new TypeError('x is not a function');
      });
      d.task('b', { after: a }, () => 1);
    });
    const r = await runDag(bad);
    assert.equal(r.state, 'failed');
    assert.equal(r.tasks['a']!.state, 'failed');
    assert.equal(r.tasks['a']!.error, 'x is not a function');
    assert.equal(r.tasks['b']!.state, 'upstream_failed');
  });

  it('a run that can never finish is reported instead of hanging', async () => {
    const waiting = defineDag({ id: 'w' }, (d) => void d.sensor('never', { poke: () => false, pokeIntervalMs: 3_600_000, maxWaitMs: 30 * 24 * 3_600_000 }));
    await assert.rejects(runDag(waiting, { maxSimulatedMs: 24 * 3_600_000 }), /cannot finish: never is up_for_reschedule/);
  });
});
