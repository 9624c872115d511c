import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openEmbeddedBus } from '../../src/bus/index.ts';
import type { Bus, BusConsumer } from '../../src/bus/types.ts';
import { parseExposition, sumSamples } from '../../src/monitor/exposition.ts';
import { LagCollector, type GroupStatusChange } from '../../src/monitor/lag/collector.ts';
import { createMetricsRegistry } from '../../src/monitor/metrics.ts';
import { tempDirUntilExit as tempDir } from '../helpers/temp-dir.ts';

let bus: Bus;
const registry = createMetricsRegistry({ defaultMetrics: false });

async function produce(partition: number, n: number): Promise<void> {
  const p = bus.producer({ lingerMs: 0 });
  await p.send('orders', Array.from({ length: n }, (_, i) => ({ partition, key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) })));
  await p.close();
}

async function drain(consumer: BusConsumer, expected: number): Promise<void> {
  let got = 0;
  for (let i = 0; i < 50 && got < expected; i++) got += (await consumer.poll({ timeoutMs: 200 })).length;
  assert.equal(got, expected);
  await consumer.commit();
}

before(async () => {
  bus = await openEmbeddedBus({ dataDir: path.join(await tempDir(), 'data'), registry: createMetricsRegistry({ defaultMetrics: false }) });
  await bus.admin().createTopic('orders', { partitions: 2 });
});
after(async () => {
  await bus.close();
});

describe('consumer lag collector over the bus', () => {
  it('follows a group from OK to STALLED and back, with lag in records and seconds in the metrics', async () => {
    let now = 0;
    const changes: GroupStatusChange[] = [];
    const collector = new LagCollector({ admin: () => bus.admin(), registry, windowSamples: 3, now: () => now, onStatusChange: (c) => changes.push(c) });
    await produce(0, 10);
    await produce(1, 10);
    const consumer = bus.consumer({ groupId: 'billing', fromBeginning: true });
    await consumer.subscribe(['orders']);
    await drain(consumer, 20);

    await collector.collect(); // t=0: caught up
    let report = collector.report('billing')!;
    assert.equal(report.status, 'OK');
    assert.equal(report.totalLag, 0);

    await produce(0, 5);
    now = 5000;
    await collector.collect();
    await produce(0, 5);
    now = 10_000;
    await collector.collect();
    assert.equal(collector.report('billing')!.status, 'OK', 'the window still holds the caught-up sample');
    now = 15_000;
    await collector.collect();

    report = collector.report('billing')!;
    assert.equal(report.status, 'STALLED');
    assert.equal(report.totalLag, 10);
    assert.match(report.reason, /^orders\/0: no progress for 10 s while 10 records waited$/);
    const p0 = report.partitions.find((p) => p.partition === 0)!;
    assert.deepEqual([p0.committedOffset, p0.highWatermark, p0.lag, p0.status], [10, 20, 10, 'STALLED']);
    // offset 10 became visible between t=0 (watermark 10) and t=5 s (watermark 15): at 1 s by interpolation
    assert.equal(p0.lagSeconds, 14);
    assert.equal(p0.lagSecondsLowerBound, false);
    assert.deepEqual(changes.map((c) => [c.groupId, c.from, c.to]), [['billing', 'OK', 'STALLED']]);

    let families = parseExposition(await registry.metrics());
    assert.equal(sumSamples(families, 'tributary_consumer_group_lag_records', { group: 'billing', topic: 'orders', partition: '0' }), 10);
    assert.equal(sumSamples(families, 'tributary_consumer_group_lag_records', { group: 'billing', topic: 'orders', partition: '1' }), 0);
    assert.equal(sumSamples(families, 'tributary_consumer_group_lag_seconds', { group: 'billing', partition: '0' }), 14);
    assert.equal(sumSamples(families, 'tributary_consumer_group_status', { group: 'billing', status: 'STALLED' }), 1);
    assert.equal(sumSamples(families, 'tributary_consumer_group_status', { group: 'billing', status: 'OK' }), 0);
    assert.equal(sumSamples(families, 'tributary_topic_partition_high_watermark', { topic: 'orders', partition: '0' }), 20);

    const history = collector.history('billing')!;
    assert.deepEqual(history.times, [0, 5000, 10_000, 15_000]);
    assert.deepEqual(history.partitions['orders/0'], [0, 5, 10, 10]);
    assert.deepEqual(history.totalLag, [0, 5, 10, 10]);

    await drain(consumer, 10);
    now = 20_000;
    await collector.collect();
    assert.equal(collector.report('billing')!.status, 'OK');
    assert.deepEqual(changes.map((c) => c.to), ['STALLED', 'OK']);
    families = parseExposition(await registry.metrics());
    assert.equal(sumSamples(families, 'tributary_consumer_group_status', { group: 'billing', status: 'OK' }), 1);
    assert.equal(sumSamples(families, 'tributary_consumer_group_lag_records', { group: 'billing' }), 0);
    await consumer.close();
  });

  it('bounds the label sets and counts what it left out', async () => {
    const r = createMetricsRegistry({ defaultMetrics: false });
    const collector = new LagCollector({ admin: () => bus.admin(), registry: r, maxPartitionSeries: 1, maxGroups: 1 });
    const other = bus.consumer({ groupId: 'zz-second', fromBeginning: true });
    await other.subscribe(['orders']);
    await drain(other, 30);
    await collector.collect();
    const families = parseExposition(await r.metrics());
    assert.equal(families.get('tributary_consumer_group_lag_records')!.samples.length, 1);
    assert.equal(families.get('tributary_topic_partition_high_watermark')!.samples.length, 1);
    // one group left out (of two), one of the group's two partitions, one topic-partition
    assert.equal(sumSamples(families, 'tributary_monitor_series_dropped'), 3);
    assert.equal(collector.reports().length, 1);
    assert.equal(collector.reports()[0]!.groupId, 'billing');
    await other.close();
  });

  it('removes the series of a topic that was deleted', async () => {
    const r = createMetricsRegistry({ defaultMetrics: false });
    const collector = new LagCollector({ admin: () => bus.admin(), registry: r });
    await bus.admin().createTopic('short-lived', { partitions: 1 });
    await collector.collect();
    assert.ok(/tributary_topic_partition_high_watermark\{topic="short-lived"/.test(await r.metrics()));
    await bus.admin().deleteTopic('short-lived');
    await collector.collect();
    assert.ok(!/topic="short-lived"/.test(await r.metrics()));
  });

  it('records a failed round and keeps going', async () => {
    const r = createMetricsRegistry({ defaultMetrics: false });
    let fail = true;
    const collector = new LagCollector({
      registry: r,
      admin: () => {
        if (fail) throw new Error('bus is closed');
        return bus.admin();
      },
    });
    await assert.rejects(collector.collect(), /bus is closed/);
    assert.equal(collector.health().lastError?.message, 'bus is closed');
    assert.equal(sumSamples(parseExposition(await r.metrics()), 'tributary_monitor_lag_collection_errors_total'), 1);
    fail = false;
    await collector.collect();
    assert.notEqual(collector.health().lastRoundAt, null);
  });
});
