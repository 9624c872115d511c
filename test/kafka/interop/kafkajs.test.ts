/**
 * Interop with KafkaJS 2.2.4: producer (keys, headers, acks -1, batches over several partitions
 * and topics), idempotent producer, a consumer group of three with a member leaving mid-way,
 * admin topics, group offsets (commit, fetch, set, reset), topic offsets (earliest, latest, by
 * timestamp), and SASL PLAIN. Each test runs against a fresh broker on loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Admin, type Consumer, type EachMessagePayload, type Producer } from 'kafkajs';
import { partitionForKey } from '../../../src/bus/partitioner.ts';
import { startTestBroker, type TestBroker } from '../../helpers/kafka-broker.ts';
import { balancedAssignment, committedOffset, waitUntil } from '../../helpers/kafka-clients.ts';

const TIMEOUT = { timeout: 60_000 };

async function withBroker(fn: (b: TestBroker, kafka: Kafka) => Promise<void>, opts: Parameters<typeof startTestBroker>[0] = {}): Promise<void> {
  const broker = await startTestBroker(opts);
  try {
    await fn(broker, new Kafka({ clientId: 'interop-kafkajs', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 50 } }));
  } finally {
    await broker.close();
  }
}

/** Connects the clients, runs `fn`, and always disconnects them (in reverse order). */
async function using<const T extends Array<Admin | Producer | Consumer>>(clients: T, fn: (...c: NoInfer<T>) => Promise<void>): Promise<void> {
  const connected: Array<Admin | Producer | Consumer> = [];
  try {
    for (const c of clients) {
      await c.connect();
      connected.push(c);
    }
    await fn(...clients);
  } finally {
    for (const c of connected.reverse()) await c.disconnect().catch(() => {});
  }
}

test('kafkajs producer: keys, headers, acks -1, one sendBatch over several topics and partitions', TIMEOUT, async () => {
  await withBroker(async ({ bus }, kafka) => {
    await bus.admin().createTopic('orders', { partitions: 4 });
    await bus.admin().createTopic('audit', { partitions: 2 });
    await using([kafka.producer({ allowAutoTopicCreation: false })], async (producer) => {
      const orders = Array.from({ length: 40 }, (_, i) => ({
        key: `customer-${i % 9}`,
        value: JSON.stringify({ order: i }),
        headers: { source: 'kafkajs', seq: String(i), bin: Buffer.from([0, 1, 2, i]) },
      }));
      const audit = Array.from({ length: 6 }, (_, i) => ({ partition: i % 2, key: null, value: `audit-${i}` }));
      const result = await producer.sendBatch({
        acks: -1,
        topicMessages: [
          { topic: 'orders', messages: orders },
          { topic: 'audit', messages: audit },
        ],
      });
      // One answer per partition written, with no error.
      const ordersPartitions = [...new Set(orders.map((o) => partitionForKey(Buffer.from(o.key), 4)))];
      assert.ok(ordersPartitions.length > 1, 'the keys spread over several partitions');
      assert.deepEqual(
        result.map((r) => `${r.topicName}-${r.partition}:${r.errorCode}`).sort(),
        [...ordersPartitions.map((p) => `orders-${p}:0`), 'audit-0:0', 'audit-1:0'].sort(),
      );

      // KafkaJS's default partitioner is murmur2, like ours: keys land where the bus would put them.
      for (const p of [0, 1, 2, 3]) {
        const expected = orders.filter((o) => partitionForKey(Buffer.from(o.key), 4) === p);
        const stored = bus.log.readRecords('orders', p, 0, { maxRecords: 1000 }).records;
        assert.deepEqual(stored.map((r) => r.offset), expected.map((_, i) => i), `dense offsets on orders-${p}`);
        assert.deepEqual(stored.map((r) => [r.key?.toString(), r.value?.toString()]), expected.map((o) => [o.key, o.value]), `orders-${p} in order`);
        assert.deepEqual(
          stored.map((r) => r.headers.map((h) => [h.key, h.value?.toString('hex')])),
          expected.map((o) => [['source', Buffer.from('kafkajs').toString('hex')], ['seq', Buffer.from(o.headers.seq).toString('hex')], ['bin', o.headers.bin.toString('hex')]]),
        );
      }
      for (const p of [0, 1]) {
        const stored = bus.log.readRecords('audit', p, 0).records;
        assert.deepEqual(stored.map((r) => [r.key, r.value?.toString()]), audit.filter((a) => a.partition === p).map((a) => [null, a.value]));
      }

      // A send to one topic returns the base offset per partition.
      const more = await producer.send({ topic: 'audit', acks: -1, messages: [{ partition: 1, value: 'x' }, { partition: 1, value: 'y' }] });
      assert.deepEqual(more.map((r) => [r.partition, r.baseOffset, r.errorCode]), [[1, '3', 0]]);
      assert.equal(bus.log.partition('audit', 1).highWatermark, 5);

      // A topic that does not exist, without auto-creation: UNKNOWN_TOPIC_OR_PARTITION.
      await assert.rejects(
        producer.send({ topic: 'nope', acks: -1, messages: [{ value: 'v' }] }),
        (err: Error & { type?: string; cause?: { type?: string } }) => {
          assert.equal(err.type ?? err.cause?.type, 'UNKNOWN_TOPIC_OR_PARTITION', err.message);
          return true;
        },
      );
    });
  }, { autoCreateTopics: false });
});

