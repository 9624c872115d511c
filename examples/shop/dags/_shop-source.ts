/**
 * Where the shop DAGs get their events: one function per event kind, for a data interval.
 *
 * These read the shop topics through the bus (`ctx.topics.read`, performed by the engine host),
 * so they work from the first second, before the lake sinks have committed anything. Tasks that
 * aggregate over the lake use SQL instead — `ctx.sql('SELECT … FROM raw.orders WHERE eventTime >= $1
 * AND eventTime < $2', [ctx.interval.start, ctx.interval.end])` — as shop_marts_hourly.ts does.
 * (Files starting with `_` are helpers: the DAG loader skips them.)
 */
import type { TaskContext } from '../../../src/index.ts';
import type { OrderEvent, PosSaleEvent, ReviewEvent, SearchEvent, DeliveryEvent } from '../../../src/connect/generator/shop-events.ts';

export type { OrderEvent, PosSaleEvent, ReviewEvent, SearchEvent, DeliveryEvent };

const TOPICS = {
  searches: 'shop.searches',
  orders: 'shop.orders',
  reviews: 'shop.reviews',
  deliveries: 'shop.deliveries',
  posSales: 'shop.pos-sales',
} as const;

type Kinds = { searches: SearchEvent; orders: OrderEvent; reviews: ReviewEvent; deliveries: DeliveryEvent; posSales: PosSaleEvent };

/** Events of one kind whose event time lies in the run's data interval. */
export async function events<K extends keyof Kinds>(ctx: TaskContext<any>, kind: K): Promise<Array<Kinds[K]>> {
  const records = await ctx.topics.read(TOPICS[kind], { from: ctx.interval.start, to: ctx.interval.end });
  const out: Array<Kinds[K]> = [];
  let bad = 0;
  for (const r of records) {
    try {
      out.push(JSON.parse(r.value ?? 'null') as Kinds[K]);
    } catch {
      bad++;
    }
  }
  ctx.log.info(`read ${out.length} ${kind} events`, { from: ctx.interval.start.toISOString(), to: ctx.interval.end.toISOString(), unreadable: bad });
  return out;
}

/** Writes a report's rows to its topic (the warehouse's marts are built by shop_marts_hourly.ts). */
export async function publish(ctx: TaskContext<any>, topic: string, rows: unknown[]): Promise<number> {
  const period = { start: ctx.interval.start.toISOString(), end: ctx.interval.end.toISOString() };
  const n = await ctx.topics.write(topic, [{ key: period.start, value: { period, runId: ctx.runId, rows } }]);
  ctx.log.info(`published ${rows.length} rows to ${topic}`);
  return n;
}
