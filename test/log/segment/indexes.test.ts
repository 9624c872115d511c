import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffsetIndex, TimeIndex } from '../../../src/log/segment/offset-index.ts';
import { Log } from '../../../src/log/log.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

test('offset index returns the floor entry position', () => {
  const idx = new OffsetIndex();
  assert.equal(idx.floorPosition(5), 0, 'empty index scans from the start');
  for (let i = 0; i < 200; i++) idx.add(i * 10, i * 4096);
  assert.equal(idx.floorPosition(0), 0);
  assert.equal(idx.floorPosition(9), 0);
  assert.equal(idx.floorPosition(10), 4096);
  assert.equal(idx.floorPosition(1234), 123 * 4096);
  assert.equal(idx.floorPosition(1e9), 199 * 4096);
  idx.truncateToPosition(100 * 4096);
  assert.equal(idx.size, 100);
  assert.equal(idx.floorPosition(1e9), 99 * 4096);
});

test('time index keeps only growing timestamps and finds where a time starts', () => {
  const idx = new TimeIndex();
  idx.add(100, 0);
  idx.add(90, 5); // not larger: ignored
  idx.add(200, 10);
  idx.add(300, 20);
  assert.equal(idx.size, 3);
  assert.equal(idx.lastOffsetBefore(50), -1);
  assert.equal(idx.lastOffsetBefore(100), -1);
  assert.equal(idx.lastOffsetBefore(101), 0);
  assert.equal(idx.lastOffsetBefore(250), 10);
  assert.equal(idx.lastOffsetBefore(1000), 20);
});

test('segments find the batch of any offset and the first record at a time, across segments and restarts', async () => {
  const { dir, cleanup } = tempDir();
  const t0 = 1_700_000_000_000;
  try {
    let log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    await log.createTopic('t', { partitions: 1, segmentBytes: 8 * 1024 });
    // 500 batches of 3 records, timestamps increasing by 1 s per batch, one late record per batch.
    for (let b = 0; b < 500; b++) {
      await log.appendRecords('t', 0, [
        { value: Buffer.from(`b${b}r0`), timestamp: t0 + b * 1000 },
        { value: Buffer.from(`b${b}r1`), timestamp: t0 + b * 1000 + 500 },
        { value: Buffer.from(`b${b}late`), timestamp: t0 },
      ]);
    }
    for (const reopen of [false, true]) {
      if (reopen) {
        await log.close();
        log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
      }
      const p = log.partition('t', 0);
      assert.ok(p.segments.length > 5, 'several segments');
      for (const offset of [0, 1, 2, 3, 700, 1001, 1499]) {
        const r = p.readRecords(offset, 1, 1 << 20);
        assert.equal(r.records[0]!.offset, offset);
        const b = Math.floor(offset / 3);
        assert.equal(r.records[0]!.value!.toString(), ['r0', 'r1', 'late'].map((s) => `b${b}${s}`)[offset % 3]);
      }
      assert.deepEqual(p.offsetForTimestamp(t0), { offset: 0, timestamp: t0 });
      assert.deepEqual(p.offsetForTimestamp(t0 + 1), { offset: 1, timestamp: t0 + 500 });
      assert.deepEqual(p.offsetForTimestamp(t0 + 250_000), { offset: 750, timestamp: t0 + 250_000 });
      assert.deepEqual(p.offsetForTimestamp(t0 + 250_001), { offset: 751, timestamp: t0 + 250_500 });
      assert.equal(p.offsetForTimestamp(t0 + 10_000_000), null);
    }
    await log.close();
  } finally {
    cleanup();
  }
});
