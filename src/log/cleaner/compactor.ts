/**
 * Log compaction: keeps the latest record per key in closed segments.
 *
 * Pass 1 builds key → latest offset over every visible record (closed and active segments).
 * Pass 2 rewrites each closed segment that holds superseded records: each surviving batch
 * keeps its records' original offsets (through offset deltas), producer fields and
 * compression; a batch left empty is dropped and the next surviving batch starts earlier to
 * cover its offsets, so batches stay contiguous within the segment and the segment still ends
 * where the next one begins (recovery treats any other jump in offsets as corruption).
 * Tombstones (null values) older than deleteRetentionMs are removed.
 *
 * Crash safety: the rewrite goes to `<segment>.cleaned`, is fsynced, then renamed over the
 * segment and the directory fsynced; recovery deletes a leftover `.cleaned`. Appends never
 * wait: the active segment is never touched, and the work yields between segments.
 */
import type { Logger } from 'pino';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Attr, decodeBatchRecords, encodeRecordBatch, readBatchHeader } from '../batch/record-batch.ts';
import type { LogMetrics } from '../metrics.ts';
import type { PartitionLog } from '../partition/partition-log.ts';
import type { Segment } from '../segment/segment.ts';
import type { LogRecord } from '../types.ts';

export interface CompactionStats {
  segmentsRewritten: number;
  recordsRemoved: number;
}

export async function compactPartition(p: PartitionLog, now: number, logger: Logger, metrics: LogMetrics): Promise<CompactionStats> {
  const stats: CompactionStats = { segmentsRewritten: 0, recordsRemoved: 0 };
  const cfg = p.ctx.config();
  const candidates = p.segments
    .slice(0, -1)
    .filter((s) => !p.isSegmentBusy(s) && s.maxTimestamp <= now - cfg.minCompactionLagMs);
  if (candidates.length === 0) return stats;

  const hw = p.highWatermark;
  const latest = new Map<string, number>();
  for (const seg of p.segments) {
    seg.forEachBatch((buf, pos) => {
      const h = readBatchHeader(buf, pos);
      if (h.attributes & Attr.control || h.baseOffset >= hw) return;
      for (const r of decodeBatchRecords(buf, pos)) {
        if (r.key !== null && r.offset < hw) latest.set(r.key.toString('latin1'), r.offset);
      }
    });
    await yieldToLoop();
  }

  const tombstoneHorizon = now - cfg.deleteRetentionMs;
  for (const seg of candidates) {
    const rewritten = rewriteSegment(seg, latest, tombstoneHorizon);
    if (!rewritten) continue;
    const cleanedPath = `${seg.path}.cleaned`;
    const fh = p.ctx.fs.open(cleanedPath, { create: true });
    try {
      fh.truncate(0);
      let pos = 0;
      for (const b of rewritten.batches) {
        fh.write(b, 0, b.length, pos);
        pos += b.length;
      }
      await fh.datasync();
    } finally {
      fh.close();
    }
    const swapped = await p.swapSegment(seg, cleanedPath);
    if (swapped) {
      stats.segmentsRewritten++;
      stats.recordsRemoved += rewritten.removed;
    }
    await yieldToLoop();
  }
  if (stats.recordsRemoved > 0) {
    metrics.compacted(p.topic, stats.recordsRemoved);
    logger.debug({ topic: p.topic, partition: p.partition, ...stats }, 'compacted');
  }
  return stats;
}

function rewriteSegment(seg: Segment, latest: Map<string, number>, tombstoneHorizon: number): { batches: Buffer[]; removed: number } | null {
  const batches: Buffer[] = [];
  let removed = 0;
  // Offsets stay contiguous: each written batch starts where the previous one ended and
  // absorbs the offsets of dropped batches before it (recovery relies on this to tell a
  // corrupted base offset from a legitimate gap).
  let expectedBase = seg.baseOffset;
  let lastMaxTimestamp = -1;
  seg.forEachBatch((buf, pos, size) => {
    const h = readBatchHeader(buf, pos);
    lastMaxTimestamp = Math.max(lastMaxTimestamp, h.maxTimestamp);
    const records = decodeBatchRecords(buf, pos);
    const control = (h.attributes & Attr.control) !== 0;
    const kept: LogRecord[] = control
      ? records
      : records.filter((r) => {
          if (r.key === null) return true;
          if (latest.get(r.key.toString('latin1')) !== r.offset) return false;
          return !(r.value === null && r.timestamp < tombstoneHorizon);
        });
    removed += records.length - kept.length;
    if (kept.length === 0) return;
    const batchLast = h.baseOffset + h.lastOffsetDelta;
    if (kept.length === records.length && expectedBase === h.baseOffset) batches.push(Buffer.from(buf.subarray(pos, pos + size)));
    else batches.push(reencode(h, kept, expectedBase, batchLast));
    expectedBase = batchLast + 1;
  });
  if (removed === 0) return null;
  // Dropped batches at the end: one empty batch keeps the segment ending where the next begins.
  if (expectedBase < seg.nextOffset) {
    batches.push(encodeRecordBatch([], { baseOffset: expectedBase, lastOffsetDelta: seg.nextOffset - 1 - expectedBase, now: Math.max(lastMaxTimestamp, 0) }));
  }
  return { batches, removed };
}

function reencode(h: ReturnType<typeof readBatchHeader>, kept: LogRecord[], base: number, last: number): Buffer {
  return encodeRecordBatch(
    kept.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })),
    {
      baseOffset: base,
      now: h.maxTimestamp,
      compression: h.attributes & Attr.compressionMask,
      producerId: h.producerId,
      producerEpoch: h.producerEpoch,
      baseSequence: h.baseSequence,
      transactional: (h.attributes & Attr.transactional) !== 0,
      control: (h.attributes & Attr.control) !== 0,
      offsetDeltas: kept.map((r) => r.offset - base),
      lastOffsetDelta: last - base,
    },
  );
}
