/** Transactions on the embedded log: atomic visibility of records and offsets, aborts, fencing, recovery. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openEmbeddedBus, type EmbeddedBus, type ConsumedRecord } from '../../src/bus/index.ts';
import { tempDir } from '../helpers/temp-dir.ts';

async function drain(bus: EmbeddedBus, topic: string, isolationLevel: 'read_committed' | 'read_uncommitted', partitions = 2): Promise<ConsumedRecord[]> {
  const c = bus.consumer({ fromBeginning: true, isolationLevel });
  c.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })));
  const out: ConsumedRecord[] = [];
  for (;;) {
    const got = await c.poll({ timeoutMs: 50 });
    if (got.length === 0) break;
    out.push(...got);
  }
  await c.close();
  return out;
}

const values = (rs: ConsumedRecord[]) => rs.map((r) => r.value!.toString()).sort();

test('committed records and offsets appear together; aborted ones never', async () => {
  const { dir, cleanup } = tempDir();
  const bus = await openEmbeddedBus({ dataDir: dir, log: { maintenanceIntervalMs: 0 } });
  try {
    await bus.admin().createTopic('out', { partitions: 2 });
    await bus.admin().createTopic('in', { partitions: 1 });
    const p = bus.transactionalProducer({ transactionalId: 'app-1' });

    await p.beginTransaction();
    await p.send('out', [{ key: Buffer.from('a'), value: Buffer.from('t1-a') }, { key: Buffer.from('b'), value: Buffer.from('t1-b') }]);
    await p.sendOffsets('g', [{ topic: 'in', partition: 0, offset: 7 }]);
    assert.deepEqual(values(await drain(bus, 'out', 'read_committed')), [], 'open transaction invisible to read_committed');
    assert.deepEqual(values(await drain(bus, 'out', 'read_uncommitted')), ['t1-a', 't1-b'], 'visible to read_uncommitted');
    assert.equal(bus.groups.fetchOffset('g', 'in', 0), undefined, 'offsets not committed yet');
    await p.commitTransaction();
    assert.deepEqual(values(await drain(bus, 'out', 'read_committed')), ['t1-a', 't1-b']);
    assert.equal(bus.groups.fetchOffset('g', 'in', 0)?.offset, 7);

    await p.beginTransaction();
    await p.send('out', [{ key: Buffer.from('a'), value: Buffer.from('t2-a') }]);
    await p.sendOffsets('g', [{ topic: 'in', partition: 0, offset: 9 }]);
    await p.abortTransaction();
    await p.beginTransaction();
    await p.send('out', [{ key: Buffer.from('b'), value: Buffer.from('t3-b') }]);
    await p.commitTransaction();
    assert.deepEqual(values(await drain(bus, 'out', 'read_committed')), ['t1-a', 't1-b', 't3-b'], 'the aborted record is skipped');
    assert.equal(bus.groups.fetchOffset('g', 'in', 0)?.offset, 7, 'aborted offsets were not applied');
    const part = bus.log.partition('out', 0);
    assert.equal(part.lastStableOffset, part.highWatermark, 'nothing open: stable offset = high watermark');
  } finally {
    await bus.close();
    cleanup();
  }
});

test('a new instance with the same transactional id fences the old one and aborts its open transaction', async () => {
  const { dir, cleanup } = tempDir();
  const bus = await openEmbeddedBus({ dataDir: dir, log: { maintenanceIntervalMs: 0 } });
  try {
    await bus.admin().createTopic('out', { partitions: 1 });
    const zombie = bus.transactionalProducer({ transactionalId: 'app' });
    await zombie.beginTransaction();
    await zombie.send('out', [{ value: Buffer.from('zombie') }]);
    assert.ok(bus.log.partition('out', 0).lastStableOffset < bus.log.partition('out', 0).highWatermark, 'open transaction holds the stable offset back');
    const fresh = bus.transactionalProducer({ transactionalId: 'app' });
    await fresh.beginTransaction();
    await assert.rejects(zombie.send('out', [{ value: Buffer.from('late') }]), /fenced|epoch/);
    await assert.rejects(zombie.commitTransaction(), /fenced|epoch/);
    await fresh.send('out', [{ value: Buffer.from('fresh') }]);
    await fresh.commitTransaction();
    assert.deepEqual(values(await drain(bus, 'out', 'read_committed', 1)), ['fresh']);
  } finally {
    await bus.close();
    cleanup();
  }
});

test('an open transaction survives a restart and is aborted by its timeout; state is rebuilt', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let bus = await openEmbeddedBus({ dataDir: dir, log: { maintenanceIntervalMs: 0 } });
    await bus.admin().createTopic('out', { partitions: 1 });
    const committed = bus.transactionalProducer({ transactionalId: 'ok' });
    await committed.beginTransaction();
    await committed.send('out', [{ value: Buffer.from('kept') }]);
    await committed.commitTransaction();
    const aborted = bus.transactionalProducer({ transactionalId: 'bad' });
    await aborted.beginTransaction();
    await aborted.send('out', [{ value: Buffer.from('dropped') }]);
    await aborted.abortTransaction();
    const open = bus.transactionalProducer({ transactionalId: 'open', transactionTimeoutMs: 1500 });
    await open.beginTransaction();
    await open.send('out', [{ value: Buffer.from('pending') }]);
    // The process goes away without committing (no producer close, no abort).
    bus.txns.close();
    bus.groups.close();
    await bus.log.close();

    bus = await openEmbeddedBus({ dataDir: dir, log: { maintenanceIntervalMs: 0 } });
    const part = bus.log.partition('out', 0);
    assert.ok(part.lastStableOffset < part.highWatermark, 'the open transaction still holds the stable offset after the restart');
    assert.deepEqual(values(await drain(bus, 'out', 'read_committed', 1)), ['kept'], 'aborted data stays hidden after the restart');
    // The coordinator's timeout aborts it.
    const deadline = Date.now() + 10_000;
    while (part.lastStableOffset < part.highWatermark && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(part.lastStableOffset, part.highWatermark, 'timed-out transaction aborted');
    assert.deepEqual(values(await drain(bus, 'out', 'read_committed', 1)), ['kept']);
    assert.equal(bus.txns.describe('open')?.state, 'Empty');
    await bus.close();
  } finally {
    cleanup();
  }
});
