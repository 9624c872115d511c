import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openEmbeddedBus } from '../../../src/bus/index.ts';
import { ShopGenerator } from '../../../src/connect/generator/index.ts';
import { createMetricsRegistry } from '../../../src/monitor/metrics.ts';
import { tempDirUntilExit as tempDir } from '../../helpers/temp-dir.ts';

describe('ShopGenerator on the embedded bus', () => {
  it('writes JSON events to the five topics until stopped', async () => {
    const bus = await openEmbeddedBus({ dataDir: path.join(await tempDir(), 'data'), autoCreateTopics: true });
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const producer = bus.producer();
    const gen = new ShopGenerator({ producer, ratePerSecond: 2000, seed: 11, topicPrefix: 'g.', registry, tickMs: 20 });
    try {
      assert.deepEqual(gen.topicNames(), ['g.searches', 'g.orders', 'g.reviews', 'g.deliveries', 'g.pos-sales']);
      gen.start();
      assert.equal(gen.running, true);
      while (gen.stats().produced < 500) await new Promise((r) => setTimeout(r, 20));
      await gen.stop();
      assert.equal(gen.running, false);
      const produced = gen.stats().produced;

      const ends = async () => {
        let total = 0;
        for (const t of gen.topicNames()) {
          if (!(await bus.admin().listTopics()).some((d) => d.name === t)) continue;
          for (const p of (await bus.admin().describeTopic(t)).partitions) total += p.highWatermark;
        }
        return total;
      };
      assert.equal(await ends(), produced, 'every produced event is in the log');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await ends(), produced, 'nothing is produced after stop()');

      const consumer = bus.consumer({ fromBeginning: true });
      consumer.assign((await bus.admin().describeTopic('g.orders')).partitions.map((p) => ({ topic: 'g.orders', partition: p.partition })));
      const records = await consumer.poll({ timeoutMs: 1000, maxRecords: 50 });
      assert.ok(records.length > 0);
      for (const r of records) {
        const v = JSON.parse(r.value!.toString());
        assert.equal(v.type, 'order');
        assert.equal(r.key!.toString(), v.orderId);
        assert.equal(r.timestamp, Date.parse(v.eventTime));
      }
      await consumer.close();
      assert.match(await registry.metrics(), /^tributary_generator_events_total\{generator="shop",topic="g\.orders"\} \d+$/m);
    } finally {
      await gen.stop();
      await producer.close();
      await bus.close();
    }
  });
});
