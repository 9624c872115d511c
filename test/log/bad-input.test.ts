/** Bad input gets a clear error and loses nothing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Log } from '../../src/log/log.ts';
import { LogError } from '../../src/log/errors.ts';
import { encodeRecordBatch } from '../../src/log/batch/record-batch.ts';
import { NodeFileSystem } from '../../src/log/fs/node-file-system.ts';
import type { FileHandle, FileSystem } from '../../src/log/fs/file-system.ts';
import { tempDir } from '../helpers/temp-dir.ts';

function code(c: string) {
  return (e: unknown) => e instanceof LogError && e.code === c;
}

test('invalid topic names and partition counts are rejected with the reason', async () => {
  const { dir, cleanup } = tempDir();
  const log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
  try {
    for (const bad of ['', '.', '..', 'has space', 'slash/inside', 'ümlaut', 'x'.repeat(250)]) {
      await assert.rejects(log.createTopic(bad), code('TOPIC_NAME_INVALID'), JSON.stringify(bad));
    }
    await assert.rejects(log.createTopic('__mine'), /reserved for internal topics/);
    await assert.rejects(log.createTopic('zero', { partitions: 0 }), (e: Error) => code('TOPIC_CONFIG_INVALID')(e) && /partitions must be at least 1/.test(e.message));
    await assert.rejects(log.createTopic('frac', { partitions: 1.5 }), code('TOPIC_CONFIG_INVALID'));
    await assert.rejects(log.createTopic('seg', { segmentBytes: 10 }), /segmentBytes/);
    await log.createTopic('ok.name_1-2', { partitions: 2 });
    await assert.rejects(log.createTopic('ok.name_1-2'), code('TOPIC_EXISTS'));
    assert.deepEqual(log.topicNames(), ['ok.name_1-2'], 'failed creations leave nothing behind');
  } finally {
    await log.close();
    cleanup();
  }
});

test('unknown topics and partitions fail unless auto-create is on', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    assert.throws(() => log.partition('nope', 0), (e: Error) => code('TOPIC_UNKNOWN')(e) && /tributary topics create nope/.test(e.message));
    await assert.rejects(log.ensureTopic('nope'), code('TOPIC_UNKNOWN'));
    await log.createTopic('t', { partitions: 2 });
    assert.throws(() => log.partition('t', 2), (e: Error) => code('PARTITION_UNKNOWN')(e) && /0\.\.1/.test(e.message));
    await log.close();
    const auto = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0, autoCreateTopics: true, defaultTopicConfig: { partitions: 3 } });
    await auto.ensureTopic('fresh');
    assert.equal(auto.partitionCount('fresh'), 3);
    await auto.close();
  } finally {
    cleanup();
  }
});

test('records over the size limit and malformed batches are refused; earlier data is intact', async () => {
  const { dir, cleanup } = tempDir();
  const log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
  try {
    await log.createTopic('t', { partitions: 1, maxRecordBytes: 1024 });
    await log.appendRecords('t', 0, [{ value: Buffer.from('before') }]);
    await assert.rejects(log.appendRecords('t', 0, [{ value: Buffer.alloc(2000) }]), (e: Error) => code('RECORD_TOO_LARGE')(e) && /maxRecordBytes 1024/.test(e.message));
    const corrupt = encodeRecordBatch([{ value: Buffer.from('x') }]);
    corrupt[corrupt.length - 1] ^= 1;
    await assert.rejects(log.append('t', 0, corrupt), (e: Error) => code('BATCH_INVALID')(e) && /CRC/.test(e.message));
    await assert.rejects(log.append('t', 0, Buffer.from('short')), code('BATCH_INVALID'));
    await log.appendRecords('t', 0, [{ value: Buffer.from('after') }]);
    assert.deepEqual(log.readRecords('t', 0, 0).records.map((r) => r.value!.toString()), ['before', 'after']);
  } finally {
    await log.close();
    cleanup();
  }
});

test('a data directory owned by another running process is refused', async () => {
  const { dir, cleanup } = tempDir();
  const holder = spawn(
    process.execPath,
    ['--import', 'tsx', '-e', `import('${new URL('../../src/log/log.ts', import.meta.url).pathname}').then(async ({ Log }) => { await Log.open({ dataDir: ${JSON.stringify(dir)}, maintenanceIntervalMs: 0 }); console.log('HELD'); setInterval(() => {}, 1000); })`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d: Buffer) => d.toString().includes('HELD') && resolve());
      holder.on('exit', () => reject(new Error('holder exited')));
    });
    await assert.rejects(Log.open({ dataDir: dir, maintenanceIntervalMs: 0 }), (e: Error) => code('DATA_DIR_LOCKED')(e) && new RegExp(`pid ${holder.pid}`).test(e.message));
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    const log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    await log.close();
  } finally {
    holder.kill('SIGKILL');
    cleanup();
  }
});

/** Real files, but writes fail with ENOSPC while `full` is set (after writing part of the data). */
class FullDiskFileSystem extends NodeFileSystem {
  full = false;
  override open(path: string, opts: { create: boolean; readOnly?: boolean }): FileHandle {
    const inner = super.open(path, opts);
    const fs = this;
    return new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === 'write') {
          return (buf: Uint8Array, off: number, len: number, pos: number) => {
            if (fs.full) {
              target.write(buf, off, Math.floor(len / 2), pos); // a partial write reached the disk
              const err = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
              err.code = 'ENOSPC';
              throw err;
            }
            return target.write(buf, off, len, pos);
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }
}

test('a full disk fails the append with DISK_FULL and leaves the log consistent', async () => {
  const { dir, cleanup } = tempDir();
  const fs = new FullDiskFileSystem();
  try {
    let log = await Log.open({ dataDir: dir, fs: fs as FileSystem, lock: true, maintenanceIntervalMs: 0 });
    await log.createTopic('t', { partitions: 1 });
    await log.appendRecords('t', 0, [{ value: Buffer.from('one') }]);
    fs.full = true;
    await assert.rejects(log.appendRecords('t', 0, [{ value: Buffer.alloc(500, 1) }]), (e: Error) => code('DISK_FULL')(e) && /free space/.test(e.message));
    fs.full = false;
    const r = await log.appendRecords('t', 0, [{ value: Buffer.from('two') }]);
    assert.equal(r.baseOffset, 1, 'the failed append consumed no offset');
    await log.close();
    log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    assert.equal(log.recovery.length, 0, 'no torn bytes were left behind');
    assert.deepEqual(log.readRecords('t', 0, 0).records.map((x) => x.value!.toString()), ['one', 'two']);
    await log.close();
  } finally {
    cleanup();
  }
});

test('concurrent partition additions open each new partition once; appends to them stay readable', async () => {
  // Found by the Kafka fuzzer: two CreatePartitions at once opened one directory twice, and two
  // writers with their own idea of the file size interleaved batches at wrong positions.
  const { dir, cleanup } = tempDir();
  const log = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
  try {
    await log.createTopic('grow', { partitions: 1 });
    const results = await Promise.allSettled([log.addPartitions('grow', 3), log.addPartitions('grow', 3), log.addPartitions('grow', 4)]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.ok(code('PARTITIONS_INVALID')((results[1] as PromiseRejectedResult).reason));
    assert.equal(log.partitionCount('grow'), 4);
    assert.equal(new Set(Array.from({ length: 4 }, (_, p) => log.partition('grow', p))).size, 4, 'four distinct partitions');
    for (let i = 0; i < 50; i++) {
      await Promise.all([0, 1, 2, 3].map((p) => log.appendRecords('grow', p, [{ value: Buffer.from(`p${p}-${i}`) }])));
    }
    const check = (l: Log) => {
      for (let p = 0; p < 4; p++) {
        const values = l.readRecords('grow', p, 0, { maxRecords: 1000 }).records.map((r) => r.value!.toString());
        assert.deepEqual(values, Array.from({ length: 50 }, (_, i) => `p${p}-${i}`), `partition ${p}`);
      }
    };
    check(log);
    await log.close();
    const again = await Log.open({ dataDir: dir, maintenanceIntervalMs: 0 });
    try {
      assert.equal(again.partitionCount('grow'), 4);
      check(again);
    } finally {
      await again.close();
    }
  } finally {
    await log.close();
    cleanup();
  }
});
