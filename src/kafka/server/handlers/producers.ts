/** InitProducerId (idempotent and transactional producers) and OffsetForLeaderEpoch. */
import { LEADER_EPOCH } from '../../../log/partition/partition-log.ts';
import type { Message } from '../../protocol/codec.ts';
import { allowed, type BrokerContext, type RequestContext } from '../context.ts';
import { ErrorCode, errorCodeOf } from '../kafka-errors.ts';

export async function initProducerId(broker: BrokerContext, req: RequestContext, body: Message): Promise<Message> {
  const transactionalId = body.transactionalId as string | null;
  if (transactionalId !== null) {
    if (!allowed(broker, req, 'write', 'cluster', `transactional-id:${transactionalId}`)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 };
    }
    try {
      const id = await broker.txns.initProducerId(transactionalId, body.transactionTimeoutMs as number);
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, ...id };
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: errorCodeOf(err), producerId: -1, producerEpoch: -1 };
    }
  }
  if (!allowed(broker, req, 'write', 'cluster', 'kafka-cluster')) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 };
  }
  // Without a transactional id every request gets a fresh producer id, as Kafka's coordinator
  // does: the id and epoch a client sends are not trusted (@platformatic/kafka sends 0/0 from
  // every new producer, and bumping that epoch would hand one id to all of them).
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: await broker.producerIds.allocate(), producerEpoch: 0 };
}

export function offsetForLeaderEpoch(broker: BrokerContext, req: RequestContext, body: Message): Message {
  const { log } = broker;
  const topics = body.topics as Array<{ topic: string; partitions: Array<{ partition: number; leaderEpoch: number }> }>;
  return {
    throttleTimeMs: 0,
    topics: topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => {
        if (!allowed(broker, req, 'describe', 'topic', t.topic)) return { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, partition: p.partition, leaderEpoch: -1, endOffset: -1 };
        if (!log.hasTopic(t.topic) || p.partition < 0 || p.partition >= log.partitionCount(t.topic)) {
          return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, partition: p.partition, leaderEpoch: -1, endOffset: -1 };
        }
        // One epoch for the partition's whole life: every offset up to the end belongs to it.
        const part = log.partition(t.topic, p.partition);
        if (p.leaderEpoch > LEADER_EPOCH || p.leaderEpoch < 0) return { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: -1, endOffset: -1 };
        return { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: LEADER_EPOCH, endOffset: part.logEndOffset };
      }),
    })),
  };
}
