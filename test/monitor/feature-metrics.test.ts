/**
 * The series the monitor takes from the flow and warehouse parts: DAG run durations, schedule
 * delay, task queue time and query durations, from a flow engine's 'run' events and the SQL
 * gateway's cursors (both stood in for by objects of the same shape).
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { parseExposition, sumSamples } from '../../src/monitor/exposition.ts';
import { instrumentParts } from '../../src/monitor/feature-metrics.ts';
import { FailureLog } from '../../src/monitor/failures.ts';
import { createMetricsRegistry, type Registry } from '../../src/monitor/metrics.ts';
import type { FeaturePart } from '../../src/server/parts.ts';

async function scrape(registry: Registry) {
  return parseExposition(await registry.metrics());
}

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not met');
}

describe('metrics of the flow part', () => {
  it('observes run duration, schedule delay and queue time when a run finishes', async () => {
    const events = new EventEmitter();
    const runs = new Map([
      [1, { dagId: 'top10', kind: 'scheduled', intervalEnd: 10_000, startedAt: 12_500, endedAt: 20_500 }],
      [2, { dagId: 'top10', kind: 'manual', intervalEnd: 50_000, startedAt: 30_000, endedAt: 30_250 }],
    ]);
    const tasks = new Map([
      [1, [{ pool: 'default', queuedAt: 12_600, startedAt: 13_600 }, { pool: 'default', queuedAt: 14_000, startedAt: null }]],
      [2, [{ pool: 'db', queuedAt: 30_000, startedAt: 30_100 }]],
    ]);
    const flow = { name: 'flow', engine: { events, store: { runById: async (id: number) => runs.get(id), runTasks: async (id: number) => tasks.get(id) ?? [] } } };
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const detach = instrumentParts(new Map<string, FeaturePart>([['flow', flow as unknown as FeaturePart]]), registry);

    events.emit('run', 1, 'success', 'top10');
    events.emit('run', 2, 'failed', 'top10');
    await eventually(async () => sumSamples(await scrape(registry), 'tributary_flow_task_queued_duration_seconds', {}, 'tributary_flow_task_queued_duration_seconds_count') === 2);
    const m = await scrape(registry);
    const sum = (name: string, labels: Record<string, string>) => sumSamples(m, name, labels, `${name}_sum`);
    const count = (name: string, labels: Record<string, string> = {}) => sumSamples(m, name, labels, `${name}_count`);
    assert.equal(sum('tributary_flow_dag_run_duration_seconds', { dag: 'top10', state: 'success' }), 8);
    assert.equal(sum('tributary_flow_dag_run_duration_seconds', { dag: 'top10', state: 'failed' }), 0.25);
    // Only the scheduled run has a schedule delay: 12.5 s start − 10 s interval end.
    assert.equal(count('tributary_flow_dag_run_schedule_delay_seconds'), 1);
    assert.equal(sum('tributary_flow_dag_run_schedule_delay_seconds', { dag: 'top10' }), 2.5);
    // The task that never started has no queue time.
    assert.equal(sum('tributary_flow_task_queued_duration_seconds', { dag: 'top10', pool: 'default' }), 1);
    assert.equal(sum('tributary_flow_task_queued_duration_seconds', { dag: 'top10', pool: 'db' }), 0.1);

    detach();
    events.emit('run', 1, 'success', 'top10');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sumSamples(await scrape(registry), 'tributary_flow_dag_run_duration_seconds', {}, 'tributary_flow_dag_run_duration_seconds_count'), 2);
  });
});

describe('metrics of the warehouse part', () => {
  it('times each query to its last row, failures included, once per cursor', async () => {
    let closed = 0;
    const gateway = {
      async query(sql: string) {
        if (sql.startsWith('SELEC ')) throw new Error('syntax error');
        await new Promise((r) => setTimeout(r, 30));
        return {
          close() {
            closed++;
          },
        };
      },
    };
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const detach = instrumentParts(new Map<string, FeaturePart>([['warehouse', { name: 'warehouse', gateway } as unknown as FeaturePart]]), registry);
    const cursor = await gateway.query('SELECT 1');
    let m = await scrape(registry);
    assert.equal(sumSamples(m, 'tributary_warehouse_query_duration_seconds', {}, 'tributary_warehouse_query_duration_seconds_count'), 0, 'still reading');
    await new Promise((r) => setTimeout(r, 20));
    cursor.close();
    cursor.close();
    await assert.rejects(gateway.query('SELEC 1'), /syntax error/);
    m = await scrape(registry);
    assert.equal(closed, 2, 'the cursor is still closed');
    assert.equal(sumSamples(m, 'tributary_warehouse_query_duration_seconds', { outcome: 'ok' }, 'tributary_warehouse_query_duration_seconds_count'), 1);
    assert.ok(sumSamples(m, 'tributary_warehouse_query_duration_seconds', { outcome: 'ok' }, 'tributary_warehouse_query_duration_seconds_sum') >= 0.045);
    assert.equal(sumSamples(m, 'tributary_warehouse_query_duration_seconds', { outcome: 'error' }, 'tributary_warehouse_query_duration_seconds_count'), 1);
    detach();
    (await gateway.query('SELECT 2')).close();
    m = await scrape(registry);
    assert.equal(sumSamples(m, 'tributary_warehouse_query_duration_seconds', {}, 'tributary_warehouse_query_duration_seconds_count'), 2);
  });

  it('skips parts that are absent', () => {
    assert.doesNotThrow(() => instrumentParts(new Map(), createMetricsRegistry({ defaultMetrics: false }))());
  });
});

describe('the failure log', () => {
  it('filters by words and severity, newest first, and pages within the filter', () => {
    const log = new FailureLog();
    log.add({ severity: 'error', source: 'group:dashboards', message: 'consumer group dashboards is STALLED' });
    log.add({ severity: 'info', source: 'group:driver-score', message: 'consumer group driver-score is OK (was WARN)' });
    log.add({ severity: 'warning', source: 'group:driver-score', message: 'consumer group driver-score is WARN' });
    log.add({ severity: 'error', source: 'part:lake', message: 'lake failed: disk full' });
    log.add({ severity: 'error', source: 'group:dashboards', message: 'consumer group dashboards is STALLED (was WARN)' });
    assert.deepEqual(log.list({ q: 'DASHBOARDS' }).events.map((e) => e.id), [5, 1]);
    assert.deepEqual(log.list({ q: 'part:lake' }).events.map((e) => e.id), [4]);
    assert.deepEqual(log.list({ severities: ['error', 'warning'] }).events.map((e) => e.id), [5, 4, 3, 1]);
    assert.deepEqual(log.list({ q: 'driver-score', severities: ['info'] }).events.map((e) => e.id), [2]);
    const first = log.list({ severities: ['error'], limit: 2 });
    assert.deepEqual(first.events.map((e) => e.id), [5, 4]);
    assert.equal(first.nextBefore, 4);
    const second = log.list({ severities: ['error'], limit: 2, before: first.nextBefore! });
    assert.deepEqual(second.events.map((e) => e.id), [1]);
    assert.equal(second.nextBefore, null);
  });
});
