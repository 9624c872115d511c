import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openEmbeddedBus } from '../../src/bus/index.ts';
import { tempDir } from '../helpers/temp-dir.ts';

test('share group: records go out one by one, each acknowledged on its own, no duplicates between members', async () => {
  const { dir, cleanup } = tempDir();
  const bus = await openEmbeddedBus({ dataDir: dir, log: { maintenanceIntervalMs: 0 } });
  try {
    await bus.admin().createTopic('jobs', { partitions: 3 });
    await bus.producer().send('jobs', Array.from({ length: 90 }, (_, i) => ({ key: Buffer.from(`j${i}`), value: Buffer.from(String(i)) })));
    const a = bus.shareConsumer({ groupId: 'workers' });
    const b = bus.shareConsumer({ groupId: 'workers' });
    await a.subscribe(['jobs']);
    await b.subscribe(['jobs']);
    const seen: string[] = [];
    for (let round = 0; round < 50 && seen.length < 90; round++) {
      for (const c of [a, b]) {
        const got = await c.poll({ maxRecords: 7, timeoutMs: 100 });
        for (const r of got) {
          assert.equal(r.deliveryCount, 1);
          seen.push(r.value!.toString());
          await c.acknowledge(r, 'accept');
        }
      }
    }
    assert.equal(seen.length, 90);
    assert.equal(new Set(seen).size, 90, 'no record handed to two members');
    assert.deepEqual(await a.poll({ timeoutMs: 50 }), []);
  } finally {
    await bus.close();
    cleanup();
  }
});

test('share group: released and timed-out records are redelivered; too many deliveries go to the DLQ', async () => {
  const { dir, cleanup } = tempDir();
  const bus = await openEmbeddedBus({ dataDir: dir, log: { maintenanceIntervalMs: 0 } });
  try {
    await bus.admin().createTopic('jobs', { partitions: 1 });
    await bus.producer().send('jobs', [{ value: Buffer.from('poison') }, { value: Buffer.from('ok') }]);
    const c = bus.shareConsumer({ groupId: 'g', lockTimeoutMs: 100, maxDeliveries: 3 });
    await c.subscribe(['jobs']);
    const first = await c.poll({ maxRecords: 10 });
    assert.deepEqual(first.map((r) => r.value!.toString()), ['poison', 'ok']);
    await c.acknowledge(first[1]!, 'accept');
    await c.acknowledge(first[0]!, 'release');
    const second = await c.poll({ maxRecords: 10 });
    assert.deepEqual(second.map((r) => [r.value!.toString(), r.deliveryCount]), [['poison', 2]]);
    // Not acknowledged: the lock times out and the record comes back once more.
    const third = await c.poll({ maxRecords: 10, timeoutMs: 2000 });
    assert.deepEqual(third.map((r) => [r.value!.toString(), r.deliveryCount]), [['poison', 3]]);
    await assert.rejects(c.acknowledge(second[0]!, 'accept'), /not held by this member/, 'a stale delivery cannot be acknowledged');
    // Third delivery also times out: the next acquisition sends it to the dead-letter topic instead.
    assert.deepEqual(await c.poll({ maxRecords: 10, timeoutMs: 300 }), []);
    const dlq = bus.consumer({ fromBeginning: true });
    dlq.assign([{ topic: 'g.dlq', partition: 0 }]);
    const dead = await dlq.poll({ timeoutMs: 2000 });
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.value!.toString(), 'poison');
    const h = Object.fromEntries(dead[0]!.headers.map((x) => [x.key, x.value!.toString()]));
    assert.equal(h['tributary.dlq.topic'], 'jobs');
    assert.equal(h['tributary.dlq.offset'], '0');
    assert.equal(h['tributary.dlq.deliveries'], '3');
    assert.match(h['tributary.dlq.reason']!, /maxDeliveries 3/);
  } finally {
    await bus.close();
    cleanup();
  }
});

test('share group: acknowledgements and delivery counts survive a restart', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let bus = await openEmbeddedBus({ dataDir: dir, log: { maintenanceIntervalMs: 0 } });
    await bus.admin().createTopic('jobs', { partitions: 1 });
    await bus.producer().send('jobs', ['a', 'b', 'c'].map((v) => ({ value: Buffer.from(v) })));
    let c = bus.shareConsumer({ groupId: 'g' });
    await c.subscribe(['jobs']);
    const got = await c.poll({ maxRecords: 10 });
    await c.acknowledge(got[0]!, 'accept');
    await c.acknowledge(got[2]!, 'reject');
    // b stays acquired when the process goes away.
    await bus.log.close();
    bus.groups.close();
    bus = await openEmbeddedBus({ dataDir: dir, log: { maintenanceIntervalMs: 0 } });
    c = bus.shareConsumer({ groupId: 'g' });
    await c.subscribe(['jobs']);
    const after = await c.poll({ maxRecords: 10 });
    assert.deepEqual(after.map((r) => [r.value!.toString(), r.deliveryCount]), [['b', 2]], 'only b comes back, as its second delivery');
    await bus.close();
  } finally {
    cleanup();
  }
});
