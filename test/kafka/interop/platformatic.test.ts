/**
 * Interop with @platformatic/kafka@1: producer (keys, headers, acks -1, batches over several
 * partitions), idempotent producer, a consumer group of three with a member leaving mid-way,
 * admin topics, group offsets (commit, list, alter) and topic offsets (earliest, latest, by
 * timestamp), and SASL PLAIN. Each test runs against a fresh broker on loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Admin,
  Consumer,
  MessagesStreamModes,
  MessagesStreamFallbackModes,
  Producer,
  ProduceAcks,
  stringDeserializers,
  stringSerializers,
  type MessagesStream,
} from '@platformatic/kafka';
import { startTestBroker, type TestBroker } from '../../helpers/kafka-broker.ts';
import { balancedAssignment, committedOffset, waitUntil } from '../../helpers/kafka-clients.ts';

const TIMEOUT = { timeout: 60_000 };

async function withBroker(fn: (b: TestBroker) => Promise<void>, opts: Parameters<typeof startTestBroker>[0] = {}): Promise<void> {
  const broker = await startTestBroker(opts);
  try {
    await fn(broker);
  } finally {
    await broker.close();
  }
}

const base = (bootstrap: string, clientId: string) => ({ clientId, bootstrapBrokers: [bootstrap], retries: 2, retryDelay: 50 });

type Closable = { close(): Promise<void> } | undefined;

/**
 * Closes everything given, last first (so streams before their consumer), even when the test
 * failed half-way. Consumers and producers are closed with force, so a stream left open cannot
 * hold them. (Admin.close takes no force flag: its only argument is a callback.)
 */
async function closeAll(items: Closable[]): Promise<void> {
  for (const item of items.slice().reverse()) {
    if (!item) continue;
    try {
      if (item instanceof Consumer || item instanceof Producer) await item.close(true);
      else await item.close();
    } catch {
      // already closed
    }
  }
}

/** The Kafka error name (TOPIC_ALREADY_EXISTS, …) inside a platformatic error, however it is nested. */
function apiIds(err: unknown): string[] {
  const e = err as { apiId?: string; errors?: unknown[]; cause?: unknown };
  return [...(e.apiId ? [e.apiId] : []), ...(e.errors ?? []).flatMap(apiIds), ...(e.cause ? apiIds(e.cause) : [])];
}

/** Every error nested in `err` (through `errors` and `cause`), with its code, Kafka error name and message. */
function errorChain(err: unknown): Array<{ code?: string; apiId?: string; message: string }> {
  const e = err as { code?: string; apiId?: string; message?: string; errors?: unknown[]; cause?: unknown };
  if (!e || typeof e !== 'object') return [];
  return [{ code: e.code, apiId: e.apiId, message: String(e.message) }, ...(e.errors ?? []).flatMap(errorChain), ...(e.cause ? errorChain(e.cause) : [])];
}