test('kafkajs idempotent producer: one producer id, contiguous sequences, exactly the records sent', TIMEOUT, async () => {
  await withBroker(async ({ bus }, kafka) => {
    await bus.admin().createTopic('payments', { partitions: 2 });
    await using([kafka.producer({ idempotent: true, maxInFlightRequests: 1 })], async (producer) => {
      for (let round = 0; round < 5; round++) {
        await producer.send({
          topic: 'payments',
          acks: -1,
          messages: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, key: `k${i % 2}`, value: `r${round}-${i}` })),
        });
      }
    });
    for (const p of [0, 1]) {
      const { batches } = bus.log.read('payments', p, 0, 1 << 20);
      const fields: Array<{ producerId: bigint; epoch: number; baseSequence: number; count: number }> = [];
      for (let pos = 0; pos + 61 <= batches.length; pos += 12 + batches.readInt32BE(pos + 8)) {
        fields.push({ producerId: batches.readBigInt64BE(pos + 43), epoch: batches.readInt16BE(pos + 51), baseSequence: batches.readInt32BE(pos + 53), count: batches.readInt32BE(pos + 57) });
      }
      assert.equal(fields.length, 5, 'one batch per send');
      assert.ok(fields[0]!.producerId >= 0n, 'the broker assigned a producer id');
      assert.ok(fields.every((f) => f.producerId === fields[0]!.producerId && f.epoch === fields[0]!.epoch));
      assert.deepEqual(fields.map((f) => f.baseSequence), [0, 5, 10, 15, 20]);
      const values = bus.log.readRecords('payments', p, 0).records.map((r) => r.value?.toString());
      assert.deepEqual(values, [0, 1, 2, 3, 4].flatMap((round) => [0, 1, 2, 3, 4].map((j) => `r${round}-${j * 2 + p}`)));
    }
  });
});

interface Read {
  partition: number;
  offset: number;
  value: string;
}

/**
 * Every read of an offset returned the same record, and along each partition the records are
 * in the order they were produced (values m<n> with n growing).
 */
function assertConsistentReads(reads: Read[]): void {
  const byOffset = new Map<string, string>();
  for (const r of reads) {
    const key = `${r.partition}/${r.offset}`;
    assert.equal(byOffset.get(key) ?? r.value, r.value, `offset ${key} read twice with different records`);
    byOffset.set(key, r.value);
  }
  for (let p = 0; p < 6; p++) {
    const ns = [...byOffset].filter(([k]) => k.startsWith(`${p}/`)).sort((x, y) => Number(x[0].split('/')[1]) - Number(y[0].split('/')[1])).map(([, v]) => Number(v.slice(1)));
    assert.deepEqual(ns, [...ns].sort((x, y) => x - y), `partition ${p} in produce order`);
  }
}

interface Member {
  name: string;
  consumer: Consumer;
  seen: Read[];
  /** Partitions of `topic` in this member's latest assignment, as KafkaJS reports it. */
  assignment: number[];
}

