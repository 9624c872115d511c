/** Retention: deletes whole closed segments by age, by partition size, and below the log start offset. */
import type { PartitionLog } from '../partition/partition-log.ts';
import type { TopicConfig } from '../types.ts';

export async function applyRetention(p: PartitionLog, cfg: TopicConfig, now: number): Promise<number> {
  let deleted = 0;
  if (cfg.cleanupPolicy.includes('delete')) {
    if (cfg.retentionMs !== null) {
      const horizon = now - cfg.retentionMs;
      // A segment's age is that of its newest record (Kafka's rule), so late-arriving old
      // timestamps never delete fresh data.
      deleted += await p.deleteSegmentsWhile((seg) => seg.maxTimestamp < horizon);
    }
    if (cfg.retentionBytes !== null) {
      let size = p.sizeBytes();
      const limit = cfg.retentionBytes;
      deleted += await p.deleteSegmentsWhile((seg) => {
        if (size - seg.size < limit) return false;
        size -= seg.size;
        return true;
      });
    }
  }
  deleted += await p.deleteSegmentsWhile((_seg, next) => next !== undefined && next.baseOffset <= p.logStartOffset);
  return deleted;
}