test('platformatic producer: keys, headers, acks -1, one send over several partitions and topics', TIMEOUT, async () => {
  await withBroker(async ({ bootstrap, bus }) => {
    await bus.admin().createTopic('orders', { partitions: 4 });
    await bus.admin().createTopic('audit', { partitions: 2 });
    const producer = new Producer({ ...base(bootstrap, 'plt-producer'), serializers: stringSerializers, autocreateTopics: false });
    try {
      const orders = Array.from({ length: 40 }, (_, i) => ({
        topic: 'orders',
        key: `customer-${i % 9}`,
        value: JSON.stringify({ order: i }),
        headers: { source: 'platformatic', seq: String(i) },
      }));
      const audit = Array.from({ length: 6 }, (_, i) => ({ topic: 'audit', partition: i % 2, value: `audit-${i}` }));
      const result = await producer.send({ acks: ProduceAcks.ALL, messages: [...orders, ...audit] });
      const offsets = result.offsets ?? [];
      assert.ok(offsets.length >= 2, 'offsets reported for the partitions written');

      // A key always lands on one partition; per partition the records keep their order.
      const partitionOf = new Map<string, number>();
      for (let p = 0; p < 4; p++) {
        const stored = bus.log.readRecords('orders', p, 0, { maxRecords: 1000 }).records;
        for (const r of stored) {
          const key = r.key!.toString();
          assert.equal(partitionOf.get(key) ?? p, p, `${key} on one partition`);
          partitionOf.set(key, p);
        }
        const expected = orders.filter((o) => stored.some((r) => r.key?.toString() === o.key));
        assert.deepEqual(stored.map((r) => r.offset), expected.map((_, i) => i), `dense offsets on orders-${p}`);
        assert.deepEqual(stored.map((r) => [r.key?.toString(), r.value?.toString()]), expected.map((o) => [o.key, o.value]), `orders-${p} in order`);
        assert.deepEqual(
          stored.map((r) => r.headers.map((h) => [h.key, h.value?.toString()])),
          expected.map((o) => [['source', 'platformatic'], ['seq', o.headers.seq]]),
        );
      }
      assert.equal(partitionOf.size, 9);
      for (const p of [0, 1]) {
        assert.deepEqual(bus.log.readRecords('audit', p, 0).records.map((r) => [r.key, r.value?.toString()]), audit.filter((a) => a.partition === p).map((a) => [null, a.value]));
      }
      // Reported offsets match what was stored.
      for (const o of offsets) {
        const hw = bus.log.partition(o.topic, o.partition).highWatermark;
        assert.ok(BigInt(o.offset) < BigInt(hw), `${o.topic}-${o.partition} offset ${o.offset} < ${hw}`);
      }
    } finally {
      await producer.close();
    }
  });
});

test('platformatic idempotent producer: one producer id, contiguous sequences', TIMEOUT, async () => {
  await withBroker(async ({ bootstrap, bus }) => {
    await bus.admin().createTopic('payments', { partitions: 2 });
    const producer = new Producer({ ...base(bootstrap, 'plt-idem'), serializers: stringSerializers, idempotent: true });
    try {
      for (let round = 0; round < 4; round++) {
        await producer.send({ acks: ProduceAcks.ALL, messages: Array.from({ length: 6 }, (_, i) => ({ topic: 'payments', partition: i % 2, value: `r${round}-${i}` })) });
      }
    } finally {
      await producer.close();
    }
    for (const p of [0, 1]) {
      const { batches } = bus.log.read('payments', p, 0, 1 << 20);
      const seqs: Array<[bigint, number, number]> = [];
      for (let pos = 0; pos + 61 <= batches.length; pos += 12 + batches.readInt32BE(pos + 8)) {
        seqs.push([batches.readBigInt64BE(pos + 43), batches.readInt32BE(pos + 53), batches.readInt32BE(pos + 57)]);
      }
      assert.equal(seqs.length, 4);
      assert.ok(seqs.every(([pid]) => pid === seqs[0]![0] && pid >= 0n));
      assert.deepEqual(seqs.map(([, s, n]) => [s, n]), [[0, 3], [3, 3], [6, 3], [9, 3]]);
      assert.deepEqual(
        bus.log.readRecords('payments', p, 0).records.map((r) => r.value?.toString()),
        [0, 1, 2, 3].flatMap((round) => [0, 1, 2].map((j) => `r${round}-${j * 2 + p}`)),
      );
    }
  });
});

