/**
 * Interop with `node-rdkafka` (its bundled librdkafka 2.12): an idempotent producer with
 * delivery reports, and a KafkaConsumer group with manual commits that a second member resumes
 * exactly after. Each test runs against a fresh broker on loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Kafka from 'node-rdkafka';
import { startTestBroker, type TestBroker } from '../../helpers/kafka-broker.ts';
import { committedOffset, waitUntil } from '../../helpers/kafka-clients.ts';

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

function connect<C extends Kafka.Producer | Kafka.KafkaConsumer>(client: C): Promise<C> {
  return new Promise((resolve, reject) => {
    client.connect({ timeout: 10_000 }, (err) => (err ? reject(new Error(`connect failed: ${err.message}`)) : resolve(client)));
  });
}

/**
 * (Only the Producer's disconnect takes a timeout, to flush first; KafkaConsumer inherits
 * `disconnect(cb)` from Client, so a timeout argument there would swallow the callback.)
 */
function disconnect(client: Kafka.Producer | Kafka.KafkaConsumer): Promise<void> {
  return new Promise((resolve) => {
    if (!client.isConnected()) return resolve();
    if (client instanceof Kafka.Producer) client.disconnect(10_000, () => resolve());
    else client.disconnect(() => resolve());
  });
}

function consumeBatch(consumer: Kafka.KafkaConsumer, max: number): Promise<Kafka.Message[]> {
  return new Promise((resolve, reject) => consumer.consume(max, (err, messages) => (err ? reject(err) : resolve(messages))));
}

/** Consumes until `done(received)` holds. */
async function consumeUntil(consumer: Kafka.KafkaConsumer, what: string, done: (got: Kafka.Message[]) => boolean): Promise<Kafka.Message[]> {
  const got: Kafka.Message[] = [];
  await waitUntil(what, async () => {
    got.push(...(await consumeBatch(consumer, 100)));
    return done(got);
  }, { intervalMs: 0, describe: () => got.map((m) => `${m.partition}/${m.offset}`) });
  return got;
}

/** Record batch v2 producer fields of every stored batch of a partition. */
function storedProducerFields(bus: TestBroker['bus'], topic: string, partition: number) {
  const { batches } = bus.log.read(topic, partition, 0, 64 * 1024 * 1024);
  const out: Array<{ baseOffset: number; producerId: bigint; producerEpoch: number; baseSequence: number; count: number; codec: number }> = [];
  for (let pos = 0; pos + 61 <= batches.length; ) {
    const batchLength = batches.readInt32BE(pos + 8);
    out.push({
      baseOffset: Number(batches.readBigInt64BE(pos)),
      codec: batches.readInt16BE(pos + 21) & 0x07,
      producerId: batches.readBigInt64BE(pos + 43),
      producerEpoch: batches.readInt16BE(pos + 51),
      baseSequence: batches.readInt32BE(pos + 53),
      count: batches.readInt32BE(pos + 57),
    });
    pos += 12 + batchLength;
  }
  return out;
}

test('node-rdkafka idempotent producer (acks=all) gets a delivery report for every record, in order, with sequences', TIMEOUT, async () => {
  await withBroker(async ({ bootstrap, bus }) => {
    const topic = 'payments';
    await bus.admin().createTopic(topic, { partitions: 3 });
    const producer = new Kafka.Producer({
      'metadata.broker.list': bootstrap,
      'client.id': 'rdkafka-idempotent',
      'enable.idempotence': true,
      dr_cb: true,
      'compression.codec': 'snappy',
      'linger.ms': 20,
      'batch.num.messages': 40,
    }, { acks: -1 });
    const reports: Kafka.DeliveryReport[] = [];
    const errors: Kafka.LibrdKafkaError[] = [];
    producer.on('delivery-report', (err, report) => {
      if (err) errors.push(err);
      else reports.push(report);
    });
    producer.on('event.error', (err) => errors.push(err));
    producer.setPollInterval(10);
    try {
      await connect(producer);
      const total = 300;
      for (let i = 0; i < total; i++) {
        // One partition per key group, chosen explicitly so every partition gets several batches.
        producer.produce(topic, i % 3, Buffer.from(`payment-${i}-${'x'.repeat(50)}`), `customer-${i % 3}`, null, { seq: i }, [{ n: String(i) }]);
      }
      await new Promise<void>((resolve, reject) => producer.flush(20_000, (err) => (err ? reject(err) : resolve())));
      await waitUntil('a delivery report for every record', () => reports.length + errors.length >= total);
      assert.deepEqual(errors, []);
      assert.equal(reports.length, total);

      for (const p of [0, 1, 2]) {
        const mine = reports.filter((r) => r.partition === p);
        // Delivery reports come in produce order, with dense offsets from 0.
        assert.deepEqual(mine.map((r) => r.offset), mine.map((_, i) => i), `partition ${p} offsets`);
        assert.deepEqual(mine.map((r) => (r.opaque as { seq: number }).seq), mine.map((_, i) => i * 3 + p), `partition ${p} order`);
        assert.ok(mine.every((r) => r.key?.toString() === `customer-${p}`));

        const stored = bus.log.readRecords(topic, p, 0, { maxRecords: 1000 }).records;
        assert.deepEqual(stored.map((r) => r.value?.toString()), mine.map((_, i) => `payment-${i * 3 + p}-${'x'.repeat(50)}`));
        assert.deepEqual(stored.map((r) => r.headers.map((h) => [h.key, h.value?.toString()])), mine.map((_, i) => [['n', String(i * 3 + p)]]));

        // Idempotent batches: one producer id and epoch, sequences contiguous from 0.
        const batches = storedProducerFields(bus, topic, p);
        assert.ok(batches.length > 1, `several batches on partition ${p}`);
        let nextSequence = 0;
        for (const b of batches) {
          assert.ok(b.producerId >= 0n, 'batch carries the producer id the broker assigned');
          assert.equal(b.producerId, batches[0]!.producerId);
          assert.equal(b.producerEpoch, batches[0]!.producerEpoch);
          assert.equal(b.baseSequence, nextSequence, `partition ${p} sequence`);
          assert.equal(b.codec, 2, 'snappy');
          nextSequence += b.count;
        }
        assert.equal(nextSequence, 100);
      }
    } finally {
      await disconnect(producer);
    }
  });
});

