/**
 * Log compaction: keeps the latest record per key in closed segments.
 *
 * Pass 1 builds key → latest offset over every visible record (closed and active segments).
 * Pass 2 rewrites each closed segment that holds superseded records: each batch keeps its
 * base offset, last offset delta, producer fields and compression, with only the surviving
 * records (original offsets are preserved through offset deltas). A batch left empty is
 * dropped, except a segment's last batch, which stays as an empty batch so the segment still
 * ends where the next one begins (recovery treats a gap between segments as data loss).
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
  type Header = ReturnType<typeof readBatchHeader>;
  let lastDropped = null as Header | null;
  seg.forEachBatch((buf, pos, size) => {
    const h = readBatchHeader(buf, pos);
    const original = buf.subarray(pos, pos + size);
    if (h.attributes & Attr.control) {
      batches.push(Buffer.from(original));
      lastDropped = null;
      return;
    }
    const records = decodeBatchRecords(buf, pos);
    const kept: LogRecord[] = records.filter((r) => {
      if (r.key === null) return true;
      if (latest.get(r.key.toString('latin1')) !== r.offset) return false;
      return !(r.value === null && r.timestamp < tombstoneHorizon);
    });
    removed += records.length - kept.length;
    if (kept.length === records.length) {
      batches.push(Buffer.from(original));
      lastDropped = null;
      return;
    }
    if (kept.length === 0) {
      lastDropped = h;
      return;
    }
    batches.push(reencode(h, kept));
    lastDropped = null;
  });
  if (removed === 0) return null;
  // Keep the segment's end offset: an empty batch spanning the dropped last batch.
  if (lastDropped !== null) batches.push(reencode(lastDropped, []));
  return { batches, removed };
}

function reencode(h: ReturnType<typeof readBatchHeader>, kept: LogRecord[]): Buffer {
  return encodeRecordBatch(
    kept.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })),
    {
      baseOffset: h.baseOffset,
      now: h.maxTimestamp,
      compression: h.attributes & Attr.compressionMask,
      producerId: h.producerId,
      producerEpoch: h.producerEpoch,
      baseSequence: h.baseSequence,
      transactional: (h.attributes & Attr.transactional) !== 0,
      offsetDeltas: kept.map((r) => r.offset - h.baseOffset),
      lastOffsetDelta: h.lastOffsetDelta,
    },
  );
}
