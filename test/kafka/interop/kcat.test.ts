/**
 * Interop with `kcat` (Debian, librdkafka 2.0): metadata, produce with acks=all and every
 * compression codec, consume (from the beginning, an offset, a timestamp), offset queries, and
 * balanced consumer groups (eager and cooperative-sticky) of two kcat processes. Each test runs
 * against a fresh broker on loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBroker, type TestBroker } from '../../helpers/kafka-broker.ts';
import {
  KcatProcess,
  balancedAssignment,
  committedOffset,
  parseKcatJson,
  runKcat,
  storedBatchCodecs,
  waitUntil,
  type KcatMessage,
} from '../../helpers/kafka-clients.ts';

/** A hang fails the test instead of blocking the run. */
const TIMEOUT = { timeout: 60_000 };

async function withBroker(fn: (b: TestBroker) => Promise<void>): Promise<void> {
  const broker = await startTestBroker();
  try {
    await fn(broker);
  } finally {
    await broker.close();
  }
}

/** Consumes every partition of `topic` from the beginning to its end (`-e`), as JSON envelopes. */
async function consumeAll(bootstrap: string, topic: string, extra: string[] = []): Promise<KcatMessage[]> {
  const { stdout } = await runKcat(['-b', bootstrap, '-C', '-t', topic, '-e', '-J', '-q', ...extra]);
  return parseKcatJson(stdout);
}

function byPartition(messages: KcatMessage[]): Map<number, KcatMessage[]> {
  const m = new Map<number, KcatMessage[]>();
  for (const msg of messages) {
    if (!m.has(msg.partition)) m.set(msg.partition, []);
    m.get(msg.partition)!.push(msg);
  }
  return m;
}

test('kcat -L and -L -J list the broker, our topics, their partitions and the leader', TIMEOUT, async () => {
  await withBroker(async ({ bootstrap, bus }) => {
    await bus.admin().createTopic('orders', { partitions: 3 });
    await bus.admin().createTopic('payments', { partitions: 1 });

    const text = (await runKcat(['-b', bootstrap, '-L'])).stdout;
    assert.match(text, new RegExp(`1 brokers:\\n\\s+broker 0 at ${bootstrap.replace(/\./g, '\\.')}`));
    assert.match(text, /topic "orders" with 3 partitions:/);
    assert.match(text, /topic "payments" with 1 partitions:/);
    for (const p of [0, 1, 2]) assert.match(text, new RegExp(`partition ${p}, leader 0, replicas: 0, isrs: 0`));

    const json = JSON.parse((await runKcat(['-b', bootstrap, '-L', '-J'])).stdout) as {
      brokers: Array<{ id: number; name: string }>;
      controllerid: number;
      topics: Array<{ topic: string; error?: string; partitions: Array<{ partition: number; leader: number; replicas: Array<{ id: number }>; isrs: Array<{ id: number }> }> }>;
    };
    assert.deepEqual(json.brokers, [{ id: 0, name: bootstrap }]);
    assert.equal(json.controllerid, 0);
    const orders = json.topics.find((t) => t.topic === 'orders');
    assert.ok(orders, 'orders is listed');
    assert.equal(orders.error, undefined);
    assert.deepEqual(
      orders.partitions.map((p) => ({ partition: p.partition, leader: p.leader, replicas: p.replicas, isrs: p.isrs })).sort((a, b) => a.partition - b.partition),
      [0, 1, 2].map((partition) => ({ partition, leader: 0, replicas: [{ id: 0 }], isrs: [{ id: 0 }] })),
    );

    // One topic only (-t): just that topic.
    const one = JSON.parse((await runKcat(['-b', bootstrap, '-L', '-J', '-t', 'payments'])).stdout) as { topics: Array<{ topic: string; partitions: unknown[] }> };
    assert.deepEqual(one.topics.map((t) => [t.topic, t.partitions.length]), [['payments', 1]]);
  });
});

const CODECS = [
  { name: 'none', id: 0 },
  { name: 'gzip', id: 1 },
  { name: 'snappy', id: 2 },
  { name: 'lz4', id: 3 },
  { name: 'zstd', id: 4 },
] as const;