test('kafkajs consumer group of three on 6 partitions: a member leaves mid-way, the others take over, nothing is lost', TIMEOUT, async () => {
  await withBroker(async ({ bus }, kafka) => {
    const topic = 'events';
    const group = 'event-processors';
    await bus.admin().createTopic(topic, { partitions: 6 });
    const all = [0, 1, 2, 3, 4, 5].map((p) => `${topic}:${p}`);
    const producer = kafka.producer();
    const members: Member[] = ['a', 'b', 'c'].map((name) => ({
      name,
      consumer: kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 200, rebalanceTimeout: 10_000, maxWaitTimeInMs: 250, retry: { retries: 3 } }),
      seen: [],
      assignment: [],
    }));
    let next = 0;
    const produceRound = async (perPartition: number) => {
      for (let p = 0; p < 6; p++) {
        await producer.send({ topic, acks: -1, messages: Array.from({ length: perPartition }, () => ({ partition: p, value: `m${next++}` })) });
      }
    };
    await using([producer, ...members.map((m) => m.consumer)], async () => {
      for (const m of members) {
        m.consumer.on(m.consumer.events.GROUP_JOIN, (e) => {
          m.assignment = (e.payload.memberAssignment[topic] ?? []).slice().sort((x, y) => x - y);
        });
        await m.consumer.subscribe({ topic, fromBeginning: true });
        await m.consumer.run({
          eachMessage: async ({ partition, message }: EachMessagePayload) => {
            m.seen.push({ partition, offset: Number(message.offset), value: message.value!.toString() });
          },
        });
      }
      const three = await waitUntil('three members with two partitions each', async () => {
        const a = await balancedAssignment(bus, group, 3, all);
        return a && [...a.values()].every((parts) => parts.length === 2) ? a : undefined;
      });
      assert.equal(three.size, 3);
      await waitUntil('every KafkaJS member to report its two partitions', () => members.every((m) => m.assignment.length === 2));
      assert.deepEqual(members.flatMap((m) => m.assignment).sort(), [0, 1, 2, 3, 4, 5]);

      // First round, consumed by the three.
      await produceRound(10);
      const seenCount = () => new Set(members.flatMap((m) => m.seen.map((s) => `${s.partition}/${s.offset}`))).size;
      await waitUntil('round 1 consumed', () => seenCount() === 60, { describe: () => members.map((m) => m.seen.length) });

      // Second round in flight while member c leaves.
      const leaving = members[2]!;
      const cPartitions = leaving.assignment.slice();
      const round2 = produceRound(10);
      await leaving.consumer.disconnect();
      await round2;
      const leaverRead = leaving.seen.length;
      const stayed = members.slice(0, 2);
      const two = await waitUntil('the two remaining members to own all 6 partitions', () => balancedAssignment(bus, group, 2, all));
      assert.deepEqual([...two.values()].map((p) => p.length), [3, 3]);
      await waitUntil('KafkaJS members to report 3 partitions each', () => stayed.every((m) => m.assignment.length === 3));
      const a = stayed[0]!.assignment;
      const b = stayed[1]!.assignment;
      assert.deepEqual(a.filter((p) => b.includes(p)), [], 'no partition owned by two members');
      assert.deepEqual([...a, ...b].sort(), [0, 1, 2, 3, 4, 5]);
      assert.ok(cPartitions.every((p) => a.includes(p) || b.includes(p)), 'the leaver\'s partitions were taken over');

      // Third round, after the rebalance: read by the two remaining members. (Which member read
      // which record is not asserted: a fetch sent before a rebalance may still deliver records
      // of a partition its member has just given up, as with any broker.)
      await produceRound(10);
      await waitUntil('all 180 records consumed at least once', () => seenCount() === 180, { describe: () => members.map((m) => m.seen.length) });
      assert.equal(leaving.seen.length, leaverRead, 'the member that left reads nothing more');
      // Nothing lost: every offset of every partition was consumed.
      const seen = new Set(members.flatMap((m) => m.seen.map((s) => `${s.partition}/${s.offset}`)));
      for (let p = 0; p < 6; p++) for (let o = 0; o < 30; o++) assert.ok(seen.has(`${p}/${o}`), `record ${p}/${o} consumed`);
      assertConsistentReads(members.flatMap((m) => m.seen));
      await waitUntil('offsets committed up to 30 on every partition', () => [0, 1, 2, 3, 4, 5].every((p) => committedOffset(bus, group, topic, p) === 30), {
        describe: () => [0, 1, 2, 3, 4, 5].map((p) => committedOffset(bus, group, topic, p)),
      });
    });
  });
});

