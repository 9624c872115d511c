/**
 * Daily top 10 (the seed's "top 10 of a period"): best-selling products across delivery orders
 * and POS sales, and the top stores by revenue, for one day in Seoul time. The store report fans
 * out at run time: one task instance per store that sold something that day.
 */
import { defineDag, type TaskHandle } from '../../../src/index.ts';
import { events, publish } from './_shop-source.ts';

type Sales = Record<string, { name: string; units: number; revenue: number }>;
type Stores = Record<string, { name: string; revenue: number; orders: number; ratingSum: number; ratings: number }>;

export default defineDag(
  {
    id: 'top10_daily',
    schedule: '0 0 * * *',
    timezone: 'Asia/Seoul',
    tags: ['shop', 'sales'],
    description: 'Top 10 products and stores per day → shop.marts.top10-daily',
    params: { top: 10 },
    defaults: { retries: 2, retryDelayMs: 60_000, timeoutMs: 30 * 60_000 },
  },
  (dag) => {
    let orders!: TaskHandle<{ sales: Sales; stores: Stores }>;
    let pos!: TaskHandle<Sales>;
    const extract = dag.group('extract', (g) => {
      orders = g.task('orders', async (ctx) => {
        const sales: Sales = {};
        const stores: Stores = {};
        for (const o of await events(ctx, 'orders')) {
          for (const it of o.items) {
            const s = (sales[it.sku] ??= { name: it.name, units: 0, revenue: 0 });
            s.units += it.qty;
            s.revenue += it.qty * it.unitPrice;
          }
          const st = (stores[o.storeId] ??= { name: o.storeName, revenue: 0, orders: 0, ratingSum: 0, ratings: 0 });
          st.revenue += o.amount;
          st.orders++;
        }
        for (const r of await events(ctx, 'reviews')) {
          const st = stores[r.storeId];
          if (st) {
            st.ratingSum += r.rating;
            st.ratings++;
          }
        }
        return { sales, stores };
      });
      pos = g.task('pos_sales', async (ctx) => {
        const sales: Sales = {};
        for (const p of await events(ctx, 'posSales')) {
          const s = (sales[p.sku] ??= { name: p.productName, units: 0, revenue: 0 });
          s.units += p.qty;
          s.revenue += p.amount;
        }
        return sales;
      });
    });

    const products = dag.task('top_products', { inputs: { orders, pos } }, (ctx, { orders, pos }) => {
      const all: Sales = structuredClone(orders.sales);
      for (const [sku, s] of Object.entries(pos)) {
        const t = (all[sku] ??= { name: s.name, units: 0, revenue: 0 });
        t.units += s.units;
        t.revenue += s.revenue;
      }
      return Object.entries(all)
        .sort((a, b) => b[1].revenue - a[1].revenue || a[0].localeCompare(b[0]))
        .slice(0, ctx.params.top)
        .map(([sku, s], i) => ({ rank: i + 1, sku, name: s.name, units: s.units, revenue: s.revenue }));
    });

    const storeIds = dag.task('stores', { inputs: { orders } }, (ctx, { orders }) => Object.keys(orders.stores).sort());
    const storeReport = dag.map('store_report', { over: storeIds, inputs: { orders } }, (ctx, storeId: string, { orders }) => {
      const s = orders.stores[storeId]!;
      return { storeId, name: s.name, revenue: s.revenue, orders: s.orders, avgRating: s.ratings ? Math.round((s.ratingSum / s.ratings) * 100) / 100 : null };
    });

    const stores = dag.task('top_stores', { inputs: { storeReport } }, (ctx, { storeReport }) =>
      [...storeReport].sort((a, b) => b.revenue - a.revenue || a.storeId.localeCompare(b.storeId)).slice(0, ctx.params.top).map((s, i) => ({ rank: i + 1, ...s })),
    );

    dag.task('publish', { inputs: { products, stores }, after: extract }, async (ctx, { products, stores }) => {
      await publish(ctx, 'shop.marts.top10-daily', [{ products, stores }]);
      return { topProduct: products[0]?.name ?? null, topStore: stores[0]?.name ?? null };
    });
  },
);
