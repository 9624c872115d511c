/**
 * The marts, rebuilt every hour (`tributary models build` + `tributary models test` as a
 * workflow). Once an hour has closed, a lake sensor waits until raw.orders has rolled into the
 * next hour's partition (the sink has committed past the hour's end); then the hour's order
 * figures are read with SQL, the models in ../models are built into the lake's curated zone and
 * tested, and the heads of two marts are read back — every step through the warehouse's SQL
 * gateway (`ctx.sql`, `ctx.models`), audited as via `task`.
 */
import { defineDag, sensors } from '../../../src/index.ts';

/** The lake sinks' event-time partition of an instant: dt=YYYY-MM-DD/hr=HH (UTC). */
const hourPartition = (t: Date) => ({ dt: t.toISOString().slice(0, 10), hr: t.toISOString().slice(11, 13) });

export default defineDag(
  {
    id: 'shop_marts_hourly',
    schedule: '0 * * * *',
    timezone: 'Asia/Seoul',
    catchup: false,
    maxActiveRuns: 1,
    tags: ['shop', 'marts', 'sql'],
    description: 'After each hour: hour figures from raw.orders, then models build + test → curated.*',
    defaults: { retries: 2, retryDelayMs: 60_000, timeoutMs: 20 * 60_000 },
  },
  (dag) => {
    const landed = dag.sensor(
      'orders_landed',
      sensors.lakePartition('raw.orders', (a) => hourPartition(a.interval.end)),
      { pokeIntervalMs: 30_000, maxWaitMs: 30 * 60_000 },
    );

    dag.task('hour_figures', { after: landed }, async (ctx) => {
      const rows = await ctx.sql<{ payment_method: string; orders: number; customers: number; revenue: number }>(
        `SELECT paymentMethod AS payment_method, count(*)::INTEGER AS orders, count(DISTINCT userId)::INTEGER AS customers, sum(amount)::BIGINT AS revenue
           FROM raw.orders
          WHERE eventTime >= $1 AND eventTime < $2
          GROUP BY ALL
          ORDER BY payment_method`,
        [ctx.interval.start, ctx.interval.end],
      );
      const orders = rows.reduce((s, r) => s + r.orders, 0);
      const revenue = rows.reduce((s, r) => s + Number(r.revenue), 0);
      return { hour: ctx.interval.start.toISOString(), orders, revenue, avgOrderValue: orders ? Math.round(revenue / orders) : 0, byPayment: rows };
    });

    const build = dag.task('build_marts', { after: landed }, async (ctx) => {
      const { results } = await ctx.models.build();
      return results.map((m) => ({ model: m.model, materialized: m.materialized, rows: m.rows, snapshot: m.snapshot }));
    });

    dag.task('test_marts', { after: build }, async (ctx) => {
      const { results } = await ctx.models.test();
      return { tests: results.length, warned: results.filter((t) => t.status === 'warn').map((t) => t.test) };
    });

    dag.task('top_searches', { after: build }, (ctx) =>
      ctx.sql('SELECT rank, query, searches, share_pct FROM curated.search_ranking_last_hour ORDER BY rank LIMIT 5'),
    );

    dag.task('top_products', { after: build }, (ctx) =>
      ctx.sql('SELECT rank, sku, product_name, units, revenue FROM curated.top_products ORDER BY rank'),
    );
  },
);
