import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Log } from '../../src/log/log.ts';
import { tempDir } from '../helpers/temp-dir.ts';

function readAll(log: Log, topic: string) {
  const p = log.partition(topic, 0);
  const out = [];
  let offset = p.logStartOffset;
  while (offset < p.highWatermark) {
    const r = p.readRecords(offset, 10_000, 1 << 20);
    out.push(...r.records);
    offset = r.nextOffset;
  }
  return out;
}

test('compaction keeps the latest value per key with original offsets', async () => {
  const { dir, cleanup } = tempDir();
  const log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
  try {
    await log.createTopic('c', { partitions: 1, segmentBytes: 1024, cleanupPolicy: 'compact' });
    const latest = new Map<string, { offset: number; value: string }>();
    for (let i = 0; i < 200; i++) {
      const key = `k${i % 7}`;
      const value = `v${i}`;
      const r = await log.appendRecords('c', 0, [{ key: Buffer.from(key), value: Buffer.from(value) }]);
      latest.set(key, { offset: r.baseOffset, value });
    }
    const before = log.partition('c', 0).sizeBytes();
    await log.runMaintenance();
    const after = log.partition('c', 0).sizeBytes();
    assert.ok(after < before / 2, `compaction shrank ${before} → ${after}`);
    const records = readAll(log, 'c');
    for (const [key, { offset, value }] of latest) {
      const found = records.filter((r) => r.key!.toString() === key).at(-1)!;
      assert.equal(found.offset, offset);
      assert.equal(found.value!.toString(), value);
    }
    // Closed segments hold no superseded record.
    const activeBase = log.partition('c', 0).active.baseOffset;
    for (const r of records.filter((x) => x.offset < activeBase)) assert.equal(latest.get(r.key!.toString())!.offset, r.offset);
    assert.equal(log.partition('c', 0).logEndOffset, 200);
    // Offsets keep increasing across the rewritten segments.
    for (let i = 1; i < records.length; i++) assert.ok(records[i]!.offset > records[i - 1]!.offset);
  } finally {
    await log.close();
    cleanup();
  }
});

test('tombstones survive deleteRetentionMs, then disappear', async () => {
  const { dir, cleanup } = tempDir();
  let now = 1_800_000_000_000;
  const log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0, clock: () => now });
  try {
    await log.createTopic('c', { partitions: 1, segmentBytes: 1024, cleanupPolicy: 'compact', deleteRetentionMs: 60_000 });
    await log.appendRecords('c', 0, [{ key: Buffer.from('gone'), value: Buffer.from('x'), timestamp: now }]);
    await log.appendRecords('c', 0, [{ key: Buffer.from('gone'), value: null, timestamp: now }]);
    for (let i = 0; i < 50; i++) await log.appendRecords('c', 0, [{ key: Buffer.from(`other${i}`), value: Buffer.alloc(100), timestamp: now }]);
    await log.runMaintenance();
    let gone = readAll(log, 'c').filter((r) => r.key!.toString() === 'gone');
    assert.equal(gone.length, 1, 'only the tombstone is left');
    assert.equal(gone[0]!.value, null);
    now += 61_000;
    await log.runMaintenance();
    gone = readAll(log, 'c').filter((r) => r.key!.toString() === 'gone');
    assert.equal(gone.length, 0, 'the tombstone is removed after deleteRetentionMs');
  } finally {
    await log.close();
    cleanup();
  }
});

test('appends continue while compaction runs and recovery accepts the rewritten segments', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    await log.createTopic('c', { partitions: 1, segmentBytes: 2048, cleanupPolicy: 'compact' });
    for (let i = 0; i < 300; i++) await log.appendRecords('c', 0, [{ key: Buffer.from(`k${i % 5}`), value: Buffer.from(`v${i}`) }]);
    const compaction = log.runMaintenance();
    const during = await Promise.all(Array.from({ length: 20 }, (_, i) => log.appendRecords('c', 0, [{ key: Buffer.from(`k${i % 5}`), value: Buffer.from(`during${i}`) }])));
    await compaction;
    assert.equal(during.at(-1)!.baseOffset, 319);
    await log.close();
    const reopened = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    assert.equal(reopened.recovery.length, 0, 'no truncation needed');
    const values = new Map(readAll(reopened, 'c').map((r) => [r.key!.toString(), r.value!.toString()]));
    assert.deepEqual([...values.values()].sort(), ['during15', 'during16', 'during17', 'during18', 'during19']);
    await reopened.close();
  } finally {
    cleanup();
  }
});
