/**
 * The demo's SQL-backed workflow (examples/shop/dags/shop_marts_hourly.ts) over shop events the
 * way `tributary up` lands them (generator → topics → lake sinks → raw.*), with the demo's
 * models: the lake sensor waits for the hour after the interval, the hour's order figures equal
 * what the generator's events say, the marts are built into curated.* and tested, and the heads
 * of two marts are read back. Without the next hour's partition, nothing is built.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { OrderEvent, ShopEvent } from '../../src/connect/generator/index.ts';
import type { Lake } from '../../src/lake/index.ts';
import { ModelRunner, SqlGateway } from '../../src/warehouse/index.ts';
import { Governance } from '../../src/govern/index.ts';
import { runDag, type LakeProbe } from '../../src/flow/index.ts';
import dag from '../../examples/shop/dags/shop_marts_hourly.ts';
import { shopLake } from '../warehouse/helpers/shop.ts';

const MODELS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/shop/models');
const HOUR = 3600_000;

describe('shop_marts_hourly: the demo marts rebuilt by a workflow through ctx.sql and ctx.models', () => {
  let lake: Lake;
  let gateway: SqlGateway;
  let governance: Governance;
  let runner: ModelRunner;
  let events: ShopEvent[];
  let probe: LakeProbe;
  // Dense events (1/s) from 10 minutes into hour H0 for 100 minutes: hour H0 closes, hour H0+1 has begun.
  const H0 = Date.UTC(2024, 4, 20, 9);

  before(async () => {
    const sparse = { events: 1500, startTime: H0 - 1500 * 2400_000, ratePerSecond: 1 / 2400, seed: 21 };
    ({ lake, events } = await shopLake({ phases: [sparse, { events: 6000, startTime: H0 + 10 * 60_000, ratePerSecond: 1, seed: 22 }] }));
    governance = new Governance();
    gateway = await SqlGateway.open({ lake, governance });
    runner = new ModelRunner({ gateway, lake, modelsDir: MODELS, governance });
    probe = {
      async partitionExists(table, partition) {
        try {
          return (await lake.files(table, { partition })).length > 0;
        } catch (err) {
          if ((err as { code?: string }).code === 'LAKE_TABLE_UNKNOWN') return false;
          throw err;
        }
      },
    };
  });
  after(async () => {
    await gateway?.close();
    await lake?.close();
  });

  it('after the hour closes: hour figures by SQL, marts built and tested, heads of the marts read back, audited as the tasks', async () => {
    const since = Date.now();
    const r = await runDag(dag, { interval: { start: H0, end: H0 + HOUR }, lake: probe, warehouse: { gateway, runner }, workerSlots: 2 });
    assert.equal(r.state, 'success', JSON.stringify(Object.fromEntries(Object.entries(r.tasks).map(([k, t]) => [k, [t.state, t.error]]))));

    const orders = events.filter((e) => e.value.type === 'order' && e.timestamp >= H0 && e.timestamp < H0 + HOUR).map((e) => e.value as OrderEvent);
    assert.ok(orders.length > 100, `${orders.length} orders in the hour`);
    const byPayment = new Map<string, { orders: number; customers: Set<string>; revenue: number }>();
    for (const o of orders) {
      const p = byPayment.get(o.paymentMethod) ?? byPayment.set(o.paymentMethod, { orders: 0, customers: new Set(), revenue: 0 }).get(o.paymentMethod)!;
      p.orders++;
      p.customers.add(o.userId);
      p.revenue += o.amount;
    }
    const revenue = orders.reduce((s, o) => s + o.amount, 0);
    assert.deepEqual(r.tasks['hour_figures']!.output, {
      hour: new Date(H0).toISOString(),
      orders: orders.length,
      revenue,
      avgOrderValue: Math.round(revenue / orders.length),
      byPayment: [...byPayment]
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([payment_method, p]) => ({ payment_method, orders: p.orders, customers: p.customers.size, revenue: p.revenue })),
    });

    const built = r.tasks['build_marts']!.output as Array<{ model: string; materialized: string; snapshot: number | null }>;
    assert.deepEqual(built.map((m) => m.model), ['monthly_order_stats', 'search_ranking_last_hour', 'stg_order_items', 'top_products']);
    for (const m of built.filter((x) => x.materialized !== 'view')) assert.ok(typeof m.snapshot === 'number' && m.snapshot > 0, `${m.model} committed a snapshot`);
    const curated = (await lake.tables()).map((t) => t.fullName).filter((n) => n.startsWith('curated.')).sort();
    assert.deepEqual(curated, ['curated.monthly_order_stats', 'curated.search_ranking_last_hour', 'curated.top_products']);

    const tested = r.tasks['test_marts']!.output as { tests: number; warned: string[] };
    assert.ok(tested.tests >= 15, `${tested.tests} tests ran`);

    assert.deepEqual(r.tasks['top_searches']!.output, await gateway.all('SELECT rank, query, searches, share_pct FROM curated.search_ranking_last_hour ORDER BY rank LIMIT 5'));
    const products = r.tasks['top_products']!.output as Array<{ rank: number }>;
    assert.deepEqual(products.map((p) => p.rank), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    const audited = governance.recent(10_000).filter((e) => e.time >= since && e.via === 'task' && e.detail?.['dagId'] === 'shop_marts_hourly');
    const tasks = new Set(audited.map((e) => e.detail?.['taskId']));
    for (const t of ['hour_figures', 'build_marts', 'test_marts', 'top_searches', 'top_products']) assert.ok(tasks.has(t), `${t} was audited (got ${[...tasks].join(', ')})`);
  });

  it('while the next hour has not landed, the sensor waits and nothing is built', async () => {
    const before = (await lake.snapshot()).id;
    // The last hour with data: no partition for the hour after it.
    const last = H0 + 1 * HOUR;
    const r = await runDag(dag, { interval: { start: last, end: last + HOUR }, lake: probe, warehouse: { gateway, runner }, workerSlots: 2 });
    assert.equal(r.state, 'failed');
    assert.equal(r.tasks['orders_landed']!.state, 'failed');
    assert.match(r.tasks['orders_landed']!.error ?? '', /SENSOR_TIMEOUT|did not/i);
    for (const t of ['hour_figures', 'build_marts', 'test_marts']) assert.equal(r.tasks[t]!.state, 'upstream_failed', t);
    assert.equal((await lake.snapshot()).id, before, 'no model was built');
  });
});
