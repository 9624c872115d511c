/**
 * Interop with Shopify/sarama 1.22 (Debian's golang-github-shopify-sarama-dev, a Go client sharing
 * no code with librdkafka, Java or the Node and Python clients): an idempotent producer with
 * acks=all, keys, headers and each compression codec, and a consumer group of two members where
 * one leaves after committing (rebalance; the other resumes from its commits). The Go program in
 * fixtures/sarama is built here with Debian's Go toolchain, offline (GOPATH mode over
 * /usr/share/gocode).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestBroker } from '../../helpers/kafka-broker.ts';
import { committedOffset, storedBatchCodecs } from '../../helpers/kafka-clients.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const run = promisify(execFile);
const SOURCE = path.join(import.meta.dirname, 'fixtures', 'sarama');

interface GoRecord {
  p: number;
  o: number;
  k: string;
  v: string;
  h: string;
}

async function build(dir: string): Promise<string> {
  const bin = path.join(dir, 'sarama-client');
  const env = { ...process.env, GO111MODULE: 'off', GOPATH: `${dir}/gopath:/usr/share/gocode`, GOCACHE: `${dir}/cache`, GOFLAGS: '' };
  try {
    await run('go', ['build', '-o', bin, '.'], { cwd: SOURCE, env, timeout: 300_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`building the sarama client failed (.ci/run installs golang-go and golang-github-shopify-sarama-dev): ${e.message}\n${e.stderr ?? ''}`);
  }
  return bin;
}

async function sarama(bin: string, bootstrap: string, ...args: string[]): Promise<Record<string, unknown>> {
  try {
    const { stdout } = await run(bin, [bootstrap, ...args], { timeout: 150_000, maxBuffer: 64 * 1024 * 1024 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`sarama ${args[0]} failed: ${e.message}\n${e.stderr ?? ''}`);
  }
}

test('sarama (Go): idempotent producer with every codec, a group of two with a leave and resume from commits', { timeout: 600_000 }, async () => {
  const tmp = tempDir('tributary-sarama-');
  const broker = await startTestBroker({ autoCreateTopics: false });
  try {
    const bin = await build(tmp.dir);
    await broker.bus.admin().createTopic('go-orders', { partitions: 3 });
    let produced = 0;
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
      const acks = (await sarama(bin, broker.bootstrap, 'produce', '40', codec)).acks as Array<[number, number]>;
      assert.equal(acks.length, 40);
      assert.equal(new Set(acks.map(([p, o]) => `${p}:${o}`)).size, 40, `${codec}: every record got its own offset`);
      produced += 40;
    }
    const stored = new Set([0, 1, 2].flatMap((p) => storedBatchCodecs(broker.bus, 'go-orders', p)));
    assert.deepEqual([...stored].sort(), [0, 1, 2, 3, 4], 'batches of every codec were stored as sent');
    for (const p of [0, 1, 2]) {
      const { batches } = broker.bus.log.read('go-orders', p, 0, 1 << 24);
      const pids = new Set<bigint>();
      for (let pos = 0; pos + 61 <= batches.length; pos += 12 + batches.readInt32BE(pos + 8)) pids.add(batches.readBigInt64BE(pos + 43));
      assert.ok([...pids].every((pid) => pid >= 0n), 'idempotent batches carry a producer id');
    }

    const group = await sarama(bin, broker.bootstrap, 'group', String(produced));
    const split = group.split as number[][];
    assert.ok(split[0]!.length > 0 && split[1]!.length > 0, `both members got partitions: ${JSON.stringify(split)}`);
    assert.deepEqual(split.flat().sort(), [0, 1, 2]);
    assert.deepEqual(group.after_leave, [0, 1, 2], 'the remaining member took over every partition');
    const records = group.records as GoRecord[];
    const fromLog = [0, 1, 2].flatMap((p) => broker.bus.log.readRecords('go-orders', p, 0, { maxRecords: 100_000, maxBytes: 1 << 24 }).records.map((r) => `${p}:${r.offset}:${r.key}:${r.value}`));
    assert.deepEqual(records.map((r) => `${r.p}:${r.o}:${r.k}:${r.v}`).sort(), fromLog.sort(), 'together the members saw every record');
    assert.ok(records.every((r) => r.h === 'source=sarama'));
    for (const p of [0, 1, 2]) {
      assert.equal(committedOffset(broker.bus, 'go-group', 'go-orders', p), broker.bus.log.partition('go-orders', p).highWatermark, `partition ${p} committed to its end`);
    }
  } finally {
    await broker.close();
    tmp.cleanup();
  }
});
