/** Transaction APIs forwarded to the log's transaction coordinator. */
import type { Message } from '../../protocol/codec.ts';
import { allowed, type BrokerContext, type RequestContext } from '../context.ts';
import { ErrorCode, errorCodeOf } from '../kafka-errors.ts';

async function codeOf(fn: () => Promise<void>): Promise<number> {
  try {
    await fn();
    return ErrorCode.NONE;
  } catch (err) {
    return errorCodeOf(err);
  }
}

export async function addPartitionsToTxn(broker: BrokerContext, req: RequestContext, body: Message): Promise<Message> {
  const id = body.v3AndBelowTransactionalId as string;
  const pid = body.v3AndBelowProducerId as number;
  const epoch = body.v3AndBelowProducerEpoch as number;
  const topics = body.v3AndBelowTopics as Array<{ name: string; partitions: number[] }>;
  const denied = topics.filter((t) => !allowed(broker, req, 'write', 'topic', t.name)).map((t) => t.name);
  const unknown = topics.filter((t) => !broker.log.hasTopic(t.name) || t.partitions.some((p) => p < 0 || p >= broker.log.partitionCount(t.name)));
  let code: number = ErrorCode.NONE;
  if (denied.length === 0 && unknown.length === 0) {
    code = await codeOf(() => broker.txns.addPartitions(id, pid, epoch, topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })))));
  }
  return {
    throttleTimeMs: 0,
    resultsByTopicV3AndBelow: topics.map((t) => ({
      name: t.name,
      resultsByPartition: t.partitions.map((partitionIndex) => ({
        partitionIndex,
        partitionErrorCode: denied.includes(t.name)
          ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
          : unknown.includes(t)
            ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            : denied.length > 0 || unknown.length > 0
              ? OPERATION_NOT_ATTEMPTED
              : code,
      })),
    })),
  };
}

/** Kafka's OPERATION_NOT_ATTEMPTED: another partition of the request failed. */
const OPERATION_NOT_ATTEMPTED = 55;

export async function addOffsetsToTxn(broker: BrokerContext, req: RequestContext, body: Message): Promise<Message> {
  const groupId = body.groupId as string;
  if (!allowed(broker, req, 'read', 'group', groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
  // Offsets arrive later through TxnOffsetCommit; this only checks the producer and opens the transaction.
  const errorCode = await codeOf(() => broker.txns.addOffsets(body.transactionalId as string, body.producerId as number, body.producerEpoch as number, groupId, []));
  return { throttleTimeMs: 0, errorCode };
}

export async function txnOffsetCommit(broker: BrokerContext, req: RequestContext, body: Message): Promise<Message> {
  const groupId = body.groupId as string;
  const topics = body.topics as Array<{ name: string; partitions: Array<{ partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }> }>;
  let code: number = ErrorCode.NONE;
  if (!allowed(broker, req, 'read', 'group', groupId)) code = ErrorCode.GROUP_AUTHORIZATION_FAILED;
  else {
    const entries = topics.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata })),
    );
    code = await codeOf(() => broker.txns.addOffsets(body.transactionalId as string, body.producerId as number, body.producerEpoch as number, groupId, entries));
  }
  return { throttleTimeMs: 0, topics: topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })) })) };
}

export async function endTxn(broker: BrokerContext, _req: RequestContext, body: Message): Promise<Message> {
  const errorCode = await codeOf(() => broker.txns.endTxn(body.transactionalId as string, body.producerId as number, body.producerEpoch as number, body.committed as boolean));
  return { throttleTimeMs: 0, errorCode, producerId: -1, producerEpoch: -1 };
}
