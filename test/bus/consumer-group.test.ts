import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openEmbeddedBus, type EmbeddedBus, type BusConsumer, type ConsumedRecord } from '../../src/bus/index.ts';
import { tempDir } from '../helpers/temp-dir.ts';

async function withBus(fn: (bus: EmbeddedBus, dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  const bus = await openEmbeddedBus({ dataDir: dir, log: { maintenanceIntervalMs: 0 } });
  try {
    await fn(bus, dir);
  } finally {
    await bus.close();
    cleanup();
  }
}

async function drain(c: BusConsumer, want: number, timeoutMs = 10_000): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < want && Date.now() < deadline) out.push(...(await c.poll({ timeoutMs: 200 })));
  return out;
}

test('keyed records land on murmur2 partitions and come back in order per partition', async () => {
  await withBus(async (bus) => {
    await bus.admin().createTopic('orders', { partitions: 4 });
    const producer = bus.producer({ lingerMs: 1 });
    const records = Array.from({ length: 400 }, (_, i) => ({ key: Buffer.from(`user-${i % 13}`), value: Buffer.from(String(i)), headers: [{ key: 'n', value: Buffer.from(String(i)) }] }));
    const meta = await producer.send('orders', records);
    const byKey = new Map<string, number>();
    meta.forEach((m, i) => {
      const k = `user-${i % 13}`;
      if (byKey.has(k)) assert.equal(byKey.get(k), m.partition, 'one key, one partition');
      byKey.set(k, m.partition);
    });
    const consumer = bus.consumer({ fromBeginning: true });
    consumer.assign([0, 1, 2, 3].map((partition) => ({ topic: 'orders', partition })));
    const got = await drain(consumer, 400);
    assert.equal(got.length, 400);
    for (const p of [0, 1, 2, 3]) {
      const values = got.filter((r) => r.partition === p).map((r) => Number(r.value!.toString()));
      assert.deepEqual(values, [...values].sort((a, b) => a - b), `partition ${p} in produce order`);
    }
    assert.equal(got[0]!.headers[0]!.key, 'n');
  });
});

test('a group splits partitions, rebalances when a member leaves, and resumes from commits', async () => {
  await withBus(async (bus) => {
    await bus.admin().createTopic('events', { partitions: 6 });
    const producer = bus.producer({ lingerMs: 0 });
    await producer.send('events', Array.from({ length: 600 }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(String(i)) })));
    const opts = { groupId: 'workers', fromBeginning: true, heartbeatIntervalMs: 100, sessionTimeoutMs: 3000, rebalanceTimeoutMs: 3000 };
    const a = bus.consumer(opts);
    const b = bus.consumer(opts);
    await Promise.all([a.subscribe(['events']), b.subscribe(['events'])]);
    // Both settle in the same generation (the second join rebalances the first member).
    const deadline = Date.now() + 5000;
    while (a.assignment().length + b.assignment().length !== 6 || a.assignment().length === 0 || b.assignment().length === 0) {
      await a.poll({ timeoutMs: 50, maxRecords: 1 }).then((r) => r.length && a.seek(r[0]!.topic, r[0]!.partition, r[0]!.offset));
      await b.poll({ timeoutMs: 50, maxRecords: 1 }).then((r) => r.length && b.seek(r[0]!.topic, r[0]!.partition, r[0]!.offset));
      assert.ok(Date.now() < deadline, 'group never settled');
    }
    const owned = [...a.assignment(), ...b.assignment()].map((p) => p.partition).sort();
    assert.deepEqual(owned, [0, 1, 2, 3, 4, 5], 'disjoint and complete');
    const fromA = await drain(a, 1);
    await a.commit();
    const committedByA = a.assignment();
    await a.close();
    // b takes over everything and starts a's partitions at a's commits.
    const deadline2 = Date.now() + 5000;
    while (b.assignment().length !== 6) {
      await b.poll({ timeoutMs: 100, maxRecords: 1 }).then((r) => r.length && b.seek(r[0]!.topic, r[0]!.partition, r[0]!.offset));
      assert.ok(Date.now() < deadline2, 'b never took over');
    }
    const rest = await drain(b, 600 - fromA.length);
    const seen = new Set([...fromA, ...rest].map((r) => r.value!.toString()));
    assert.equal(seen.size, 600, 'every record consumed once across the rebalance');
    const desc = await bus.admin().describeGroup('workers');
    assert.equal(desc.memberDetails.length, 1);
    assert.ok(committedByA.length > 0);
    await b.commit();
    const after = await bus.admin().describeGroup('workers');
    assert.equal(after.offsets.reduce((s, o) => s + (o.lag ?? 0), 0), 0, 'no lag once b committed');
  });
});

test('a restarted consumer resumes from its group committed offset', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let bus = await openEmbeddedBus({ dataDir: dir, log: { maintenanceIntervalMs: 0 } });
    await bus.admin().createTopic('t', { partitions: 1 });
    await bus.producer().send('t', Array.from({ length: 10 }, (_, i) => ({ value: Buffer.from(String(i)) })));
    let c = bus.consumer({ groupId: 'g', fromBeginning: true });
    await c.subscribe(['t']);
    const first = await c.poll({ maxRecords: 4 });
    assert.deepEqual(first.map((r) => r.offset), [0, 1, 2, 3]);
    await c.commit();
    await bus.close();
    bus = await openEmbeddedBus({ dataDir: dir, log: { maintenanceIntervalMs: 0 } });
    c = bus.consumer({ groupId: 'g', fromBeginning: true });
    await c.subscribe(['t']);
    const next = await c.poll({ maxRecords: 100 });
    assert.deepEqual(next.map((r) => r.offset), [4, 5, 6, 7, 8, 9]);
    const lag = (await bus.admin().describeGroup('g')).offsets[0]!;
    assert.deepEqual([lag.committedOffset, lag.logEndOffset, lag.lag], [4, 10, 6]);
    await bus.close();
  } finally {
    cleanup();
  }
});

test('a long poll wakes up when a record arrives', async () => {
  await withBus(async (bus) => {
    await bus.admin().createTopic('t', { partitions: 1 });
    const c = bus.consumer({ fromBeginning: false });
    c.assign([{ topic: 't', partition: 0 }]);
    const polled = c.poll({ timeoutMs: 10_000 });
    setTimeout(() => void bus.producer({ lingerMs: 0 }).send('t', [{ value: Buffer.from('late') }]), 50);
    const got = await polled;
    assert.equal(got[0]!.value!.toString(), 'late');
  });
});
