import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Log } from '../../src/log/log.ts';
import { tempDir } from '../helpers/temp-dir.ts';

async function fill(log: Log, topic: string, n: number, ts: (i: number) => number): Promise<void> {
  for (let i = 0; i < n; i++) await log.appendRecords(topic, 0, [{ value: Buffer.alloc(200, i % 256), timestamp: ts(i) }]);
}

test('time retention deletes closed segments whose newest record is too old', async () => {
  const { dir, cleanup } = tempDir();
  let now = 1_000_000_000_000;
  const log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0, clock: () => now });
  try {
    await log.createTopic('t', { partitions: 1, segmentBytes: 1024, retentionMs: 60_000 });
    await fill(log, 't', 40, (i) => now - 120_000 + i * 1000); // 40 records, 2 minutes ago … 80 s ago
    await fill(log, 't', 10, () => now); // fresh
    const before = log.describeTopic('t').partitions[0]!;
    assert.ok(before.segments > 5);
    await log.runMaintenance();
    const after = log.describeTopic('t').partitions[0]!;
    assert.ok(after.segments < before.segments, 'old segments deleted');
    assert.ok(after.logStartOffset > 0);
    const p = log.partition('t', 0);
    const rest = p.readRecords(p.logStartOffset, 1000, 1 << 20).records;
    // Everything still present is either recent or shares a segment with recent data.
    assert.ok(rest.some((r) => r.timestamp === now));
    assert.equal(p.logEndOffset, 50, 'offsets are never reused');
    // A fresh record older than retention in the active segment is never deleted.
    now += 10 * 60_000;
    await log.runMaintenance();
    assert.equal(log.describeTopic('t').partitions[0]!.segments, 1, 'the active segment stays');
    await assert.rejects(async () => p.read(0, 100), /outside/);
  } finally {
    await log.close();
    cleanup();
  }
});

test('size retention keeps a partition under retentionBytes (closed segments only)', async () => {
  const { dir, cleanup } = tempDir();
  const log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
  try {
    await log.createTopic('t', { partitions: 1, segmentBytes: 2048, retentionBytes: 4096, retentionMs: null });
    await fill(log, 't', 100, () => Date.now());
    assert.ok(log.partition('t', 0).sizeBytes() > 10_000);
    await log.runMaintenance();
    const p = log.partition('t', 0);
    assert.ok(p.sizeBytes() <= 4096 + 2048, `size ${p.sizeBytes()} over the limit plus one segment`);
    assert.ok(p.sizeBytes() >= 4096 - 2048);
    let offset = p.logStartOffset;
    let last = -1;
    while (offset < p.highWatermark) {
      const r = p.readRecords(offset, 1000, 1 << 20);
      last = r.records.at(-1)?.offset ?? last;
      offset = r.nextOffset;
    }
    assert.equal(last, 99, 'the newest records are kept');
  } finally {
    await log.close();
    cleanup();
  }
});

test('DeleteRecords moves the log start offset durably and frees whole segments', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    await log.createTopic('t', { partitions: 1, segmentBytes: 1024 });
    await fill(log, 't', 30, () => Date.now());
    const segments = log.describeTopic('t').partitions[0]!.segments;
    assert.equal(await log.deleteRecordsBefore('t', 0, 17), 17);
    assert.ok(log.describeTopic('t').partitions[0]!.segments < segments);
    assert.throws(() => log.read('t', 0, 16, 100), (e: Error & { code?: string }) => e.code === 'OFFSET_OUT_OF_RANGE');
    assert.equal(log.readRecords('t', 0, 17).records[0]!.offset, 17);
    await assert.rejects(log.deleteRecordsBefore('t', 0, 31), /high watermark/);
    await log.close();
    const reopened = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    assert.equal(reopened.partition('t', 0).logStartOffset, 17, 'the new start offset survived a restart');
    await reopened.close();
  } finally {
    cleanup();
  }
});