test('kafkajs admin: createTopics, TOPIC_ALREADY_EXISTS, invalid requests, listTopics, fetchTopicMetadata, createPartitions, deleteTopics', TIMEOUT, async () => {
  await withBroker(async ({ bus, bootstrap }, kafka) => {
    await using([kafka.admin()], async (admin) => {
      assert.equal(
        await admin.createTopics({ topics: [{ topic: 'alpha', numPartitions: 3 }, { topic: 'beta', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '60000' }] }] }),
        true,
      );
      assert.equal(bus.log.partitionCount('alpha'), 3);
      assert.equal(bus.log.topicConfig('beta').retentionMs, 60_000);

      // KafkaJS answers false exactly when every per-topic error is TOPIC_ALREADY_EXISTS.
      assert.equal(await admin.createTopics({ topics: [{ topic: 'alpha', numPartitions: 3 }] }), false);
      assert.equal(bus.log.partitionCount('alpha'), 3);

      // Other per-topic errors surface with their Kafka error type.
      await assert.rejects(admin.createTopics({ topics: [{ topic: 'bad name!', numPartitions: 1 }] }), (err: Error & { errors?: Array<{ type: string }> }) => {
        assert.equal(err.name, 'KafkaJSAggregateError');
        assert.deepEqual(err.errors?.map((e) => e.type), ['INVALID_TOPIC_EXCEPTION']);
        return true;
      });
      await assert.rejects(admin.createTopics({ topics: [{ topic: 'gamma', numPartitions: 1, replicationFactor: 3 }] }), (err: Error & { errors?: Array<{ type: string }> }) => {
        assert.deepEqual(err.errors?.map((e) => e.type), ['INVALID_REPLICATION_FACTOR']);
        return true;
      });
      assert.equal(bus.log.hasTopic('gamma'), false);

      assert.deepEqual((await admin.listTopics()).filter((t) => !t.startsWith('__')).sort(), ['alpha', 'beta']);
      const meta = await admin.fetchTopicMetadata({ topics: ['alpha'] });
      assert.equal(meta.topics.length, 1);
      assert.equal(meta.topics[0]!.name, 'alpha');
      assert.deepEqual(
        meta.topics[0]!.partitions.map((p) => ({ id: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr, err: p.partitionErrorCode })).sort((x, y) => x.id - y.id),
        [0, 1, 2].map((id) => ({ id, leader: 0, replicas: [0], isr: [0], err: 0 })),
      );
      const cluster = await admin.describeCluster();
      assert.deepEqual(cluster.brokers.map((b) => `${b.host}:${b.port}`), [bootstrap]);
      assert.equal(cluster.controller, 0);

      await admin.createPartitions({ topicPartitions: [{ topic: 'alpha', count: 5 }] });
      assert.equal(bus.log.partitionCount('alpha'), 5);
      await assert.rejects(admin.createPartitions({ topicPartitions: [{ topic: 'alpha', count: 2 }] }), (err: Error & { type?: string }) => {
        assert.equal(err.type, 'INVALID_PARTITIONS');
        return true;
      });

      await admin.deleteTopics({ topics: ['alpha'] });
      assert.equal(bus.log.hasTopic('alpha'), false);
      assert.deepEqual((await admin.listTopics()).filter((t) => !t.startsWith('__')), ['beta']);
    });
    // Deleting a topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION (retriable for KafkaJS, so no retries here).
    const noRetry = new Kafka({ clientId: 'no-retry', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    await using([noRetry.admin()], async (admin) => {
      await assert.rejects(admin.deleteTopics({ topics: ['never-was'] }), (err: Error & { type?: string; cause?: { type?: string } }) => {
        // KafkaJSNumberOfRetriesExceeded wrapping the KafkaJSProtocolError.
        assert.equal(err.type ?? err.cause?.type, 'UNKNOWN_TOPIC_OR_PARTITION', err.message);
        return true;
      });
    });
  }, { autoCreateTopics: false });
});

