/**
 * Demo data the way `tributary up` lands it: shop generator events produced to the five shop
 * topics of a real embedded bus, drained by real lake sinks (the demo config's settings) into
 * raw.searches, raw.orders, raw.reviews, raw.deliveries, raw.pos_sales.
 */
import path from 'node:path';
import { openEmbeddedBus } from '../../../src/bus/index.ts';
import { encodeShopEvent, ShopEventStream, type ShopEvent } from '../../../src/connect/generator/index.ts';
import { LakeSink, openLake, type Lake } from '../../../src/lake/index.ts';
import { tempDirUntilExit } from '../../helpers/temp-dir.ts';

export const SHOP_SINKS = [
  { topic: 'shop.searches', table: 'raw.searches' },
  { topic: 'shop.orders', table: 'raw.orders' },
  { topic: 'shop.reviews', table: 'raw.reviews' },
  { topic: 'shop.deliveries', table: 'raw.deliveries' },
  { topic: 'shop.pos-sales', table: 'raw.pos_sales' },
];

export interface ShopPhase {
  events: number;
  startTime: number;
  /** How far event time spreads (0.05/s: one event per 20 s of event time) from `startTime`. */
  ratePerSecond: number;
  seed?: number;
}

/**
 * A lake holding the shop events of one or more phases (each its own generator stream, e.g.
 * months of sparse history, then a dense last hour). Returns the events too, so tests compute
 * what the marts must hold from the generator's output, not from the lake.
 */
export async function shopLake(opts: ShopPhase | { phases: ShopPhase[] }): Promise<{ lake: Lake; root: string; counts: Map<string, number>; events: ShopEvent[] }> {
  const phases = 'phases' in opts ? opts.phases : [opts];
  const dir = await tempDirUntilExit('tributary-wh-shop-');
  const bus = await openEmbeddedBus({ dataDir: path.join(dir, 'bus'), log: { maintenanceIntervalMs: 0 } });
  const root = path.join(dir, 'lake');
  const lake = await openLake({ root });
  const counts = new Map<string, number>();
  const all: ShopEvent[] = [];
  try {
    for (const s of SHOP_SINKS) await bus.admin().createTopic(s.topic, { partitions: 2 });
    const events = phases.flatMap((p, i) => new ShopEventStream({ seed: p.seed ?? 7 + i, ratePerSecond: p.ratePerSecond, startTime: p.startTime }).take(p.events));
    all.push(...events);
    const producer = bus.producer({ lingerMs: 1 });
    const byTopic = new Map<string, ReturnType<typeof encodeShopEvent>[]>();
    for (const e of events) {
      (byTopic.get(e.topic) ?? byTopic.set(e.topic, []).get(e.topic)!).push(encodeShopEvent(e));
      counts.set(e.topic, (counts.get(e.topic) ?? 0) + 1);
    }
    for (const [topic, records] of byTopic) await producer.send(topic, records);
    await producer.close();
    for (const s of SHOP_SINKS) {
      const sink = new LakeSink({ bus, lake, topics: [s.topic], table: s.table, partitionBy: 'hour', eventTime: { field: 'eventTime' }, rollMs: 60_000 });
      await sink.start();
      // Positions move only on commits (at a roll or at stop), so wait until every record is read, then stop (the final roll commits).
      for (;;) {
        const st = sink.status();
        if (st.state === 'failed') throw new Error(`sink ${s.table} failed: ${st.lastError}`);
        if (st.bufferedRecords + st.committedRecords + st.deadLettered >= (counts.get(s.topic) ?? 0)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await sink.stop();
    }
  } finally {
    await bus.close();
  }
  return { lake, root, counts, events: all };
}
