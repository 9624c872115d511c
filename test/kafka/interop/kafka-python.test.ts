/**
 * Interop with kafka-python 2.0.2 (Debian's python3-kafka: a pure-Python client, sharing no code
 * with librdkafka or the Node clients): admin create/delete topics, a producer with acks=all,
 * keys, headers and each compression codec (gzip, snappy, lz4, zstd), a consumer group of two
 * members where one leaves (rebalance), commits, and a new member resuming from the commits.
 * The client runs as `/usr/bin/python3` (Debian's interpreter, where the package lives).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestBroker } from '../../helpers/kafka-broker.ts';
import { committedOffset, storedBatchCodecs } from '../../helpers/kafka-clients.ts';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const CLIENT = path.join(import.meta.dirname, 'fixtures', 'kafka_python_client.py');

interface PyRecord {
  p: number;
  o: number;
  k: string;
  v: { n: number; c: string | null };
  h: Array<[string, string]>;
}

async function py(bootstrap: string, ...args: string[]): Promise<Record<string, unknown>> {
  try {
    const { stdout } = await run(PYTHON, [CLIENT, bootstrap, ...args], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kafka-python ${args[0]} failed (is Debian's python3-kafka installed? .ci/run installs it): ${e.message}\n${e.stderr ?? ''}`);
  }
}

test('kafka-python: admin, producer with every codec, a group of two with a leave, commit and resume', { timeout: 300_000 }, async () => {
  const broker = await startTestBroker({ autoCreateTopics: false });
  try {
    const admin = await py(broker.bootstrap, 'admin');
    assert.equal(admin.duplicate, 'TopicAlreadyExistsError');
    assert.deepEqual(admin.topics, ['py-orders']);
    assert.equal(broker.bus.log.partitionCount('py-orders'), 3);

    const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
    let produced = 0;
    for (const codec of codecs) {
      const res = await py(broker.bootstrap, 'produce', '40', codec);
      const acks = res.acks as Array<[number, number]>;
      assert.equal(acks.length, 40);
      assert.equal(new Set(acks.map(([p, o]) => `${p}:${o}`)).size, 40, `${codec}: every record got its own offset`);
      produced += 40;
    }
    const stored = new Set([0, 1, 2].flatMap((p) => storedBatchCodecs(broker.bus, 'py-orders', p)));
    assert.deepEqual([...stored].sort(), [0, 1, 2, 3, 4], 'batches of every codec were stored as sent');

    const group = await py(broker.bootstrap, 'group', String(produced));
    assert.deepEqual(group.errors, [], 'no member thread failed');
    const split = group.split as number[][];
    assert.ok(split[0]!.length > 0 && split[1]!.length > 0, `both members got partitions: ${JSON.stringify(split)}`);
    assert.deepEqual(split.flat().sort(), [0, 1, 2]);
    assert.deepEqual(group.after_leave, [0, 1, 2], 'the remaining member took over every partition');
    const records = group.records as PyRecord[];
    assert.equal(records.length, produced);
    const fromLog = [0, 1, 2].flatMap((p) => broker.bus.log.readRecords('py-orders', p, 0, { maxRecords: 100_000, maxBytes: 1 << 24 }).records.map((r) => ({ p, o: r.offset, v: r.value!.toString() })));
    assert.deepEqual(
      records.map((r) => `${r.p}:${r.o}:${JSON.stringify(r.v)}`).sort(),
      fromLog.map((r) => `${r.p}:${r.o}:${r.v.replace(/\s/g, '')}`).sort(),
    );
    for (const r of records) {
      assert.deepEqual(r.h, [['source', 'kafka-python']]);
      assert.equal(r.k, `k${r.v.n % 7}`);
    }
    const committed = group.committed as Record<string, number>;
    for (const p of [0, 1, 2]) {
      assert.equal(committed[String(p)], broker.bus.log.partition('py-orders', p).highWatermark);
      assert.equal(committedOffset(broker.bus, 'py-group', 'py-orders', p), committed[String(p)]);
    }

    await py(broker.bootstrap, 'produce', '10', 'none');
    const resumed = (await py(broker.bootstrap, 'resume')).records as PyRecord[];
    assert.equal(resumed.length, 10, 'a new member resumes from the commits: only the 10 new records');
    assert.ok(resumed.every((r) => r.o >= committed[String(r.p)]!));
  } finally {
    await broker.close();
  }
});
