/**
 * The demo's marts (examples/shop/models) built over shop events the way `tributary up` lands
 * them (generator → topics → lake sinks → raw.*): every model builds, every test passes, and
 * each mart holds what the generator's events say it must — computed here in JavaScript from
 * the same events, not from the lake.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { OrderEvent, PosSaleEvent, SearchEvent, ShopEvent } from '../../src/connect/generator/index.ts';
import { Governance } from '../../src/govern/index.ts';
import type { Lake } from '../../src/lake/index.ts';
import { ModelRunner, SqlGateway } from '../../src/warehouse/index.ts';
import { shopLake } from './helpers/shop.ts';

const MODELS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/shop/models');
const HOUR = 3600_000;
const DAY = 24 * HOUR;

const month = (ms: number) => new Date(ms).toISOString().slice(0, 7);

describe('the demo marts over generated shop events', () => {
  let lake: Lake;
  let gateway: SqlGateway;
  let runner: ModelRunner;
  let events: ShopEvent[];
  before(async () => {
    // Three months of sparse history (one event per ~40 min), then a dense last stretch (2/s).
    const start = Date.UTC(2024, 1, 10);
    const sparse = { events: 3000, startTime: start, ratePerSecond: 1 / 2400, seed: 11 };
    const denseStart = start + sparse.events * 2400_000 + 60_000;
    ({ lake, events } = await shopLake({ phases: [sparse, { events: 3000, startTime: denseStart, ratePerSecond: 2, seed: 12 }] }));
    gateway = await SqlGateway.open({ lake });
    runner = new ModelRunner({ gateway, lake, modelsDir: MODELS, governance: new Governance() });
  });
  after(async () => {
    await gateway?.close();
    await lake?.close();
  });

  const of = <T>(type: string) => events.filter((e) => e.value.type === type).map((e) => ({ ...(e.value as T), at: e.timestamp }));

  test('the raw tables hold every generated event', async () => {
    const [r] = await gateway.all('SELECT (SELECT count(*) FROM raw.searches) AS s, (SELECT count(*) FROM raw.orders) AS o, (SELECT count(*) FROM raw.pos_sales) AS p');
    assert.deepEqual(r, { s: of('search').length, o: of('order').length, p: of('pos-sale').length });
  });

  test('models build builds every mart into the curated zone, and models test passes', async () => {
    const built = await runner.build();
    assert.deepEqual(
      built.results.map((r) => [r.model, r.status, r.error?.message]),
      [
        ['monthly_order_stats', 'success', undefined],
        ['search_ranking_last_hour', 'success', undefined],
        ['stg_order_items', 'success', undefined],
        ['top_products', 'success', undefined],
      ],
    );
    assert.equal(built.ok, true);
    const tables = (await lake.tables()).map((t) => t.fullName).filter((n) => n.startsWith('curated.')).sort();
    assert.deepEqual(tables, ['curated.monthly_order_stats', 'curated.search_ranking_last_hour', 'curated.top_products'], 'tables in the lake (the staging view is not)');
    for (const r of built.results.filter((x) => x.materialized !== 'view')) assert.ok(typeof r.snapshot === 'number' && r.snapshot > 0, `${r.model} committed a snapshot`);

    const tested = await runner.test();
    const bad = tested.results.filter((r) => r.status !== 'pass');
    assert.deepEqual(bad.map((r) => [r.test, r.status, r.error?.message, r.samples]), []);
    assert.ok(tested.results.length >= 15, `${tested.results.length} tests ran`);
    assert.ok(tested.results.some((r) => r.kind === 'relationships') && tested.results.some((r) => r.kind === 'accepted_values') && tested.results.some((r) => r.kind === 'sql'));
  });

  test('last-hour search ranking: the terms of the newest hour by count', async () => {
    const searches = of<SearchEvent>('search');
    const hi = Math.max(...searches.map((s) => s.at));
    const recent = searches.filter((s) => s.at > hi - HOUR && s.at <= hi);
    const byTerm = new Map<string, { n: number; users: Set<string> }>();
    for (const s of recent) {
      const t = byTerm.get(s.query) ?? byTerm.set(s.query, { n: 0, users: new Set() }).get(s.query)!;
      t.n++;
      t.users.add(s.userId);
    }
    const expected = [...byTerm].sort((a, b) => b[1].n - a[1].n || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([query, t], i) => ({ rank: i + 1, query, searches: t.n, users: t.users.size }));
    assert.ok(expected.length >= 5 && recent.length >= 100, `enough searches in the last hour (${recent.length})`);

    const rows = await gateway.all('SELECT rank, query, searches, users, share_pct, window_start, window_end FROM curated.search_ranking_last_hour ORDER BY rank');
    assert.deepEqual(
      rows.map((r) => ({ rank: r['rank'], query: r['query'], searches: r['searches'], users: r['users'] })),
      expected,
    );
    const shares = rows.reduce((a, r) => a + Number(r['share_pct']), 0);
    assert.ok(Math.abs(shares - 100) < 0.5, `shares add up to 100 % (${shares})`);
    assert.equal(Date.parse(String(rows[0]!['window_end']).replace(' ', 'T').replace(/\+00$/, 'Z')), hi);
    assert.equal(Date.parse(String(rows[0]!['window_start']).replace(' ', 'T').replace(/\+00$/, 'Z')), hi - HOUR);
  });

  test('top 10 products of the period: delivery items and store sales by revenue', async () => {
    const orders = of<OrderEvent>('order');
    const hi = Math.max(...orders.map((o) => o.at));
    const lo = hi - 7 * DAY;
    const by = new Map<string, { units: number; revenue: number; orders: Set<string>; channels: Set<string> }>();
    const add = (sku: string, qty: number, revenue: number, id: string, channel: string) => {
      const p = by.get(sku) ?? by.set(sku, { units: 0, revenue: 0, orders: new Set(), channels: new Set() }).get(sku)!;
      p.units += qty;
      p.revenue += revenue;
      p.orders.add(id);
      p.channels.add(channel);
    };
    for (const o of orders) if (o.at > lo && o.at <= hi) for (const it of o.items) add(it.sku, it.qty, it.qty * it.unitPrice, o.orderId, 'delivery');
    for (const s of of<PosSaleEvent>('pos-sale')) if (s.at > lo && s.at <= hi) add(s.sku, s.qty, s.amount, s.saleId, 'store');
    const expected = [...by]
      .sort((a, b) => b[1].revenue - a[1].revenue || (a[0] < b[0] ? -1 : 1))
      .slice(0, 10)
      .map(([sku, p], i) => ({ rank: i + 1, sku, units: p.units, revenue: p.revenue, orders: p.orders.size, channels: p.channels.size }));
    assert.equal(expected.length, 10);

    const rows = await gateway.all('SELECT rank, sku, units, revenue, orders, channels FROM curated.top_products ORDER BY rank');
    assert.deepEqual(rows, expected);
    // Another period through var(): a different answer, still ten rows.
    const one = await runner.build({ select: ['top_products'], vars: { period_days: 1 } });
    assert.equal(one.ok, true);
    const day = await gateway.all('SELECT count(*) AS n, min(period_start) AS lo, max(period_end) AS hi FROM curated.top_products');
    assert.equal(day[0]!['n'], 10);
    assert.equal(Date.parse(String(day[0]!['hi']).replace(' ', 'T').replace(/\+00$/, 'Z')) - Date.parse(String(day[0]!['lo']).replace(' ', 'T').replace(/\+00$/, 'Z')), DAY);
  });

  test('monthly order statistics: one partition per month, incremental runs keep the totals', async () => {
    const orders = of<OrderEvent>('order');
    const key = (m: string, p: string) => `${m}|${p}`;
    const by = new Map<string, { orders: number; customers: Set<string>; revenue: number; fees: number }>();
    for (const o of orders) {
      const k = key(month(o.at), o.paymentMethod);
      const s = by.get(k) ?? by.set(k, { orders: 0, customers: new Set(), revenue: 0, fees: 0 }).get(k)!;
      s.orders++;
      s.customers.add(o.userId);
      s.revenue += o.amount;
      s.fees += o.deliveryFee;
    }
    const expected = [...by]
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([k, s]) => ({ month: k.split('|')[0]!, payment_method: k.split('|')[1]!, orders: s.orders, customers: s.customers.size, revenue: s.revenue, delivery_fees: s.fees }));
    const months = new Set(expected.map((e) => e.month));
    assert.ok(months.size >= 3, `the data spans several months (${[...months].join(', ')})`);

    const read = () => gateway.all('SELECT month, payment_method, orders, customers, revenue, delivery_fees FROM curated.monthly_order_stats ORDER BY month, payment_method');
    assert.deepEqual(await read(), expected);
    const table = await lake.table('curated.monthly_order_stats');
    assert.deepEqual(table.partitionBy.map((p) => p.name), ['month']);
    const files = await lake.files('curated.monthly_order_stats');
    assert.deepEqual([...new Set(files.map((f) => f.partition['month']))].sort(), [...months].sort());

    // An incremental run (delete+insert) rewrites only the newest month's partition.
    const newest = [...months].sort().at(-1)!;
    const before = new Map(files.map((f) => [f.key, f.partition['month']]));
    const again = await runner.build({ select: ['monthly_order_stats'] });
    assert.deepEqual(again.results.map((r) => [r.status, r.strategy]), [['success', 'delete+insert']]);
    assert.deepEqual(await read(), expected);
    const after = await lake.files('curated.monthly_order_stats');
    const kept = after.filter((f) => before.has(f.key)).map((f) => f.partition['month']);
    assert.deepEqual([...new Set(kept)].sort(), [...months].filter((m) => m !== newest).sort(), 'older months keep their files');
  });
});