test('kafkajs admin: createTopics rejects 0 partitions (INVALID_PARTITIONS) and replication factor 0 (INVALID_REPLICATION_FACTOR), as Kafka does', TIMEOUT, async () => {
  // Kafka (ReplicationControlManager.validateCreateTopic): numPartitions < -1 || == 0 →
  // INVALID_PARTITIONS "Number of partitions was set to an invalid non-positive value.";
  // replicationFactor < -1 || == 0 → INVALID_REPLICATION_FACTOR. -1 means the broker default.
  await withBroker(async ({ bus }, kafka) => {
    await using([kafka.admin()], async (admin) => {
      const typesOf = async (topic: { topic: string; numPartitions?: number; replicationFactor?: number }) => {
        try {
          await admin.createTopics({ topics: [topic] });
          return ['created'];
        } catch (err) {
          return ((err as { errors?: Array<{ type: string }> }).errors ?? []).map((e) => e.type);
        }
      };
      const answers = {
        zeroPartitions: await typesOf({ topic: 'p0', numPartitions: 0 }),
        minusTwoPartitions: await typesOf({ topic: 'pm2', numPartitions: -2 }),
        zeroReplicas: await typesOf({ topic: 'rf0', numPartitions: 1, replicationFactor: 0 }),
        minusTwoReplicas: await typesOf({ topic: 'rfm2', numPartitions: 1, replicationFactor: -2 }),
        defaults: await typesOf({ topic: 'defaults', numPartitions: -1, replicationFactor: -1 }),
      };
      assert.deepEqual(answers, {
        zeroPartitions: ['INVALID_PARTITIONS'],
        minusTwoPartitions: ['INVALID_PARTITIONS'],
        zeroReplicas: ['INVALID_REPLICATION_FACTOR'],
        minusTwoReplicas: ['INVALID_REPLICATION_FACTOR'],
        defaults: ['created'],
      });
      assert.deepEqual(['p0', 'pm2', 'rf0', 'rfm2', 'defaults'].filter((t) => bus.log.hasTopic(t)), ['defaults']);
    });
  }, { autoCreateTopics: false });
});