test('platformatic idempotent producers: two producers get two producer ids and both write to one partition', TIMEOUT, async () => {
  // @platformatic/kafka asks InitProducerId with id 0 / epoch 0 from every new producer: treating
  // that as a KIP-360 epoch bump handed id 0 to all of them, and their sequences collided.
  await withBroker(async ({ bootstrap, bus }) => {
    await bus.admin().createTopic('shared', { partitions: 1 });
    const a = new Producer({ ...base(bootstrap, 'plt-idem-a'), serializers: stringSerializers, idempotent: true });
    const b = new Producer({ ...base(bootstrap, 'plt-idem-b'), serializers: stringSerializers, idempotent: true });
    try {
      for (let round = 0; round < 3; round++) {
        await a.send({ acks: ProduceAcks.ALL, messages: [{ topic: 'shared', partition: 0, value: `a${round}` }] });
        await b.send({ acks: ProduceAcks.ALL, messages: [{ topic: 'shared', partition: 0, value: `b${round}` }] });
      }
    } finally {
      await closeAll([a, b]);
    }
    const { batches } = bus.log.read('shared', 0, 0, 1 << 20);
    const pids = new Set<bigint>();
    for (let pos = 0; pos + 61 <= batches.length; pos += 12 + batches.readInt32BE(pos + 8)) pids.add(batches.readBigInt64BE(pos + 43));
    assert.equal(pids.size, 2, `producer ids in the log: ${[...pids].join(', ')}`);
    assert.deepEqual(bus.log.readRecords('shared', 0, 0).records.map((r) => r.value?.toString()), ['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
  });
});

interface Member {
  name: string;
  consumer: Consumer<string, string, string, string>;
  stream?: MessagesStream<string, string, string, string>;
  seen: Array<{ partition: number; offset: number; value: string }>;
}

function assignedPartitions(c: Consumer<string, string, string, string>, topic: string): number[] {
  return (c.assignments ?? []).filter((a) => a.topic === topic).flatMap((a) => a.partitions).sort((x, y) => x - y);
}

test('platformatic consumer group of three on 6 partitions: a member leaves mid-way, the others take over, nothing is lost', TIMEOUT, async () => {
  await withBroker(async ({ bootstrap, bus }) => {
    const topic = 'events';
    const group = 'event-processors';
    await bus.admin().createTopic(topic, { partitions: 6 });
    const all = [0, 1, 2, 3, 4, 5].map((p) => `${topic}:${p}`);
    const producer = new Producer({ ...base(bootstrap, 'plt-group-producer'), serializers: stringSerializers });
    const members: Member[] = ['a', 'b', 'c'].map((name) => ({
      name,
      consumer: new Consumer({
        ...base(bootstrap, `plt-${name}`),
        groupId: group,
        deserializers: stringDeserializers,
        sessionTimeout: 10_000,
        rebalanceTimeout: 10_000,
        heartbeatInterval: 200,
        maxWaitTime: 200,
      }),
      seen: [],
    }));
    let next = 0;
    const errors: string[] = [];
    const produceRound = async (perPartition: number) => {
      const messages = [];
      for (let p = 0; p < 6; p++) for (let i = 0; i < perPartition; i++) messages.push({ topic, partition: p, value: `m${next++}` });
      await producer.send({ acks: ProduceAcks.ALL, messages });
    };
    try {
      for (const m of members) {
        m.stream = await m.consumer.consume({
          topics: [topic],
          mode: MessagesStreamModes.COMMITTED,
          fallbackMode: MessagesStreamFallbackModes.EARLIEST,
          autocommit: 100,
        });
        m.stream.on('data', (msg) => m.seen.push({ partition: msg.partition, offset: Number(msg.offset), value: msg.value }));
        m.stream.on('error', (err) => errors.push(`${m.name} stream: ${err.message}`));
        m.consumer.on('error', (err: Error) => errors.push(`${m.name} consumer: ${err.message}`));
      }
      const three = await waitUntil('three members with two partitions each', async () => {
        const a = await balancedAssignment(bus, group, 3, all);
        return a && [...a.values()].every((parts) => parts.length === 2) ? a : undefined;
      });
      assert.equal(three.size, 3);
      await waitUntil('every client to know its two partitions', () => members.every((m) => assignedPartitions(m.consumer, topic).length === 2));
      assert.deepEqual(members.flatMap((m) => assignedPartitions(m.consumer, topic)).sort(), [0, 1, 2, 3, 4, 5]);

      const seenCount = () => new Set(members.flatMap((m) => m.seen.map((s) => `${s.partition}/${s.offset}`))).size;
      await produceRound(10);
      await waitUntil('round 1 consumed', () => seenCount() === 60, { describe: () => members.map((m) => m.seen.length) });

      // Member c leaves while round 2 is being produced.
      const leaving = members[2]!;
      const cPartitions = assignedPartitions(leaving.consumer, topic);
      const round2 = produceRound(10);
      await leaving.stream!.close();
      await leaving.consumer.close();
      await round2;
      const leaverRead = leaving.seen.length;

      const stayed = members.slice(0, 2);
      const two = await waitUntil('the two remaining members to own all 6 partitions', () => balancedAssignment(bus, group, 2, all));
      assert.deepEqual([...two.values()].map((p) => p.length).sort(), [3, 3]);
      await waitUntil('both clients to know their 3 partitions', () => stayed.every((m) => assignedPartitions(m.consumer, topic).length === 3));
      const a = assignedPartitions(stayed[0]!.consumer, topic);
      const b = assignedPartitions(stayed[1]!.consumer, topic);
      assert.deepEqual(a.filter((p) => b.includes(p)), [], 'no partition owned by two members');
      assert.deepEqual([...a, ...b].sort(), [0, 1, 2, 3, 4, 5]);
      assert.ok(cPartitions.every((p) => a.includes(p) || b.includes(p)), "the leaver's partitions were taken over");

      await produceRound(10);
      await waitUntil('all 180 records consumed at least once', () => seenCount() === 180, { describe: () => members.map((m) => m.seen.length) });
      // (Which member read which record is not asserted: a fetch sent before the rebalance may
      // still deliver records of a partition its member has just given up, as with any broker.)
      assert.equal(leaving.seen.length, leaverRead, 'the member that left reads nothing more');
      const seen = new Set(members.flatMap((m) => m.seen.map((s) => `${s.partition}/${s.offset}`)));
      for (let p = 0; p < 6; p++) for (let o = 0; o < 30; o++) assert.ok(seen.has(`${p}/${o}`), `record ${p}/${o} consumed`);
      // Every read of an offset returned the same record; per partition, in produce order (m<n>, n growing).
      const byOffset = new Map<string, string>();
      for (const r of members.flatMap((m) => m.seen)) {
        const key = `${r.partition}/${r.offset}`;
        assert.equal(byOffset.get(key) ?? r.value, r.value, `offset ${key} read twice with different records`);
        byOffset.set(key, r.value);
      }
      for (let p = 0; p < 6; p++) {
        const ns = Array.from({ length: 30 }, (_, o) => Number(byOffset.get(`${p}/${o}`)!.slice(1)));
        assert.deepEqual(ns, [...ns].sort((x, y) => x - y), `partition ${p} in produce order`);
      }
      await waitUntil('offsets committed up to 30 on every partition', () => [0, 1, 2, 3, 4, 5].every((p) => committedOffset(bus, group, topic, p) === 30), {
        describe: () => [0, 1, 2, 3, 4, 5].map((p) => committedOffset(bus, group, topic, p)),
      });
      assert.deepEqual(errors, [], 'no client error while the group ran');
    } finally {
      // Streams first, then every consumer at once: closed one by one, each leave would start a
      // rebalance that the next one is still taking part in while the broker goes away.
      await closeAll(members.map((m) => m.stream));
      await Promise.all(members.map((m) => closeAll([m.consumer])));
      await closeAll([producer]);
    }
  });
});

test('platformatic admin: createTopics, TOPIC_ALREADY_EXISTS, listTopics, metadata, createPartitions, deleteTopics, groups', TIMEOUT, async () => {
  await withBroker(async ({ bootstrap, bus }) => {
    const admin = new Admin({ ...base(bootstrap, 'plt-admin'), retries: 0 });
    try {
      const created = await admin.createTopics({ topics: ['alpha', 'beta'], partitions: 3, replicas: 1, configs: [{ name: 'retention.ms', value: '60000' }] });
      assert.deepEqual(created.map((t) => [t.name, t.partitions, t.replicas]).sort(), [['alpha', 3, 1], ['beta', 3, 1]]);
      assert.ok(created.every((t) => /^[0-9a-f-]{36}$/.test(t.id) && t.id !== '00000000-0000-0000-0000-000000000000'), 'topic ids');
      assert.equal(created.find((t) => t.name === 'alpha')!.configuration['retention.ms'], '60000');
      assert.equal(bus.log.partitionCount('alpha'), 3);
      assert.equal(bus.log.topicConfig('beta').retentionMs, 60_000);

      await assert.rejects(admin.createTopics({ topics: ['alpha'], partitions: 1, replicas: 1 }), (err: unknown) => {
        assert.deepEqual(apiIds(err), ['TOPIC_ALREADY_EXISTS']);
        return true;
      });
      assert.equal(bus.log.partitionCount('alpha'), 3);

      assert.deepEqual((await admin.listTopics()).sort(), ['alpha', 'beta']);
      assert.ok((await admin.listTopics({ includeInternals: true })).includes('__consumer_offsets'));
      const meta = await admin.metadata({ topics: ['alpha'] });
      const alpha = meta.topics.get('alpha');
      assert.ok(alpha, 'alpha in metadata');
      assert.equal(alpha.partitionsCount, 3);
      assert.deepEqual(alpha.partitions.map((p) => [p.leader, p.replicas]), [0, 1, 2].map(() => [0, [0]]));
      assert.deepEqual([...meta.brokers.values()].map((b) => `${b.host}:${b.port}`), [bootstrap]);

      await admin.createPartitions({ topics: [{ name: 'alpha', count: 5, assignments: [] }] });
      assert.equal(bus.log.partitionCount('alpha'), 5);

      await admin.deleteTopics({ topics: ['alpha'] });
      assert.equal(bus.log.hasTopic('alpha'), false);
      assert.deepEqual(await admin.listTopics(), ['beta']);
      await assert.rejects(admin.deleteTopics({ topics: ['never-was'] }), (err: unknown) => {
        assert.deepEqual(apiIds(err), ['UNKNOWN_TOPIC_OR_PARTITION']);
        return true;
      });

      // Groups: a committed group shows up in listGroups/describeGroups and can be deleted once empty.
      await bus.groups.commitOffsets({ groupId: 'g1', memberId: '', generationId: -1, entries: [{ topic: 'beta', partition: 0, offset: 1 }] });
      assert.ok((await admin.listGroups()).has('g1'));
      const described = (await admin.describeGroups({ groups: ['g1'] })).get('g1');
      assert.equal(described?.state, 'EMPTY');
      await admin.deleteGroups({ groups: ['g1'] });
      assert.equal(committedOffset(bus, 'g1', 'beta', 0), undefined);
    } finally {
      await admin.close();
    }
  }, { autoCreateTopics: false });
});

test('platformatic offsets: consumer commit, listCommittedOffsets, admin list/alter group offsets, listOffsets earliest/latest/by timestamp', TIMEOUT, async () => {
  await withBroker(async ({ bootstrap, bus }) => {
    const topic = 'ledger';
    const group = 'ledger-group';
    await bus.admin().createTopic(topic, { partitions: 2 });
    const baseTs = Date.now() - 3_600_000;
    for (const p of [0, 1]) {
      await bus.log.appendRecords(topic, p, Array.from({ length: 10 }, (_, i) => ({ value: Buffer.from(`p${p}-${i}`), timestamp: baseTs + i * 1000 })));
    }
    const admin = new Admin(base(bootstrap, 'plt-offsets-admin'));
    const consumer = new Consumer({ ...base(bootstrap, 'plt-offsets'), groupId: group, deserializers: stringDeserializers, heartbeatInterval: 200, maxWaitTime: 200 });
    let stream: MessagesStream<string, string, string, string> | undefined;
    try {
      // Topic offsets: latest (-1), earliest (-2), and by timestamp (first offset with timestamp >= ts).
      assert.deepEqual(await consumer.listOffsets({ topics: [topic] }), new Map([[topic, [10n, 10n]]]));
      assert.deepEqual(await consumer.listOffsets({ topics: [topic], timestamp: -2n }), new Map([[topic, [0n, 0n]]]));
      assert.deepEqual(await consumer.listOffsets({ topics: [topic], timestamp: BigInt(baseTs + 4500) }), new Map([[topic, [5n, 5n]]]));
      const withTs = await consumer.listOffsetsWithTimestamps({ topics: [topic], timestamp: BigInt(baseTs + 3000) });
      assert.deepEqual(withTs.get(topic)?.get(0), { offset: 3n, timestamp: BigInt(baseTs + 3000) });
      const listed = await admin.listOffsets({ topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: BigInt(baseTs + 7000) }, { partitionIndex: 1, timestamp: -1n }] }] });
      assert.deepEqual(listed[0]!.partitions.map((p) => [p.partitionIndex, p.offset]).sort(), [[0, 7n], [1, 10n]]);

      // A consumer reads everything and commits explicit offsets.
      stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
      const read: string[] = [];
      stream.on('data', (m) => read.push(`${m.partition}/${m.offset}/${m.value}`));
      await waitUntil('20 records read', () => read.length === 20);
      assert.deepEqual(read.filter((r) => r.startsWith('0/')), Array.from({ length: 10 }, (_, i) => `0/${i}/p0-${i}`));
      await consumer.commit({ offsets: [{ topic, partition: 0, offset: 4n, leaderEpoch: 0 }, { topic, partition: 1, offset: 9n, leaderEpoch: 0 }] });
      assert.equal(committedOffset(bus, group, topic, 0), 4);
      assert.equal(committedOffset(bus, group, topic, 1), 9);
      assert.deepEqual(await consumer.listCommittedOffsets({ topics: [{ topic, partitions: [0, 1] }] }), new Map([[topic, [4n, 9n]]]));
      await stream.close();
      stream = undefined;
      await consumer.close();

      const groupOffsets = async () =>
        (await admin.listConsumerGroupOffsets({ groups: [group] }))[0]!.topics.flatMap((t) => t.partitions.map((p) => [t.name, p.partitionIndex, p.committedOffset])).sort();
      assert.deepEqual(await groupOffsets(), [[topic, 0, 4n], [topic, 1, 9n]]);

      await waitUntil('the group to be empty', async () => (await bus.admin().describeGroup(group)).members === 0);
      await admin.alterConsumerGroupOffsets({ groupId: group, topics: [{ name: topic, partitionOffsets: [{ partition: 0, offset: 8n }, { partition: 1, offset: 6n }] }] });
      assert.deepEqual(await groupOffsets(), [[topic, 0, 8n], [topic, 1, 6n]]);
      assert.equal(committedOffset(bus, group, topic, 0), 8);

      // A new consumer of the group resumes at the altered offsets.
      const again = new Consumer({ ...base(bootstrap, 'plt-offsets-2'), groupId: group, deserializers: stringDeserializers, heartbeatInterval: 200, maxWaitTime: 200 });
      let againStream: MessagesStream<string, string, string, string> | undefined;
      try {
        againStream = await again.consume({ topics: [topic], mode: MessagesStreamModes.COMMITTED, fallbackMode: MessagesStreamFallbackModes.EARLIEST, autocommit: 100 });
        const resumed: string[] = [];
        againStream.on('data', (m) => resumed.push(`${m.partition}/${m.offset}/${m.value}`));
        await waitUntil('6 records after the altered offsets', () => resumed.length >= 6);
        await waitUntil('autocommit to the end', () => committedOffset(bus, group, topic, 0) === 10 && committedOffset(bus, group, topic, 1) === 10);
        assert.deepEqual(resumed.sort(), ['0/8/p0-8', '0/9/p0-9', '1/6/p1-6', '1/7/p1-7', '1/8/p1-8', '1/9/p1-9']);
      } finally {
        await closeAll([again, againStream]);
      }
    } finally {
      await closeAll([admin, consumer, stream]);
    }
  });
});

test('platformatic SASL PLAIN: the right password works, a wrong one fails with an authentication error', TIMEOUT, async () => {
  await withBroker(async ({ bootstrap, bus }) => {
    const sasl = (password: string) => ({ ...base(bootstrap, 'plt-sasl'), retries: 0, sasl: { mechanism: 'PLAIN' as const, username: 'alice', password } });
    const good = new Admin(sasl('secret'));
    try {
      await good.createTopics({ topics: ['secured'], partitions: 1, replicas: 1 });
      assert.ok(bus.log.hasTopic('secured'));
    } finally {
      await good.close();
    }
    const bad = new Admin(sasl('wrong'));
    try {
      await assert.rejects(bad.listTopics(), (err: unknown) => {
        // "Cannot connect to any broker" → "Connection … failed" → the authentication error.
        const chain = errorChain(err);
        assert.ok(chain.some((e) => e.code === 'PLT_KFK_AUTHENTICATION' || e.apiId === 'SASL_AUTHENTICATION_FAILED'), JSON.stringify(chain));
        return true;
      });
    } finally {
      await bad.close();
    }
  }, { sasl: { mechanisms: ['PLAIN'], users: { alice: 'secret' } } });
});
