/** ListOffsets: earliest (-2), latest (-1), max timestamp (-3), or the first offset at a timestamp. */
import type { Message } from '../../protocol/codec.ts';
import { allowed, type BrokerContext, type RequestContext } from '../context.ts';
import { ErrorCode, errorCodeOf } from '../kafka-errors.ts';

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;

export function listOffsets(broker: BrokerContext, req: RequestContext, body: Message): Message {
  const { log } = broker;
  const version = req.header.apiVersion;
  const readCommitted = (body.isolationLevel as number) === 1;
  const topics = body.topics as Array<{ name: string; partitions: Array<{ partitionIndex: number; timestamp: number }> }>;
  return {
    throttleTimeMs: 0,
    topics: topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const answer = (errorCode: number, offset = -1, timestamp = -1) => ({
          partitionIndex: p.partitionIndex,
          errorCode,
          oldStyleOffsets: offset >= 0 ? [offset] : [],
          timestamp,
          offset,
          leaderEpoch: errorCode === ErrorCode.NONE ? 0 : -1,
        });
        if (!allowed(broker, req, 'describe', 'topic', t.name)) return answer(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        if (!log.hasTopic(t.name) || p.partitionIndex < 0 || p.partitionIndex >= log.partitionCount(t.name)) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        try {
          const part = log.partition(t.name, p.partitionIndex);
          if (p.timestamp === LATEST) return answer(ErrorCode.NONE, readCommitted ? part.lastStableOffset : part.highWatermark);
          if (p.timestamp === EARLIEST) return answer(ErrorCode.NONE, part.logStartOffset);
          if (p.timestamp === MAX_TIMESTAMP) {
            const found = part.offsetOfMaxTimestamp();
            return found ? answer(ErrorCode.NONE, found.offset, found.timestamp) : answer(ErrorCode.NONE);
          }
          if (version === 0) return answer(ErrorCode.NONE, part.highWatermark);
          const found = part.offsetForTimestamp(p.timestamp);
          return found ? answer(ErrorCode.NONE, found.offset, found.timestamp) : answer(ErrorCode.NONE);
        } catch (err) {
          return answer(errorCodeOf(err));
        }
      }),
    })),
  };
}