test('kafkajs offsets: consumer commit, admin fetchOffsets/setOffsets/resetOffsets, fetchTopicOffsets, by timestamp', TIMEOUT, async () => {
  await withBroker(async ({ bus }, kafka) => {
    const topic = 'ledger';
    const group = 'ledger-group';
    await bus.admin().createTopic(topic, { partitions: 2 });
    const base = Date.now() - 3_600_000;
    for (const p of [0, 1]) {
      await bus.log.appendRecords(topic, p, Array.from({ length: 10 }, (_, i) => ({ value: Buffer.from(`p${p}-${i}`), timestamp: base + i * 1000 })));
    }
    await using([kafka.admin()], async (admin) => {
      // Topic offsets: earliest/latest, and by timestamp (first offset whose timestamp >= ts).
      assert.deepEqual(
        (await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.low, o.high, o.offset]).sort(),
        [[0, '0', '10', '10'], [1, '0', '10', '10']],
      );
      assert.deepEqual((await admin.fetchTopicOffsetsByTimestamp(topic, base + 4500)).map((o) => [o.partition, o.offset]).sort(), [[0, '5'], [1, '5']]);
      assert.deepEqual((await admin.fetchTopicOffsetsByTimestamp(topic, base + 3000)).map((o) => [o.partition, o.offset]).sort(), [[0, '3'], [1, '3']]);
      // Past the newest record: the latest offset.
      assert.deepEqual((await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() + 60_000)).map((o) => [o.partition, o.offset]).sort(), [[0, '10'], [1, '10']]);

      // No commits yet: -1.
      assert.deepEqual(
        (await admin.fetchOffsets({ groupId: group, topics: [topic] })).map((t) => t.partitions.map((p) => [p.partition, p.offset]).sort()),
        [[[0, '-1'], [1, '-1']]],
      );

      // A consumer reads, commits explicit offsets (autoCommit off) and leaves.
      const consumer = kafka.consumer({ groupId: group, heartbeatInterval: 200, maxWaitTimeInMs: 250 });
      const read: string[] = [];
      await using([consumer], async () => {
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({ autoCommit: false, eachMessage: async ({ partition, message }) => void read.push(`${partition}/${message.offset}`) });
        await waitUntil('20 records read', () => read.length === 20);
        await consumer.commitOffsets([{ topic, partition: 0, offset: '4' }, { topic, partition: 1, offset: '9' }]);
        assert.equal(committedOffset(bus, group, topic, 0), 4);
        assert.equal(committedOffset(bus, group, topic, 1), 9);
        // A running group cannot be moved.
        await assert.rejects(admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '0' }] }), /no running instances/);
      });
      await waitUntil('the group to be empty', async () => (await bus.admin().describeGroup(group)).members === 0);

      const fetched = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      assert.deepEqual(fetched.map((t) => [t.topic, t.partitions.map((p) => [p.partition, p.offset]).sort()]), [[topic, [[0, '4'], [1, '9']]]]);

      await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '8' }, { partition: 1, offset: '6' }] });
      assert.equal(committedOffset(bus, group, topic, 0), 8);
      assert.equal(committedOffset(bus, group, topic, 1), 6);

      // (Each setOffsets/resetOffsets costs ~5 s: KafkaJS's internal consumer sleeps its default
      // maxWaitTime with every partition paused. Keep their number small.)

      // A consumer of the group resumes where setOffsets put it.
      const resumed: string[] = [];
      const again = kafka.consumer({ groupId: group, heartbeatInterval: 200, maxWaitTimeInMs: 250 });
      await using([again], async () => {
        await again.subscribe({ topic, fromBeginning: true });
        await again.run({ eachMessage: async ({ partition, message }) => void resumed.push(`${partition}/${message.offset}/${message.value?.toString()}`) });
        await waitUntil('6 records after the set offsets', () => resumed.length >= 6);
        await waitUntil('autocommit to the end', () => committedOffset(bus, group, topic, 0) === 10 && committedOffset(bus, group, topic, 1) === 10);
      });
      assert.deepEqual(resumed.sort(), ['0/8/p0-8', '0/9/p0-9', '1/6/p1-6', '1/7/p1-7', '1/8/p1-8', '1/9/p1-9']);

      // resetOffsets commits Kafka's sentinel (-2 = earliest) as it is, as a real Kafka stores
      // it; fetchOffsets({ resolveOffsets: true }) turns it into the log start and commits that.
      await admin.resetOffsets({ groupId: group, topic, earliest: true });
      assert.deepEqual((await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]!.partitions.map((p) => [p.partition, p.offset]).sort(), [[0, '-2'], [1, '-2']]);
      assert.equal(committedOffset(bus, group, topic, 0), -2);

      // describeGroups / listGroups see the group.
      assert.ok((await admin.listGroups()).groups.some((g) => g.groupId === group && g.protocolType === 'consumer'));
      const [described] = (await admin.describeGroups([group])).groups;
      assert.equal(described!.groupId, group);
      assert.equal(described!.state, 'Empty');
    });
  });
});

test('kafkajs SASL PLAIN: the right password works, a wrong one fails with an authentication error', TIMEOUT, async () => {
  await withBroker(async ({ bootstrap, bus }) => {
    const client = (password: string) =>
      new Kafka({ clientId: 'sasl', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, sasl: { mechanism: 'plain', username: 'alice', password } });

    const good = client('secret');
    await using([good.admin(), good.producer()], async (admin, producer) => {
      await admin.createTopics({ topics: [{ topic: 'secured', numPartitions: 1 }] });
      await producer.send({ topic: 'secured', acks: -1, messages: [{ key: 'k', value: 'v' }] });
    });
    assert.deepEqual(bus.log.readRecords('secured', 0, 0).records.map((r) => r.value?.toString()), ['v']);

    const bad = client('wrong').admin();
    try {
      await assert.rejects(bad.connect(), (err: Error) => {
        assert.equal(err.name, 'KafkaJSSASLAuthenticationError');
        assert.match(err.message, /SASL PLAIN authentication failed/i);
        return true;
      });
    } finally {
      await bad.disconnect().catch(() => {});
    }

    // No SASL at all: the broker does not serve it.
    const anonymous = new Kafka({ clientId: 'anon', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 2000, requestTimeout: 3000 }).admin();
    try {
      await assert.rejects(anonymous.listTopics());
    } finally {
      await anonymous.disconnect().catch(() => {});
    }
  }, { sasl: { mechanisms: ['PLAIN'], users: { alice: 'secret' } } });
});