for (const codec of CODECS) {
  test(`kcat produces with acks=all and -z ${codec.name} (keys, headers), and consumes it back in order`, TIMEOUT, async () => {
    await withBroker(async ({ bootstrap, bus }) => {
      const topic = `codec-${codec.name}`;
      await bus.admin().createTopic(topic, { partitions: 3 });
      // Compressible values, so librdkafka keeps the compressed form (it sends uncompressed when that is smaller).
      const input = Array.from({ length: 60 }, (_, i) => `key-${i % 7}:value-${i}-${'abcdefgh'.repeat(8)}`);
      await runKcat(
        ['-b', bootstrap, '-P', '-t', topic, '-K:', '-z', codec.name, '-X', 'acks=all', '-X', 'linger.ms=50', '-H', 'source=kcat', '-H', `codec=${codec.name}`],
        { input: input.join('\n') + '\n' },
      );

      // Stored as the client compressed it.
      const stored = [0, 1, 2].flatMap((p) => storedBatchCodecs(bus, topic, p));
      assert.ok(stored.length > 0, 'batches were stored');
      assert.deepEqual([...new Set(stored)], [codec.id], `stored batches use codec ${codec.name}`);

      const got = await consumeAll(bootstrap, topic);
      assert.equal(got.length, input.length);
      // Every record once, with its key, value and both headers.
      const expected = input.map((line) => {
        const i = line.indexOf(':');
        return { key: line.slice(0, i), payload: line.slice(i + 1) };
      });
      assert.deepEqual(
        got.map((m) => ({ key: m.key, payload: m.payload })).sort((a, b) => a.payload!.localeCompare(b.payload!)),
        [...expected].sort((a, b) => a.payload.localeCompare(b.payload)),
      );
      for (const m of got) {
        assert.deepEqual(m.headers, ['source', 'kcat', 'codec', codec.name]);
        assert.equal(m.tstype, 'create');
      }
      // A key always lands on one partition; within a partition, offsets are dense from 0 and
      // records keep the order they were produced in.
      const partitionOfKey = new Map<string, number>();
      for (const m of got) {
        const seen = partitionOfKey.get(m.key!);
        if (seen !== undefined) assert.equal(m.partition, seen, `key ${m.key} on one partition`);
        partitionOfKey.set(m.key!, m.partition);
      }
      for (const [p, list] of byPartition(got)) {
        assert.deepEqual(list.map((m) => m.offset), list.map((_, i) => i), `dense offsets on partition ${p}`);
        const order = list.map((m) => expected.findIndex((e) => e.payload === m.payload));
        assert.deepEqual(order, [...order].sort((a, b) => a - b), `produce order kept on partition ${p}`);
        assert.equal(bus.log.partition(topic, p).highWatermark, list.length);
      }
    });
  });
}

