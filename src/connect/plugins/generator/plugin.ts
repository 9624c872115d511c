/**
 * Generator source: the demo's shop event stream (searches, orders, reviews, deliveries, POS
 * sales) as a connector — seeded (same seed, same events) and rate-controlled, so it also
 * drives benchmarks. `maxEvents` stops it after that many events (the task then idles).
 * Offsets count the events emitted (`{ emitted }`), so a restart does not emit past `maxEvents`.
 */
import { z } from 'zod';
import { num } from '../../../util/schema.ts';
import { encodeShopEvent, ShopEventStream } from '../../generator/index.ts';
import { defineSourcePlugin, type SourceRecord } from '../../types.ts';

export const GENERATOR_FIELDS = {
  ratePerSecond: num({ gt: 0, max: 10_000_000 }).default(50),
  seed: num({ int: true }).default(1),
  topicPrefix: z.string().regex(/^[a-zA-Z0-9._-]*$/, { error: 'use the characters a-z A-Z 0-9 . _ -' }).default('shop.'),
  maxEvents: num({ int: true, min: 1 }).optional(),
};

export const generatorSourcePlugin = defineSourcePlugin({
  name: 'generator',
  description: 'the shop event generator (searches, orders, reviews, deliveries, POS sales): seeded, rate-controlled',
  fields: GENERATOR_FIELDS,
  taskConfigs: () => [{}], // one stream: its entities are consistent across topics
  createTask(config, _task, ctx) {
    const partition = { generator: 'shop', seed: config.seed };
    let emitted = Number(ctx.offset(partition)?.['emitted'] ?? 0);
    const stream = new ShopEventStream({ seed: config.seed, ratePerSecond: config.ratePerSecond, topicPrefix: config.topicPrefix, startTime: Date.now() });
    return {
      async poll(signal) {
        if (config.maxEvents !== undefined && emitted >= config.maxEvents) {
          await ctx.sleep(500, signal);
          return [];
        }
        const now = Date.now();
        if (stream.clock > now) await ctx.sleep(Math.min(100, stream.clock - now), signal);
        if (now - stream.clock > 5000) stream.advanceTo(now - 100); // fell behind: skip ahead rather than burst
        const out: SourceRecord[] = [];
        while (stream.clock <= Date.now() && out.length < 5000) {
          if (config.maxEvents !== undefined && emitted >= config.maxEvents) break;
          const ev = stream.next();
          const r = encodeShopEvent(ev);
          emitted++;
          out.push({
            topic: ev.topic,
            key: r.key!.toString(),
            value: ev.value,
            headers: (r.headers ?? []).map((h) => ({ key: h.key, value: h.value })),
            timestamp: ev.timestamp,
            sourcePartition: partition,
            sourceOffset: { emitted },
          });
        }
        return out;
      },
      async stop() {},
    };
  },
});