test('node-rdkafka KafkaConsumer commits manually; a second member of the group resumes right after the commit', TIMEOUT, async () => {
  await withBroker(async ({ bootstrap, bus }) => {
    const topic = 'ledger';
    const group = 'ledger-readers';
    await bus.admin().createTopic(topic, { partitions: 2 });
    await Promise.all([0, 1].map((p) =>
      bus.log.appendRecords(topic, p, Array.from({ length: 20 }, (_, i) => ({ key: Buffer.from(`k${p}`), value: Buffer.from(`p${p}-${i}`) }))),
    ));

    const consumerConfig = (clientId: string): Kafka.ConsumerGlobalConfig => ({
      'metadata.broker.list': bootstrap,
      'group.id': group,
      'client.id': clientId,
      'enable.auto.commit': false,
      'session.timeout.ms': 10_000,
      'heartbeat.interval.ms': 300,
    });

    // First member: reads everything, commits only 7 records of partition 0 and 12 of partition 1.
    const first = new Kafka.KafkaConsumer(consumerConfig('first'), { 'auto.offset.reset': 'earliest' });
    const commitAt = new Map([[0, 7], [1, 12]]);
    try {
      await connect(first);
      first.subscribe([topic]);
      const got = await consumeUntil(first, 'the first member to read all 40 records', (g) => g.length >= 40);
      assert.equal(got.length, 40);
      for (const p of [0, 1]) {
        const mine = got.filter((m) => m.partition === p);
        assert.deepEqual(mine.map((m) => m.offset), Array.from({ length: 20 }, (_, i) => i));
        assert.deepEqual(mine.map((m) => m.value?.toString()), Array.from({ length: 20 }, (_, i) => `p${p}-${i}`));
      }
      assert.deepEqual(first.assignments().map((a) => a.partition).sort(), [0, 1]);
      // Asynchronous commit (never commitSync here: it blocks the JS thread until the broker
      // answers, and this broker runs on that same thread).
      first.commit([...commitAt].map(([partition, offset]) => ({ topic, partition, offset })));
      await waitUntil('offsets 7 and 12 committed', () => committedOffset(bus, group, topic, 0) === 7 && committedOffset(bus, group, topic, 1) === 12);
      // OffsetFetch through the client agrees.
      const committed = await new Promise<Kafka.TopicPartitionOffset[]>((resolve, reject) =>
        first.committed([{ topic, partition: 0 }, { topic, partition: 1 }], 10_000, (err, tps) => (err ? reject(err) : resolve(tps))),
      );
      assert.deepEqual(committed.map((t) => [t.partition, t.offset]).sort(), [[0, 7], [1, 12]]);
    } finally {
      await disconnect(first);
    }
    // No auto commit on close: the group keeps exactly what was committed.
    await waitUntil('the first member to leave the group', async () => (await bus.admin().describeGroup(group)).members === 0);
    assert.equal(committedOffset(bus, group, topic, 0), 7);
    assert.equal(committedOffset(bus, group, topic, 1), 12);

    // Second member of the same group: starts at the committed offsets, not at earliest.
    const second = new Kafka.KafkaConsumer(consumerConfig('second'), { 'auto.offset.reset': 'earliest' });
    try {
      await connect(second);
      second.subscribe([topic]);
      const got = await consumeUntil(second, 'the second member to read the uncommitted 21 records', (g) => g.length >= 13 + 8);
      for (const p of [0, 1]) {
        const from = commitAt.get(p)!;
        assert.deepEqual(
          got.filter((m) => m.partition === p).map((m) => [m.offset, m.value?.toString()]),
          Array.from({ length: 20 - from }, (_, i) => [from + i, `p${p}-${from + i}`]),
          `partition ${p} resumes at ${from}`,
        );
      }
      assert.equal(got.length, 21);
      // Commit the rest (the offsets after the last message read).
      second.commit();
      await waitUntil('offset 20 committed on both partitions', () => committedOffset(bus, group, topic, 0) === 20 && committedOffset(bus, group, topic, 1) === 20);
    } finally {
      await disconnect(second);
    }
    const after = await bus.admin().describeGroup(group);
    assert.deepEqual(after.offsets.map((o) => [o.partition, o.committedOffset, o.lag]), [[0, 20, 0], [1, 20, 0]]);
  });
});