test('kcat consumes from an absolute offset, a relative offset, a timestamp, and queries offsets by timestamp', TIMEOUT, async () => {
  await withBroker(async ({ bootstrap, bus }) => {
    const topic = 'history';
    await bus.admin().createTopic(topic, { partitions: 1 });
    // Explicit create-times one second apart, so timestamp lookups have one right answer.
    const base = Date.now() - 3_600_000;
    await bus.log.appendRecords(
      topic,
      0,
      Array.from({ length: 10 }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`), timestamp: base + i * 1000 })),
    );

    const fromOffset = await consumeAll(bootstrap, topic, ['-p', '0', '-o', '6']);
    assert.deepEqual(fromOffset.map((m) => [m.offset, m.payload]), [6, 7, 8, 9].map((o) => [o, `v${o}`]));

    const lastTwo = await consumeAll(bootstrap, topic, ['-p', '0', '-o', '-2']);
    assert.deepEqual(lastTwo.map((m) => m.offset), [8, 9]);

    // s@<ts>: the first record whose timestamp is >= ts.
    const fromTs = await consumeAll(bootstrap, topic, ['-p', '0', '-o', `s@${base + 3500}`]);
    assert.deepEqual(fromTs.map((m) => [m.offset, m.ts]), [4, 5, 6, 7, 8, 9].map((o) => [o, base + o * 1000]));
    const fromExactTs = await consumeAll(bootstrap, topic, ['-p', '0', '-o', `s@${base + 7000}`]);
    assert.deepEqual(fromExactTs.map((m) => m.offset), [7, 8, 9]);
    // s@..e@: a window (end not included).
    const windowed = await consumeAll(bootstrap, topic, ['-p', '0', '-o', `s@${base + 2000}`, '-o', `e@${base + 5000}`]);
    assert.deepEqual(windowed.map((m) => m.offset), [2, 3, 4]);

    // -Q: ListOffsets by timestamp.
    const q = (await runKcat(['-b', bootstrap, '-Q', '-t', `${topic}:0:${base + 4500}`])).stdout;
    assert.match(q, new RegExp(`${topic} \\[0\\]\\s+offset 5\\b`));
  });
});

interface GroupRun {
  members: KcatProcess[];
  messages: KcatMessage[][];
}

/**
 * Two `kcat -G` members on a 4-partition topic: both get partitions, 40 records produced after
 * the group is balanced are consumed exactly once between them, offsets are committed, and the
 * group is empty after both stop.
 */
async function twoMemberGroup(bootstrap: string, bus: TestBroker['bus'], extraConfig: string[], expectProtocol: string): Promise<GroupRun> {
  const topic = 'clicks';
  const group = `kcat-group-${expectProtocol}`;
  await bus.admin().createTopic(topic, { partitions: 4 });
  const partitions = [0, 1, 2, 3].map((p) => `${topic}:${p}`);
  const memberArgs = [
    '-b', bootstrap, '-G', group, '-J', '-u',
    '-X', 'auto.offset.reset=earliest',
    '-X', 'auto.commit.interval.ms=100',
    '-X', 'heartbeat.interval.ms=300',
    '-X', 'session.timeout.ms=10000',
    ...extraConfig,
    topic,
  ];
  const members: KcatProcess[] = [];
  try {
    members.push(new KcatProcess(memberArgs));
    // The first member alone owns every partition.
    await waitUntil('the first member to own all 4 partitions', () => balancedAssignment(bus, group, 1, partitions), {
      describe: () => members.map((m) => m.stderr),
    });
    members.push(new KcatProcess(memberArgs));
    const assignment = await waitUntil('two members to share the 4 partitions', () => balancedAssignment(bus, group, 2, partitions), {
      describe: () => members.map((m) => m.stderr),
    });
    const described = await bus.admin().describeGroup(group);
    assert.equal(described.protocolType, 'consumer');
    assert.equal(described.protocol, expectProtocol);
    for (const parts of assignment.values()) assert.equal(parts.length, 2, 'a balanced split of 4 partitions over 2 members');
    // Each kcat also reports its own side of the split.
    await waitUntil('both kcat members to report partitions', () => members.every((m) => /rebalanced.*(assigned|assignment of [1-9])/.test(m.stderr)));

    // 10 records per partition, produced by kcat itself.
    for (let p = 0; p < 4; p++) {
      const input = Array.from({ length: 10 }, (_, i) => `k${p}-${i}:p${p}-r${i}`).join('\n') + '\n';
      await runKcat(['-b', bootstrap, '-P', '-t', topic, '-p', String(p), '-K:', '-X', 'acks=all'], { input });
    }

    await waitUntil('all 40 records to be consumed', () => members.reduce((n, m) => n + m.lines().length, 0) >= 40, {
      describe: () => members.map((m) => m.lines().length),
    });
    await waitUntil('offsets 10 committed on every partition', () => [0, 1, 2, 3].every((p) => committedOffset(bus, group, topic, p) === 10), {
      describe: () => [0, 1, 2, 3].map((p) => committedOffset(bus, group, topic, p)),
    });

    const messages = members.map((m) => parseKcatJson(m.lines()));
    // Exactly once across the group; each member read only what it owns; order per partition.
    const all = messages.flat();
    assert.equal(all.length, 40, 'no record consumed twice');
    assert.deepEqual(
      all.map((m) => `${m.partition}/${m.offset}`).sort(),
      [0, 1, 2, 3].flatMap((p) => Array.from({ length: 10 }, (_, o) => `${p}/${o}`)).sort(),
    );
    const owned = [...assignment.values()];
    for (const mine of messages) {
      const parts = new Set(mine.map((m) => `${topic}:${m.partition}`));
      assert.ok(owned.some((o) => [...parts].every((p) => o.includes(p))), `a member reads only its partitions: ${[...parts].join(',')}`);
      for (const [p, list] of byPartition(mine)) {
        assert.deepEqual(list.map((m) => m.offset), list.map((_, i) => i), `partition ${p} in order`);
        assert.deepEqual(list.map((m) => m.payload), list.map((_, i) => `p${p}-r${i}`));
        assert.deepEqual(list.map((m) => m.key), list.map((_, i) => `k${p}-${i}`));
      }
    }
    assert.ok(messages.every((m) => m.length > 0), 'both members consumed records');

    // Both leave: the group empties, the committed offsets stay with lag 0.
    for (const m of members) {
      const { code, signal } = await m.stop();
      assert.equal(code, 0, `kcat exits cleanly (signal ${signal}):\n${m.stderr}`);
    }
    await waitUntil('the group to be empty', async () => (await bus.admin().describeGroup(group)).members === 0);
    const after = await bus.admin().describeGroup(group);
    assert.equal(after.state, 'Empty');
    assert.deepEqual(
      after.offsets.map((o) => [o.topic, o.partition, o.committedOffset, o.lag]),
      [0, 1, 2, 3].map((p) => [topic, p, 10, 0]),
    );
    return { members, messages };
  } finally {
    for (const m of members) m.kill();
  }
}

test('kcat -G: two members of a balanced group split 4 partitions and consume every record exactly once', TIMEOUT, async () => {
  await withBroker(async ({ bootstrap, bus }) => {
    await twoMemberGroup(bootstrap, bus, [], 'range');
  });
});

test('kcat -G with partition.assignment.strategy=cooperative-sticky', TIMEOUT, async () => {
  await withBroker(async ({ bootstrap, bus }) => {
    const run = await twoMemberGroup(bootstrap, bus, ['-X', 'partition.assignment.strategy=cooperative-sticky'], 'cooperative-sticky');
    // The first member gave up half its partitions incrementally, without an eager revoke of all.
    assert.match(run.members[0]!.stderr, /incremental revoke of 2 partition\(s\)/);
    assert.match(run.members[1]!.stderr, /incremental assignment of 2 partition\(s\)/);
  });
});
