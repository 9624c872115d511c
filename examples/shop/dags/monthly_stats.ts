/**
 * Monthly statistics (the seed's "monthly statistics"): orders, revenue, payment mix, review
 * ratings and driving safety for one calendar month in Seoul time. Three extracts run in
 * parallel; the report waits for all of them.
 */
import { defineDag } from '../../../src/index.ts';
import { events, publish } from './_shop-source.ts';

export default defineDag(
  {
    id: 'monthly_stats',
    schedule: '0 0 1 * *',
    timezone: 'Asia/Seoul',
    tags: ['shop', 'report'],
    description: 'Monthly order, review and delivery statistics → shop.marts.monthly-stats',
    defaults: { retries: 3, retryDelayMs: 5 * 60_000, timeoutMs: 2 * 3600_000 },
  },
  (dag) => {
    const orders = dag.task('orders', async (ctx) => {
      const list = await events(ctx, 'orders');
      const payments: Record<string, number> = {};
      let revenue = 0;
      for (const o of list) {
        revenue += o.amount;
        payments[o.paymentMethod] = (payments[o.paymentMethod] ?? 0) + 1;
      }
      return { orders: list.length, revenue, avgOrderValue: list.length ? Math.round(revenue / list.length) : 0, payments };
    });
    const reviews = dag.task('reviews', async (ctx) => {
      const list = await events(ctx, 'reviews');
      const histogram = [0, 0, 0, 0, 0];
      for (const r of list) histogram[Math.min(5, Math.max(1, Math.round(r.rating))) - 1]!++;
      const avg = list.length ? list.reduce((s, r) => s + r.rating, 0) / list.length : null;
      return { reviews: list.length, avgRating: avg === null ? null : Math.round(avg * 100) / 100, histogram };
    });
    const deliveries = dag.task('deliveries', async (ctx) => {
      const list = await events(ctx, 'deliveries');
      let braking = 0;
      let accel = 0;
      let speeding = 0;
      const trips = new Set<string>();
      for (const d of list) {
        trips.add(d.deliveryId);
        if (d.harshBraking) braking++;
        if (d.harshAcceleration) accel++;
        if (d.speedKmh > d.speedLimitKmh) speeding++;
      }
      return { pings: list.length, trips: trips.size, harshBraking: braking, harshAcceleration: accel, speedingPings: speeding };
    });

    dag.task('report', { inputs: { orders, reviews, deliveries } }, async (ctx, inputs) => {
      const month = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Seoul', year: 'numeric', month: '2-digit' }).format(ctx.interval.start);
      const report = { month, ...inputs };
      await publish(ctx, 'shop.marts.monthly-stats', [report]);
      return report;
    });
  },
);
