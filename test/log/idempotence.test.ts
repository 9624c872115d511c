/** Idempotent producers: retries are answered with the original offsets, also after a restart. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Log } from '../../src/log/log.ts';
import { LogError } from '../../src/log/errors.ts';
import { encodeRecordBatch } from '../../src/log/batch/record-batch.ts';
import { tempDir } from '../helpers/temp-dir.ts';

function batch(pid: number, epoch: number, seq: number, values: string[]): Buffer {
  return encodeRecordBatch(values.map((v) => ({ value: Buffer.from(v) })), { producerId: pid, producerEpoch: epoch, baseSequence: seq });
}

function count(log: Log, topic: string): number {
  const p = log.partition(topic, 0);
  let n = 0;
  let offset = p.logStartOffset;
  while (offset < p.highWatermark) {
    const r = p.readRecords(offset, 10_000, 1 << 20);
    n += r.records.length;
    offset = r.nextOffset;
  }
  return n;
}

test('a retried batch is stored once and answered with its first offsets', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    await log.createTopic('t', { partitions: 1 });
    const first = await log.append('t', 0, batch(7, 0, 0, ['a', 'b']));
    await log.append('t', 0, batch(99, 0, 0, ['other']));
    const retry = await log.append('t', 0, batch(7, 0, 0, ['a', 'b']));
    assert.equal(retry.baseOffset, first.baseOffset);
    assert.equal(retry.lastOffset, first.lastOffset);
    assert.equal(count(log, 't'), 3);
    const next = await log.append('t', 0, batch(7, 0, 2, ['c']));
    assert.equal(next.baseOffset, 3);
    // A gap in sequences is refused, as is an older epoch once a newer one was seen.
    await assert.rejects(log.append('t', 0, batch(7, 0, 9, ['gap'])), (e) => e instanceof LogError && e.code === 'OUT_OF_ORDER_SEQUENCE' && e.kafkaCode === 45);
    await log.append('t', 0, batch(7, 1, 0, ['new epoch']));
    await assert.rejects(log.append('t', 0, batch(7, 0, 3, ['zombie'])), (e) => e instanceof LogError && e.code === 'PRODUCER_FENCED' && e.kafkaCode === 47);
    await log.close();

    // After a restart (state from the checkpoint snapshot plus replay), retries are still deduplicated.
    log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    const again = await log.append('t', 0, batch(7, 1, 0, ['new epoch']));
    assert.equal(again.baseOffset, 4);
    assert.equal(count(log, 't'), 5);
    await log.close();
  } finally {
    cleanup();
  }
});

test('producer state is rebuilt from the log when the checkpoint is missing', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    await log.createTopic('t', { partitions: 1, segmentBytes: 1024 });
    for (let i = 0; i < 30; i++) await log.append('t', 0, batch(5, 0, i * 2, [`x${i}`, `y${i}`]));
    await log.close();
    const { rmSync } = await import('node:fs');
    rmSync(`${dir}/log/checkpoints.json`);
    log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    const retry = await log.append('t', 0, batch(5, 0, 58, ['x29', 'y29']));
    assert.equal(retry.baseOffset, 58, 'the last batch is recognised from the replayed log');
    assert.equal(count(log, 't'), 60);
    await log.close();
  } finally {
    cleanup();
  }
});
