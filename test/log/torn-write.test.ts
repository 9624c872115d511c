/**
 * Torn writes on real files: bytes cut from or flipped in the tail of a segment are truncated
 * on recovery; every earlier batch still reads, and appends continue after the cut.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, readdirSync, readFileSync, statSync, truncateSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { Log } from '../../src/log/log.ts';
import { tempDir } from '../helpers/temp-dir.ts';

async function seed(dataDir: string, batches: number): Promise<number[]> {
  const log = await Log.open({ dataDir, maintenanceIntervalMs: 0 });
  await log.createTopic('t', { partitions: 1 });
  const sizes: number[] = [];
  for (let i = 0; i < batches; i++) {
    const before = log.partition('t', 0).sizeBytes();
    await log.appendRecords('t', 0, [{ key: Buffer.from(`k${i}`), value: Buffer.from(`value-${i}-`.repeat(5)) }, { value: Buffer.from(`second-${i}`) }]);
    sizes.push(log.partition('t', 0).sizeBytes() - before);
  }
  await log.close();
  return sizes;
}

function segmentPath(dataDir: string): string {
  const dir = join(dataDir, 'log', 'topics', 't', '0');
  const name = readdirSync(dir).find((n) => n.endsWith('.log'))!;
  return join(dir, name);
}

async function readAll(dataDir: string): Promise<{ values: string[]; end: number; log: Log }> {
  const log = await Log.open({ dataDir, maintenanceIntervalMs: 0 });
  const p = log.partition('t', 0);
  const r = p.readRecords(0, 100_000, 1 << 24);
  return { values: r.records.map((x) => x.value!.toString()), end: p.logEndOffset, log };
}

test('cutting bytes from the tail truncates exactly the torn batch', async () => {
  for (const cut of [1, 5, 11, 12, 30, 61, 62]) {
    const { dir, cleanup } = tempDir();
    try {
      const sizes = await seed(dir, 10);
      const path = segmentPath(dir);
      const full = statSync(path).size;
      truncateSync(path, full - Math.min(cut, sizes[9]! - 1));
      const { values, end, log } = await readAll(dir);
      assert.equal(end, 18, `cut ${cut}: the last batch (2 records) is dropped`);
      assert.equal(values.length, 18);
      assert.equal(values[17], 'second-8');
      assert.equal(statSync(path).size, full - sizes[9]!, `cut ${cut}: file truncated to the last whole batch`);
      assert.equal(log.recovery.length, 1);
      const r = await log.appendRecords('t', 0, [{ value: Buffer.from('after') }]);
      assert.equal(r.baseOffset, 18, 'appends continue where the valid log ends');
      await log.close();
      const again = await readAll(dir);
      assert.equal(again.values[18], 'after');
      await again.log.close();
    } finally {
      cleanup();
    }
  }
});

test('a flipped byte in the last batch truncates it; earlier batches survive', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const sizes = await seed(dir, 6);
    const path = segmentPath(dir);
    const full = statSync(path).size;
    const lastStart = full - sizes[5]!;
    for (const at of [lastStart + 30, full - 1]) {
      const fd = openSync(path, 'r+');
      const b = Buffer.alloc(1);
      b[0] = readFileSync(path)[at]! ^ 0xff;
      writeSync(fd, b, 0, 1, at);
      closeSync(fd);
    }
    const { values, end, log } = await readAll(dir);
    assert.equal(end, 10);
    assert.deepEqual(values.slice(-2), ['value-4-'.repeat(5), 'second-4']);
    assert.equal(statSync(path).size, lastStart);
    await log.close();
  } finally {
    cleanup();
  }
});

test('garbage appended after the last batch is removed', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await seed(dir, 3);
    const path = segmentPath(dir);
    const full = statSync(path).size;
    const fd = openSync(path, 'a');
    writeSync(fd, Buffer.from('\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0003\u0000\u0000\u0000\u0040garbage-garbage'));
    closeSync(fd);
    const { end, log } = await readAll(dir);
    assert.equal(end, 6);
    assert.equal(statSync(path).size, full);
    await log.close();
  } finally {
    cleanup();
  }
});

test('a corrupted base offset (outside the CRC) is caught by offset continuity', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const sizes = await seed(dir, 4);
    const path = segmentPath(dir);
    const full = statSync(path).size;
    const lastStart = full - sizes[3]!;
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.from([0x00, 0x00, 0x70, 0x00]), 0, 4, lastStart + 2); // base offset jumps to ~2^44
    closeSync(fd);
    const { end, log } = await readAll(dir);
    assert.equal(end, 6, 'the batch with the impossible base offset is cut off');
    assert.equal(statSync(path).size, lastStart);
    await log.close();
  } finally {
    cleanup();
  }
});
