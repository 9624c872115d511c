/** Kafka transactions through the wire protocol, with kafkajs (a client no one here wrote). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { startTestBroker } from '../../helpers/kafka-broker.ts';

async function readAll(kafka: Kafka, topic: string, readUncommitted: boolean, expect: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `reader-${readUncommitted}-${Math.random()}`, readUncommitted, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  try {
    await new Promise<void>((resolve) => {
      const done = setTimeout(resolve, 3000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value!.toString());
          if (seen.length >= expect) {
            clearTimeout(done);
            // Give a moment for anything beyond the expectation to show up as well.
            setTimeout(resolve, 300);
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return seen.sort();
}

test('kafkajs transactions: commit is visible to read_committed consumers, abort never; offsets commit with the transaction', async () => {
  const broker = await startTestBroker();
  const kafka = new Kafka({ clientId: 'txn-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ transactionalId: 'kjs-txn', idempotent: true, maxInFlightRequests: 1 });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'txn-out', numPartitions: 2 }, { topic: 'txn-in', numPartitions: 1 }] });
    await producer.connect();

    const t1 = await producer.transaction();
    await t1.send({ topic: 'txn-out', messages: [{ key: 'a', value: 'committed-1' }, { key: 'b', value: 'committed-2' }] });
    await t1.sendOffsets({ consumerGroupId: 'eos-group', topics: [{ topic: 'txn-in', partitions: [{ partition: 0, offset: '42' }] }] });
    await t1.commit();

    const t2 = await producer.transaction();
    await t2.send({ topic: 'txn-out', messages: [{ key: 'a', value: 'aborted-1' }] });
    await t2.sendOffsets({ consumerGroupId: 'eos-group', topics: [{ topic: 'txn-in', partitions: [{ partition: 0, offset: '99' }] }] });
    await t2.abort();

    const committed = await readAll(kafka, 'txn-out', false, 2);
    assert.deepEqual(committed, ['committed-1', 'committed-2']);
    const everything = await readAll(kafka, 'txn-out', true, 3);
    assert.deepEqual(everything, ['aborted-1', 'committed-1', 'committed-2'], 'read_uncommitted sees the aborted record too');
    const offsets = await admin.fetchOffsets({ groupId: 'eos-group', topics: ['txn-in'] });
    assert.equal(offsets[0]!.partitions[0]!.offset, '42', 'only the committed transaction moved the group offset');
    for (let p = 0; p < 2; p++) {
      const part = broker.bus.log.partition('txn-out', p);
      assert.equal(part.lastStableOffset, part.highWatermark, `partition ${p}: nothing left open`);
    }
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    await broker.close();
  }
});
