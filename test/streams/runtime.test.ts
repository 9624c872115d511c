/**
 * The runtime on the embedded log: exactly-once processing (read_committed outputs equal the
 * oracle), restoring state from a snapshot plus the changelog tail, waiting for a missing
 * source topic, dead letters with metrics, interactive queries through the service.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import pino from 'pino';
import { openEmbeddedBus, type EmbeddedBus } from '../../src/bus/index.ts';
import { createMetricsRegistry } from '../../src/monitor/metrics.ts';
import { defineStreamApp, runStreamApp, type StreamAppDefinition } from '../../src/streams/app.ts';
import { StreamsService } from '../../src/streams/service.ts';
import { TimeWindows, type Windowed } from '../../src/streams/index.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { eventually, readTopic } from './helpers/bus.ts';
import { events } from './helpers/events.ts';

const logger = pino({ level: process.env.TRIBUTARY_TEST_LOG ?? 'silent' });

async function withBus<T>(fn: (bus: EmbeddedBus, dir: string) => Promise<T>): Promise<T> {
  const tmp = tempDir('tributary-streams-');
  const bus = await openEmbeddedBus({ dataDir: path.join(tmp.dir, 'data'), logger, log: { maintenanceIntervalMs: 0 } });
  try {
    return await fn(bus, tmp.dir);
  } finally {
    await bus.close();
    tmp.cleanup();
  }
}

const counter: StreamAppDefinition = defineStreamApp({
  id: 'counter',
  idleMs: 300,
  maxFutureMs: Number.MAX_SAFE_INTEGER,
  build(b) {
    const s = b.stream<string, { v: number }>('in');
    s.groupByKey().count({ name: 'totals' }).toStream().to('totals');
    s.groupByKey().windowedBy(TimeWindows.tumbling(1_000)).count({ name: 'per-second', emit: 'final' }).toStream().to('per-second');
  },
});

function produce(bus: EmbeddedBus, evs: Array<{ k: string; ts: number; v: number }>) {
  return bus.producer({ lingerMs: 1 }).send('in', evs.map((e) => ({ key: Buffer.from(e.k), value: Buffer.from(JSON.stringify({ v: e.v })), timestamp: e.ts })));
}

test('exactly-once on the embedded log: committed outputs hold every window exactly once', async () => {
  await withBus(async (bus) => {
    await bus.admin().createTopic('in', { partitions: 3 });
    const evs = events(2_000, { seed: 3, keys: 7, step: 20 });
    await produce(bus, evs);
    const runner = await runStreamApp(bus, counter, { logger });
    assert.equal(runner.processingGuarantee, 'exactly_once');
    const expected = new Map<string, number>();
    for (const e of evs) {
      const key = `${e.k}@${e.ts - (e.ts % 1000)}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    await eventually(async () => (await readTopic(bus, 'per-second')).length >= expected.size, 'all windows to close');
    await runner.stop();
    const got = new Map<string, number>();
    for (const r of await readTopic(bus, 'per-second')) {
      const w = JSON.parse(r.key!.toString()) as Windowed<string>;
      const key = `${w.key}@${w.start}`;
      assert.ok(!got.has(key), `window ${key} emitted twice`);
      got.set(key, Number(r.value!.toString()));
    }
    assert.deepEqual(got, expected);
    // The totals changelog (compacted topic) ends with the count per key.
    const totals = new Map<string, number>();
    for (const r of await readTopic(bus, 'counter-totals-changelog')) totals.set(r.key!.toString('utf8', 1), Number(r.value!.toString()));
    const perKey = new Map<string, number>();
    for (const e of evs) perKey.set(e.k, (perKey.get(e.k) ?? 0) + 1);
    assert.deepEqual(totals, perKey);
    // Offsets were committed with the transactions.
    const g = await bus.admin().describeGroup('counter');
    assert.deepEqual(g.offsets.filter((o) => o.topic === 'in').map((o) => o.lag), [0, 0, 0]);
  });
});

test('restart restores each store from its local snapshot plus the changelog tail, not from the beginning', async () => {
  await withBus(async (bus, dir) => {
    await bus.admin().createTopic('in', { partitions: 2 });
    const stateDir = path.join(dir, 'state');
    const first = events(3_000, { seed: 4, keys: 400, step: 5 });
    await produce(bus, first);
    let runner = await runStreamApp(bus, counter, { logger, stateDir, snapshotIntervalMs: 1 });
    await eventually(() => runner.totals.processed >= first.length && runner.taskList().every((t) => t.positions.size === 0), 'first batch committed');
    await runner.stop(); // writes the snapshots
    const changelogBefore = (await readTopic(bus, 'counter-totals-changelog')).length;
    const second = events(50, { seed: 5, keys: 400, step: 5, base: first[first.length - 1]!.ts });
    await produce(bus, second);
    runner = await runStreamApp(bus, counter, { logger, stateDir, snapshotIntervalMs: 1 });
    assert.ok(runner.restored.snapshot >= 390, `snapshot rows applied (${runner.restored.snapshot})`);
    assert.ok(runner.restored.changelog < changelogBefore / 10, `only the changelog tail was read (${runner.restored.changelog} of ${changelogBefore})`);
    await eventually(() => runner.totals.processed >= second.length && runner.taskList().every((t) => t.positions.size === 0), 'second batch committed');
    const perKey = new Map<string, number>();
    for (const e of [...first, ...second]) perKey.set(e.k, (perKey.get(e.k) ?? 0) + 1);
    const fromStores = new Map<string, number>();
    for (const t of runner.taskList()) {
      const s = t.stores.get('totals') as unknown as { entries(): Iterable<{ key: string; value: number }> } | undefined;
      for (const e of s?.entries() ?? []) fromStores.set(e.key, e.value);
    }
    await runner.stop();
    assert.deepEqual(fromStores, perKey);
  });
});

test('a snapshot written after a restore includes the changelog tail it restored (restart, run elsewhere, restart twice)', async () => {
  await withBus(async (bus, dir) => {
    await bus.admin().createTopic('in', { partitions: 1 });
    const stateDir = path.join(dir, 'state');
    const batches = [events(300, { seed: 8, keys: 50 }), events(300, { seed: 9, keys: 50 }), events(30, { seed: 10, keys: 50 })];
    const runBatch = async (evs: ReturnType<typeof events>, sd: string | null, done: number) => {
      await produce(bus, evs);
      const runner = await runStreamApp(bus, counter, { logger, stateDir: sd, snapshotIntervalMs: 1 });
      await eventually(() => runner.totals.processed >= done && runner.taskList().every((t) => t.positions.size === 0), 'batch committed');
      return runner;
    };
    await (await runBatch(batches[0]!, stateDir, 300)).stop(); // snapshot S1
    await (await runBatch(batches[1]!, null, 300)).stop(); // another instance without this snapshot folder: the changelog grows
    await (await runBatch(batches[2]!, stateDir, 30)).stop(); // restores S1 + tail, writes S2
    const last = await runStreamApp(bus, counter, { logger, stateDir }); // restores S2 (+ nothing)
    const perKey = new Map<string, number>();
    for (const e of batches.flat()) perKey.set(e.k, (perKey.get(e.k) ?? 0) + 1);
    const fromStores = new Map<string, number>();
    for (const e of (last.taskList()[0]!.stores.get('totals') as unknown as { entries(): Iterable<{ key: string; value: number }> }).entries()) fromStores.set(e.key, e.value);
    await last.stop();
    assert.equal(last.restored.changelog, 0, 'the last snapshot covered the whole changelog');
    assert.deepEqual(fromStores, perKey);
  });
});

test('a snapshot that is ahead of its changelog (e.g. the topic was recreated) is discarded', async () => {
  await withBus(async (bus, dir) => {
    await bus.admin().createTopic('in', { partitions: 1 });
    const stateDir = path.join(dir, 'state');
    await produce(bus, events(200, { seed: 6, keys: 10 }));
    let runner = await runStreamApp(bus, counter, { logger, stateDir, snapshotIntervalMs: 1 });
    await eventually(() => runner.totals.processed >= 200 && runner.taskList().every((t) => t.positions.size === 0), 'batch committed');
    await runner.stop();
    await bus.admin().deleteTopic('counter-totals-changelog');
    await bus.admin().deleteTopic('in');
    await bus.admin().createTopic('in', { partitions: 1 });
    await produce(bus, events(5, { seed: 7, keys: 2 }));
    runner = await runStreamApp(bus, counter, { logger, stateDir, snapshotIntervalMs: 1 });
    await eventually(() => runner.totals.processed >= 5 && runner.taskList().every((t) => t.positions.size === 0), 'new batch committed');
    let total = 0;
    for (const t of runner.taskList()) for (const e of (t.stores.get('totals') as unknown as { entries(): Iterable<{ value: number }> }).entries()) total += e.value;
    await runner.stop();
    assert.equal(total, 5, 'state holds only what the new changelog holds');
  });
});

test('a missing source topic makes the app wait (visible as state and error), then it runs once the topic exists', async () => {
  await withBus(async (bus, dir) => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const service = new StreamsService({ bus, logger, registry, stateDir: path.join(dir, 'state') });
    service.add(counter, 'counter.ts');
    service.start();
    await eventually(() => service.list()[0]!.state === 'waiting', 'waiting state');
    assert.equal(service.list()[0]!.lastError?.code, 'SOURCE_TOPIC_MISSING');
    assert.match(await registry.metrics(), /tributary_streams_errors_total\{app="counter",code="SOURCE_TOPIC_MISSING"\} 1/);
    await bus.admin().createTopic('in', { partitions: 2 });
    await eventually(() => service.list()[0]!.state === 'running', 'running state', 10_000);
    await produce(bus, [{ k: 'a', ts: 1_000, v: 1 }, { k: 'a', ts: 1_001, v: 2 }, { k: 'b', ts: 1_002, v: 3 }]);
    await eventually(() => service.list()[0]!.processed === 3, 'records processed');
    await eventually(async () => {
      try {
        return (service.query('counter', 'totals', { key: 'a' }) as { value: number }).value === 2;
      } catch {
        return false;
      }
    }, 'interactive query by key');
    const range = service.query('counter', 'totals', { from: 'a', to: 'c' }) as { entries: Array<{ key: string; value: number }> };
    assert.deepEqual(range.entries.map((e) => [e.key, e.value]), [['a', 2], ['b', 1]]);
    assert.throws(() => service.query('counter', 'nope', {}), /no store "nope"/);
    assert.throws(() => service.query('counter', 'totals', { key: 'zzz' }), /has no key/);
    const desc = await service.describe('counter');
    assert.equal(desc.topology!.stores.length, 2);
    assert.equal(desc.taskDetails.length, 2);
    await service.stop();
  });
});

test('dead letters on the bus: bad records land in <app>-dlq, are counted in metrics, and processing goes on', async () => {
  await withBus(async (bus) => {
    await bus.admin().createTopic('in', { partitions: 1 });
    const registry = createMetricsRegistry({ defaultMetrics: false });
    await bus.producer().send('in', [
      { key: Buffer.from('a'), value: Buffer.from('{"v":1}'), timestamp: 1_000 },
      { key: Buffer.from('a'), value: Buffer.from('garbage'), timestamp: 1_001 },
      { key: Buffer.from('a'), value: Buffer.from('{"v":2}'), timestamp: 1_002 },
    ]);
    const runner = await runStreamApp(bus, counter, { logger, registry });
    await eventually(async () => (await readTopic(bus, 'counter-dlq')).length === 1 && (await readTopic(bus, 'totals')).length === 2, 'dead letter and outputs');
    await runner.stop();
    const dlq = (await readTopic(bus, 'counter-dlq'))[0]!;
    assert.equal(dlq.value!.toString(), 'garbage');
    assert.match(await registry.metrics(), /tributary_streams_records_dead_lettered_total\{app="counter",code="DESERIALIZATION_FAILED"\} 1/);
    assert.equal(runner.lastError?.code, 'DESERIALIZATION_FAILED');
  });
});
