/**
 * Produce: appends the client's record batches unchanged (offsets assigned by the log), and
 * answers once they are durable per the topic's ack policy. acks=0 gets no response at all.
 */
import { MAGIC_V2 } from '../../../log/batch/record-batch.ts';
import type { Message } from '../../protocol/codec.ts';
import { legacyToRecordBatch } from '../../protocol/records/legacy-message-set.ts';
import { allowed, type BrokerContext, type RequestContext } from '../context.ts';
import { ErrorCode, errorCodeOf, errorMessageOf } from '../kafka-errors.ts';

interface PartitionData {
  index: number;
  records: Buffer | null;
}

export async function produce(broker: BrokerContext, req: RequestContext, body: Message): Promise<Message | null> {
  const acks = body.acks as number;
  const topics = body.topicData as Array<{ name: string; partitionData: PartitionData[] }>;
  const results = topics.map((t) => ({
    name: t.name,
    partitionResponses: t.partitionData.map((p) => appendPartition(broker, req, t.name, p, acks)),
  }));
  if (acks === 0) {
    // No answer is expected; still surface failures in the log.
    void Promise.all(results.flatMap((r) => r.partitionResponses)).catch(() => {});
    return null;
  }
  const responses = await Promise.all(results.map(async (r) => ({ name: r.name, partitionResponses: await Promise.all(r.partitionResponses) })));
  return { responses, throttleTimeMs: 0 };
}

async function appendPartition(broker: BrokerContext, req: RequestContext, topic: string, p: PartitionData, acks: number): Promise<Message> {
  const fail = (errorCode: number, errorMessage: string | null = null) => ({
    index: p.index,
    errorCode,
    baseOffset: -1,
    logAppendTimeMs: -1,
    logStartOffset: -1,
    recordErrors: [],
    errorMessage,
  });
  if (acks !== 0 && acks !== 1 && acks !== -1) return fail(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1, 0 or 1, got ${acks}`);
  if (!allowed(broker, req, 'write', 'topic', topic)) return fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  const { log } = broker;
  if (!log.hasTopic(topic) || p.index < 0 || p.index >= log.partitionCount(topic)) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  if (!p.records || p.records.length === 0) return fail(ErrorCode.CORRUPT_MESSAGE, 'the request carries no records');
  try {
    const partition = log.partition(topic, p.index);
    const batches = p.records.length > 16 && p.records[16] === MAGIC_V2 ? p.records : legacyToRecordBatch(p.records, log.clock());
    const res = await partition.append(batches);
    return { index: p.index, errorCode: ErrorCode.NONE, baseOffset: res.baseOffset, logAppendTimeMs: -1, logStartOffset: partition.logStartOffset, recordErrors: [], errorMessage: null };
  } catch (err) {
    const code = errorCodeOf(err);
    if (code === ErrorCode.UNKNOWN_SERVER_ERROR) broker.logger.error({ err, topic, partition: p.index }, 'produce failed');
    return fail(code, errorMessageOf(err));
  }
}
