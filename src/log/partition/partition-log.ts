/**
 * One partition of a topic: an ordered list of segments, the only writer of its files.
 *
 * Append path: validate → assign offsets → write to the active segment (page cache) → wait
 * for the group commit. Group commit: the first append after an idle period schedules a
 * flush on the next turn of the event loop; the flush fdatasyncs every segment written since
 * the last flush (and the directory if a segment was created), then acknowledges every
 * append whose records it covered. Appends arriving while a flush is in flight are covered by
 * the next one, so one fsync acknowledges everything that arrived meanwhile.
 *
 * Offsets: logStartOffset ≤ highWatermark ≤ logEndOffset. Consumers see offsets below the
 * high watermark only: with the `fsync` ack policy that is the durable prefix, so no consumer
 * ever reads a record a power cut could take back. `relaxed` topics expose appends at once.
 *
 * A failed fsync poisons the partition (appends fail until restart): after an fsync error the
 * page cache can no longer be trusted to match the disk (PostgreSQL's "fsyncgate").
 */
import type { Logger } from 'pino';
import type { FileSystem } from '../fs/file-system.ts';
import { joinPath } from '../fs/file-system.ts';
import {
  Attr,
  LOG_OVERHEAD,
  batchTotalSize,
  checkBatch,
  decodeBatchRecords,
  readBatchHeader,
  setBatchBaseOffset,
  batchRecordCount,
  batchMaxTimestamp,
  batchBaseOffset,
  BATCH_HEADER_SIZE,
  validateBatchRecords,
} from '../batch/record-batch.ts';
import { LogError, storageError } from '../errors.ts';
import { readInt64 } from '../batch/int64.ts';
import { encodeRecordBatch } from '../batch/record-batch.ts';
import type { LogMetrics } from '../metrics.ts';
import { Segment, parseSegmentFileName } from '../segment/segment.ts';
import type { AppendResult, LogRecord, PartitionDescription, ReadResult, TopicConfig } from '../types.ts';
import { ProducerState, type ProducerSnapshot } from './producer-state.ts';
import { TxnIndex, type TxnRange, type TxnSnapshot } from './txn-index.ts';

/** Control record types of transaction markers (the key's second int16). */
export const CONTROL_ABORT = 0;
export const CONTROL_COMMIT = 1;

export interface PartitionContext {
  fs: FileSystem;
  dir: string;
  topic: string;
  partition: number;
  config: () => TopicConfig;
  clock: () => number;
  logger: Logger;
  metrics: LogMetrics;
  /** Persists the log start offset durably (the Log's checkpoint). */
  persistLogStartOffset: () => Promise<void>;
}

/** This single-node log is always led by epoch 0 (what Metadata and OffsetForLeaderEpoch report). */
export const LEADER_EPOCH = 0;

interface AckWaiter {
  offset: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface DataWaiter {
  offset: number;
  resolve: (ready: boolean) => void;
  timer: NodeJS.Timeout | null;
}

export interface RecoveryReport {
  segments: number;
  validatedSegments: number;
  truncatedBytes: number;
  removedSegments: number;
  reason: string | null;
}

export interface ReadRecordsResult {
  records: LogRecord[];
  /** Offset to read next. */
  nextOffset: number;
  highWatermark: number;
  bytes: number;
}

export class PartitionLog {
  segments: Segment[] = [];
  logStartOffset = 0;
  /** The highest start offset a completed checkpoint holds (DeleteRecords answers only from it). */
  private durableLogStartOffset = 0;
  logEndOffset = 0;
  highWatermark = 0;
  /** Every offset below this is on disk. */
  durableOffset = 0;
  producers = new ProducerState();
  txns = new TxnIndex();

  private readonly unsynced = new Set<Segment>();
  /** Segments whose fdatasync is in flight: the cleaner must not close them. */
  readonly syncing = new Set<Segment>();
  private dirDirty = false;
  private ackWaiters: AckWaiter[] = [];
  private ackHead = 0;
  private dataWaiters = new Set<DataWaiter>();
  private flushScheduled = false;
  /** True from the start of a group-commit loop until it exits (set synchronously, so an
   * append made by an ack callback always sees whether a loop will still pick it up). */
  private flushActive = false;
  private flushing: Promise<void> | null = null;
  private failed: LogError | null = null;
  private closed = false;
  private relaxedTimer: NodeJS.Timeout | null = null;

  private constructor(readonly ctx: PartitionContext) {}

  get topic(): string {
    return this.ctx.topic;
  }
  get partition(): number {
    return this.ctx.partition;
  }
  get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /**
   * Opens (and recovers) the partition in `ctx.dir`. Segments wholly below `recoveryPoint`
   * were fsynced and are trusted; every later one is validated batch by batch.
   */
  static async open(
    ctx: PartitionContext,
    checkpoint: { recoveryPoint: number | null; logStartOffset: number | null; producers?: ProducerSnapshot; txns?: TxnSnapshot },
  ): Promise<{ log: PartitionLog; report: RecoveryReport }> {
    const p = new PartitionLog(ctx);
    p.producers = ProducerState.fromSnapshot(checkpoint.recoveryPoint === null ? undefined : checkpoint.producers);
    p.txns = TxnIndex.fromSnapshot(checkpoint.recoveryPoint === null ? undefined : checkpoint.txns);
    const report = await p.recover(checkpoint.recoveryPoint);
    p.logStartOffset = Math.max(checkpoint.logStartOffset ?? 0, p.segments[0]!.baseOffset);
    if (p.logStartOffset > p.logEndOffset) p.logStartOffset = p.logEndOffset;
    p.durableLogStartOffset = p.logStartOffset;
    p.startRelaxedTimer();
    return { log: p, report };
  }

  private async recover(recoveryPoint: number | null): Promise<RecoveryReport> {
    const { fs, dir } = this.ctx;
    const maxBatch = Math.max(this.ctx.config().maxRecordBytes, 1) * 2 + 1024 * 1024;
    const bases: number[] = [];
    for (const name of fs.readdir(dir)) {
      const base = parseSegmentFileName(name);
      if (base !== null) bases.push(base);
      else if (name.endsWith('.cleaned') || name.endsWith('.tmp')) fs.unlink(joinPath(dir, name));
    }
    bases.sort((a, b) => a - b);
    const report: RecoveryReport = { segments: bases.length, validatedSegments: 0, truncatedBytes: 0, removedSegments: 0, reason: null };
    let touched = false;
    const validated: Segment[] = [];
    for (let i = 0; i < bases.length; i++) {
      const seg = Segment.open(fs, dir, bases[i]!);
      const nextBase = bases[i + 1];
      const trusted = recoveryPoint !== null && nextBase !== undefined && nextBase <= recoveryPoint && seg.loadIndexFile();
      if (!trusted) {
        const outcome = seg.recover(maxBatch, (buf, pos) => this.rememberProducerBatch(buf, pos, 0));
        report.validatedSegments++;
        validated.push(seg);
        if (outcome.truncatedBytes > 0) {
          report.truncatedBytes += outcome.truncatedBytes;
          report.reason = outcome.reason;
          touched = true;
          this.ctx.logger.warn(
            { topic: this.topic, partition: this.partition, segment: seg.baseOffset, truncatedBytes: outcome.truncatedBytes, reason: outcome.reason },
            'recovery truncated a torn or corrupt segment tail',
          );
        }
      }
      this.segments.push(seg);
      // A hole (a truncated middle segment, or one whose data never reached the disk) means
      // everything after it was never acknowledged: drop it, as Kafka does.
      if (nextBase !== undefined && seg.nextOffset !== nextBase) {
        for (let j = i + 1; j < bases.length; j++) {
          const later = Segment.open(fs, dir, bases[j]!);
          later.delete();
          report.removedSegments++;
        }
        touched = true;
        this.ctx.logger.warn(
          { topic: this.topic, partition: this.partition, segment: seg.baseOffset, removed: bases.length - i - 1 },
          'recovery removed segments that followed a gap',
        );
        break;
      }
    }
    if (this.segments.length === 0) {
      this.segments.push(Segment.create(fs, dir, recoveryPoint ?? 0));
      this.dirDirty = true;
    }
    this.logEndOffset = this.active.nextOffset;
    // What recovery found past the recovery point may still be only in the page cache (a crash
    // of the process, not of the machine), file contents and directory entries alike: make it
    // durable before anyone reads it or builds on it.
    await Promise.all(validated.filter((s) => this.segments.includes(s)).map((s) => Promise.resolve().then(() => s.file.datasync())));
    if (touched || this.dirDirty || validated.length > 0) await fs.syncDir(dir);
    this.dirDirty = false;
    this.durableOffset = this.logEndOffset;
    this.highWatermark = this.logEndOffset;
    return report;
  }

  private startRelaxedTimer(): void {
    if (this.ctx.config().ackPolicy !== 'relaxed') return;
    this.relaxedTimer = setInterval(() => this.requestFlush(), this.ctx.config().flushIntervalMs);
    this.relaxedTimer.unref();
  }

  /** Re-reads the config (ack policy, flush interval) after an alter. */
  configChanged(): void {
    if (this.relaxedTimer) clearInterval(this.relaxedTimer);
    this.relaxedTimer = null;
    this.startRelaxedTimer();
  }

  /**
   * Appends one or more whole record batches. The log assigns offsets by rewriting each
   * batch's base offset in `buf` (the CRC does not cover it). `trusted` skips the CRC check
   * for batches this process encoded itself.
   */
  append(buf: Buffer, opts: { trusted?: boolean } = {}): Promise<AppendResult> {
    try {
      return this.appendNow(buf, opts);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private appendNow(buf: Buffer, opts: { trusted?: boolean }): Promise<AppendResult> {
    this.assertWritable();
    const cfg = this.ctx.config();
    let pos = 0;
    let records = 0;
    while (pos < buf.length) {
      if (buf.length - pos < BATCH_HEADER_SIZE) {
        throw new LogError('BATCH_INVALID', `record batch data ends after ${buf.length - pos} bytes, inside a batch header`);
      }
      const size = batchTotalSize(buf, pos);
      if (size > cfg.maxRecordBytes) {
        throw new LogError(
          'RECORD_TOO_LARGE',
          `record batch of ${size} bytes exceeds maxRecordBytes ${cfg.maxRecordBytes} of topic ${this.topic}: send smaller records or raise the topic's maxRecordBytes`,
        );
      }
      if (!opts.trusted) {
        const check = checkBatch(buf, pos, buf.length, cfg.maxRecordBytes);
        if (!check.ok) throw new LogError('BATCH_INVALID', `invalid record batch for ${this.topic}-${this.partition}: ${check.reason}`);
        // Producers' batches cover exactly their records (Kafka's LogValidator); only compaction leaves gaps.
        const count = batchRecordCount(buf, pos);
        const lastOffsetDelta = buf.readInt32BE(pos + 23);
        if (count === 0 || lastOffsetDelta !== count - 1) {
          throw new LogError('BATCH_INVALID', `invalid record batch for ${this.topic}-${this.partition}: lastOffsetDelta ${lastOffsetDelta} does not match ${count} records`);
        }
        const problem = validateBatchRecords(buf, pos);
        if (problem) throw new LogError('BATCH_INVALID', `invalid records in batch for ${this.topic}-${this.partition}: ${problem}`);
      }
      records += batchRecordCount(buf, pos);
      pos += size;
    }
    const now = this.ctx.clock();
    if (!opts.trusted) {
      const duplicate = this.checkSequences(buf);
      if (duplicate) return duplicate;
    } else {
      for (let p = 0; p < buf.length; p += batchTotalSize(buf, p)) {
        const pid = readInt64(buf, p + 43);
        if (pid >= 0) this.producers.checkEpoch(pid, buf.readInt16BE(p + 51), `${this.topic}-${this.partition}`);
      }
    }
    this.maybeRoll(buf.length, now);
    const base = this.logEndOffset;
    let next = base;
    let maxTs = -1;
    for (pos = 0; pos < buf.length; pos += batchTotalSize(buf, pos)) {
      setBatchBaseOffset(buf, pos, next);
      buf.writeInt32BE(LEADER_EPOCH, pos + 12); // partitionLeaderEpoch, outside the CRC as the offset is
      next += buf.readInt32BE(pos + 23) + 1;
      const ts = batchMaxTimestamp(buf, pos);
      if (ts > maxTs) maxTs = ts;
      this.rememberProducerBatch(buf, pos, now);
    }
    const seg = this.active;
    const before = seg.size;
    try {
      seg.append(buf, base, next - 1, maxTs, now);
    } catch (err) {
      try {
        seg.truncateTo(before);
      } catch {
        // The next recovery truncates the torn tail instead.
      }
      throw storageError(err, `appending to ${this.topic}-${this.partition}`);
    }
    this.logEndOffset = next;
    this.unsynced.add(seg);
    this.ctx.metrics.appended(this.topic, records, buf.length);
    const result: AppendResult = { baseOffset: base, lastOffset: next - 1, logAppendTime: now };
    if (cfg.ackPolicy === 'relaxed') {
      this.advanceHighWatermark(next);
      return Promise.resolve(result);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.ackWaiters.push({ offset: next, resolve: () => resolve(result), reject });
      this.requestFlush();
    });
  }

  /**
   * Idempotent producers: a retried batch resolves with the original offsets once they are
   * durable; a fenced epoch or a sequence gap throws.
   */
  private checkSequences(buf: Buffer): Promise<AppendResult> | null {
    for (let pos = 0; pos < buf.length; pos += batchTotalSize(buf, pos)) {
      const pid = readInt64(buf, pos + 43);
      const baseSequence = buf.readInt32BE(pos + 53);
      if (pid < 0 || baseSequence < 0) continue;
      const check = this.producers.check(pid, buf.readInt16BE(pos + 51), baseSequence, batchRecordCount(buf, pos), `${this.topic}-${this.partition}`);
      if (check.kind === 'duplicate') {
        const { firstOffset, lastOffset } = check.entry;
        const result: AppendResult = { baseOffset: firstOffset, lastOffset, logAppendTime: -1 };
        if (lastOffset < this.highWatermark) return Promise.resolve(result);
        return new Promise((resolve, reject) => {
          this.ackWaiters.push({ offset: lastOffset + 1, resolve: () => resolve(result), reject });
          this.requestFlush();
        });
      }
    }
    return null;
  }

  /** Producer and transaction bookkeeping for a batch just appended (or replayed by recovery). */
  private rememberProducerBatch(buf: Buffer, pos: number, now: number): void {
    const pid = readInt64(buf, pos + 43);
    if (pid < 0) return;
    const attributes = buf.readInt16BE(pos + 21);
    const firstOffset = batchBaseOffset(buf, pos);
    this.producers.seenEpoch(pid, buf.readInt16BE(pos + 51));
    if (attributes & Attr.transactional) {
      if (attributes & Attr.control) {
        const marker = decodeBatchRecords(buf, pos)[0];
        const type = marker?.key && marker.key.length >= 4 ? marker.key.readInt16BE(2) : -1;
        if (type === CONTROL_ABORT || type === CONTROL_COMMIT) this.txns.end(pid, firstOffset, type === CONTROL_ABORT);
        return;
      }
      this.txns.begin(pid, firstOffset);
    }
    const baseSequence = buf.readInt32BE(pos + 53);
    if (baseSequence < 0) return;
    const count = batchRecordCount(buf, pos);
    this.producers.record(pid, {
      epoch: buf.readInt16BE(pos + 51),
      firstSeq: baseSequence,
      lastSeq: (baseSequence + Math.max(count, 1) - 1) % 2147483648,
      firstOffset,
      lastOffset: firstOffset + buf.readInt32BE(pos + 23),
      timestamp: now || batchMaxTimestamp(buf, pos),
    });
  }

  private assertWritable(): void {
    if (this.closed) throw new LogError('LOG_CLOSED', `partition ${this.topic}-${this.partition} is closed`);
    if (this.failed) throw this.failed;
  }

  private maybeRoll(incoming: number, now: number): void {
    const seg = this.active;
    if (seg.size === 0) return;
    const cfg = this.ctx.config();
    const full = seg.size + incoming > cfg.segmentBytes;
    const old = cfg.segmentMs !== null && seg.firstAppendAt !== null && now - seg.firstAppendAt >= cfg.segmentMs;
    if (!full && !old) return;
    this.roll();
  }

  /** Closes the active segment and starts a new one at the log end offset. */
  roll(): void {
    const old = this.active;
    if (old.size === 0) return;
    try {
      old.writeIndexFile();
    } catch (err) {
      this.ctx.logger.warn({ err, segment: old.path }, 'could not write segment index (it will be rebuilt on recovery)');
    }
    try {
      this.segments.push(Segment.create(this.ctx.fs, this.ctx.dir, this.logEndOffset));
    } catch (err) {
      throw storageError(err, `creating a segment for ${this.topic}-${this.partition}`);
    }
    this.dirDirty = true;
  }

  private requestFlush(): void {
    if (this.flushScheduled || this.flushActive) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.startFlush();
    });
  }

  private startFlush(): Promise<void> {
    if (!this.flushActive) {
      this.flushActive = true;
      this.flushing = this.runFlush();
    }
    return this.flushing!;
  }

  /** Group commit loop: one round per batch of appends that arrived since the previous round. */
  private async runFlush(): Promise<void> {
    const { fs, dir, metrics } = this.ctx;
    try {
      while (this.unsynced.size > 0 || this.dirDirty) {
        const target = this.logEndOffset;
        const segments = [...this.unsynced];
        this.unsynced.clear();
        const syncDir = this.dirDirty;
        this.dirDirty = false;
        for (const s of segments) this.syncing.add(s);
        const t0 = performance.now();
        try {
          // A synchronous throw from one file must not leave the others' promises unobserved.
          await Promise.all(segments.map((s) => Promise.resolve().then(() => s.file.datasync())));
          if (syncDir) await fs.syncDir(dir);
        } finally {
          for (const s of segments) this.syncing.delete(s);
        }
        metrics.fsync((performance.now() - t0) / 1000);
        this.durableOffset = target;
        this.advanceHighWatermark(target);
        this.resolveAcks(target);
      }
    } catch (err) {
      const e = storageError(err, `syncing ${this.topic}-${this.partition} to disk`);
      this.failed = e;
      this.ctx.logger.error({ err, topic: this.topic, partition: this.partition }, 'fsync failed: partition refuses appends until restart');
      this.rejectAcks(e);
    } finally {
      this.flushActive = false;
    }
  }

  private resolveAcks(durable: number): void {
    const w = this.ackWaiters;
    let i = this.ackHead;
    while (i < w.length && w[i]!.offset <= durable) {
      w[i]!.resolve();
      i++;
    }
    if (i === w.length) {
      this.ackWaiters = [];
      this.ackHead = 0;
    } else if (i > 1024 && i * 2 > w.length) {
      this.ackWaiters = w.slice(i);
      this.ackHead = 0;
    } else {
      this.ackHead = i;
    }
  }

  private rejectAcks(err: Error): void {
    for (let i = this.ackHead; i < this.ackWaiters.length; i++) this.ackWaiters[i]!.reject(err);
    this.ackWaiters = [];
    this.ackHead = 0;
  }

  private advanceHighWatermark(offset: number): void {
    if (offset <= this.highWatermark) return;
    this.highWatermark = offset;
    if (this.dataWaiters.size === 0) return;
    for (const w of this.dataWaiters) {
      if (w.offset < offset) {
        this.dataWaiters.delete(w);
        if (w.timer) clearTimeout(w.timer);
        w.resolve(true);
      }
    }
  }

  /** Waits until a record at or after `offset` is visible; false on timeout or abort. */
  waitForData(offset: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (offset < this.highWatermark) return Promise.resolve(true);
    if (timeoutMs <= 0 || this.closed || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const w: DataWaiter = { offset, resolve, timer: null };
      const done = () => {
        if (!this.dataWaiters.delete(w)) return;
        if (w.timer) clearTimeout(w.timer);
        resolve(false);
      };
      w.timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      this.dataWaiters.add(w);
    });
  }

  /** Wakes every long poll (used on close and when a topic is deleted). */
  wakeAll(): void {
    for (const w of this.dataWaiters) {
      if (w.timer) clearTimeout(w.timer);
      w.resolve(false);
    }
    this.dataWaiters.clear();
  }

  /** Waits until everything appended so far is on disk. */
  async flush(): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.flushActive) await this.flushing;
    if (this.unsynced.size > 0 || this.dirDirty) await this.startFlush();
    if (this.failed) throw this.failed;
  }

  private segmentIndexFor(offset: number): number {
    const segs = this.segments;
    let lo = 0;
    let hi = segs.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (segs[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  private checkReadable(offset: number): void {
    if (this.closed) throw new LogError('LOG_CLOSED', `partition ${this.topic}-${this.partition} is closed`);
    if (offset < this.logStartOffset || offset > this.highWatermark) {
      throw new LogError(
        'OFFSET_OUT_OF_RANGE',
        `offset ${offset} is outside ${this.topic}-${this.partition}'s range [${this.logStartOffset}, ${this.highWatermark}]`,
      );
    }
  }

  /**
   * Reads whole batches starting with the one that holds `offset`, up to `maxBytes` (at least
   * one batch, however large, as Kafka does so a consumer can always make progress).
   */
  read(offset: number, maxBytes: number, upTo: number = this.highWatermark): ReadResult {
    this.checkReadable(offset);
    const hw = Math.min(upTo, this.highWatermark);
    const empty: ReadResult = { batches: Buffer.alloc(0), highWatermark: this.highWatermark, logStartOffset: this.logStartOffset };
    if (offset >= hw) return empty;
    for (let i = this.segmentIndexFor(offset); i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      if (seg.baseOffset >= hw) break;
      const pos = seg.findBatchPosition(offset);
      if (pos < 0) continue;
      const out = this.readFrom(seg, pos, maxBytes, hw);
      if (out.length > 0) return { batches: out, highWatermark: this.highWatermark, logStartOffset: this.logStartOffset };
    }
    return empty;
  }

  private readFrom(seg: Segment, pos: number, maxBytes: number, hw: number): Buffer {
    const available = seg.size - pos;
    let chunk = seg.readAt(pos, Math.min(available, Math.max(maxBytes, BATCH_HEADER_SIZE)));
    if (chunk.length < LOG_OVERHEAD) return Buffer.alloc(0);
    const first = batchTotalSize(chunk, 0);
    if (first > chunk.length) {
      if (first > available) return Buffer.alloc(0);
      chunk = seg.readAt(pos, first);
    }
    let end = 0;
    while (end + LOG_OVERHEAD <= chunk.length) {
      const size = batchTotalSize(chunk, end);
      if (size < BATCH_HEADER_SIZE) {
        // Only another writer on this file could leave this (see Log.addPartitions): say so, do not walk garbage.
        const err = new LogError('STORAGE_ERROR', `${this.topic}-${this.partition}: batch at byte ${pos + end} of segment ${seg.baseOffset} declares ${size} bytes; the segment is damaged`);
        this.ctx.logger.error({ err }, 'damaged segment');
        throw err;
      }
      if (end + size > chunk.length) break;
      if (batchBaseOffset(chunk, end) >= hw) break;
      if (end > 0 && end + size > maxBytes) break;
      end += size;
    }
    return chunk.subarray(0, end);
  }

  /**
   * Reads and decodes records from `offset` (for in-process consumers): skips control batches,
   * records below `offset` inside the first batch, and batches compaction left empty.
   */
  readRecords(offset: number, maxRecords: number, maxBytes: number, opts: { readCommitted?: boolean } = {}): ReadRecordsResult {
    const records: LogRecord[] = [];
    let next = offset;
    let bytes = 0;
    let highWatermark = this.highWatermark;
    const upTo = opts.readCommitted ? this.lastStableOffset : this.highWatermark;
    while (records.length === 0 && next < upTo) {
      const read = this.read(next, maxBytes, upTo);
      highWatermark = read.highWatermark;
      const batches = read.batches;
      if (batches.length === 0) break;
      let pos = 0;
      while (pos < batches.length && records.length < maxRecords) {
        const size = batchTotalSize(batches, pos);
        const header = readBatchHeader(batches, pos);
        const skip =
          (header.attributes & Attr.control) !== 0 ||
          (opts.readCommitted === true && (header.attributes & Attr.transactional) !== 0 && this.txns.isAborted(header.producerId, header.baseOffset));
        if (!skip) {
          for (const r of decodeBatchRecords(batches, pos)) {
            if (r.offset < next) continue;
            if (records.length >= maxRecords) {
              this.ctx.metrics.read(this.topic, records.length, bytes + pos);
              return { records, nextOffset: r.offset, highWatermark, bytes: bytes + pos };
            }
            records.push(r);
          }
        }
        next = header.baseOffset + header.lastOffsetDelta + 1;
        pos += size;
      }
      bytes += pos;
    }
    this.ctx.metrics.read(this.topic, records.length, bytes);
    return { records, nextOffset: next, highWatermark, bytes };
  }

  /** Earliest offset whose record timestamp is ≥ `timestamp`, or null if none is visible. */
  offsetForTimestamp(timestamp: number): { offset: number; timestamp: number } | null {
    for (const seg of this.segments) {
      if (seg.baseOffset >= this.highWatermark) break;
      let pos = seg.findTimestampPosition(timestamp);
      while (pos >= 0 && pos + BATCH_HEADER_SIZE <= seg.size) {
        const head = seg.readAt(pos, BATCH_HEADER_SIZE);
        const size = batchTotalSize(head);
        if (batchBaseOffset(head) >= this.highWatermark) return null;
        const batch = seg.readAt(pos, size);
        if ((readBatchHeader(batch).attributes & Attr.control) === 0) {
          for (const r of decodeBatchRecords(batch)) {
            if (r.timestamp >= timestamp && r.offset >= this.logStartOffset) return { offset: r.offset, timestamp: r.timestamp };
          }
        }
        pos += size;
      }
    }
    return null;
  }

  /** Offsets below this hold no open transaction: what read_committed consumers may see. */
  get lastStableOffset(): number {
    return Math.min(this.highWatermark, this.txns.firstOpenOffset());
  }

  /** Aborted transactions overlapping [from, to] (for read_committed Kafka fetches). */
  abortedTransactions(from: number, to: number): TxnRange[] {
    return this.txns.abortedIn(from, to);
  }

  /**
   * Writes a transaction marker (a control batch) for `pid`: COMMIT makes the producer's open
   * transaction on this partition visible to read_committed readers, ABORT hides it for good.
   * Resolves once the marker is durable.
   */
  appendMarker(pid: number, epoch: number, commit: boolean, coordinatorEpoch = 0): Promise<AppendResult> {
    const key = Buffer.alloc(4);
    key.writeInt16BE(0, 0);
    key.writeInt16BE(commit ? CONTROL_COMMIT : CONTROL_ABORT, 2);
    const value = Buffer.alloc(6);
    value.writeInt16BE(0, 0);
    value.writeInt32BE(coordinatorEpoch, 2);
    const batch = encodeRecordBatch([{ key, value }], { now: this.ctx.clock(), producerId: pid, producerEpoch: epoch, transactional: true, control: true });
    return this.append(batch, { trusted: true });
  }

  /** The first record carrying the largest timestamp (ListOffsets MAX_TIMESTAMP, KIP-734). */
  offsetOfMaxTimestamp(): { offset: number; timestamp: number } | null {
    let max = -1;
    for (const seg of this.segments) if (seg.baseOffset < this.highWatermark && seg.maxTimestamp > max) max = seg.maxTimestamp;
    return max < 0 ? null : this.offsetForTimestamp(max);
  }

  /** Kafka DeleteRecords: moves the log start offset forward and drops whole segments below it. */
  async deleteRecordsBefore(offset: number): Promise<number> {
    this.assertWritable();
    if (offset > this.highWatermark) {
      throw new LogError('OFFSET_OUT_OF_RANGE', `cannot delete records before ${offset}: the high watermark of ${this.topic}-${this.partition} is ${this.highWatermark}`);
    }
    // A concurrent call may have moved the start already but not yet made it durable: wait for
    // a checkpoint that covers this offset before answering, never answer from memory alone.
    if (offset <= this.durableLogStartOffset) return this.logStartOffset;
    if (offset > this.logStartOffset) this.logStartOffset = offset;
    await this.ctx.persistLogStartOffset();
    if (offset > this.durableLogStartOffset) this.durableLogStartOffset = offset;
    await this.deleteSegmentsWhile((seg, next) => next !== undefined && next.baseOffset <= this.logStartOffset);
    return this.logStartOffset;
  }

  /**
   * Deletes closed segments from the front while `pred` holds. Never deletes the active
   * segment or one whose fsync is in flight.
   */
  async deleteSegmentsWhile(pred: (seg: Segment, next: Segment | undefined) => boolean): Promise<number> {
    let n = 0;
    while (this.segments.length > 1) {
      const seg = this.segments[0]!;
      const next = this.segments[1];
      if (this.unsynced.has(seg) || this.syncing.has(seg)) break;
      if (!pred(seg, next)) break;
      this.segments.shift();
      seg.delete();
      n++;
    }
    if (n > 0) {
      if (this.logStartOffset < this.segments[0]!.baseOffset) this.logStartOffset = this.segments[0]!.baseOffset;
      await this.ctx.fs.syncDir(this.ctx.dir);
      this.ctx.metrics.segmentsDeleted(this.topic, n);
    }
    return n;
  }

  /** Replaces a closed segment with a rewritten one (compaction). The caller has fsynced the file at `cleanedPath`. */
  async swapSegment(old: Segment, cleanedPath: string): Promise<Segment | null> {
    const idx = this.segments.indexOf(old);
    if (idx < 0 || idx === this.segments.length - 1 || this.closed) {
      // Deleted (retention, DeleteRecords) or closed while it was being rewritten.
      this.ctx.fs.unlink(cleanedPath);
      return null;
    }
    // Swap synchronously and close the old segment only once nothing can reach it: a reader
    // between close and swap would use a descriptor number the OS may already have reused. The
    // old inode stays readable through its open descriptor until then (rename unlinks it).
    this.ctx.fs.rename(cleanedPath, old.path);
    const fresh = Segment.open(this.ctx.fs, this.ctx.dir, old.baseOffset);
    fresh.recover(Number.MAX_SAFE_INTEGER);
    this.segments[idx] = fresh;
    old.close();
    fresh.writeIndexFile();
    await this.ctx.fs.syncDir(this.ctx.dir);
    return fresh;
  }

  isSegmentBusy(seg: Segment): boolean {
    return this.unsynced.has(seg) || this.syncing.has(seg);
  }

  describe(): PartitionDescription {
    let sizeBytes = 0;
    for (const s of this.segments) sizeBytes += s.size;
    return {
      partition: this.partition,
      logStartOffset: this.logStartOffset,
      logEndOffset: this.logEndOffset,
      highWatermark: this.highWatermark,
      sizeBytes,
      segments: this.segments.length,
    };
  }

  sizeBytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.relaxedTimer) clearInterval(this.relaxedTimer);
    try {
      if (!this.failed) await this.flush();
    } finally {
      this.closed = true;
      this.wakeAll();
      this.rejectAcks(new LogError('LOG_CLOSED', `partition ${this.topic}-${this.partition} closed before the append was durable`));
      try {
        if (!this.failed && this.active.size > 0) this.active.writeIndexFile();
      } catch {
        // rebuilt on recovery
      }
      for (const s of this.segments) s.close();
    }
  }

  /** Closes without flushing (topic deletion); waits for an fsync in flight before closing files. */
  async abandon(): Promise<void> {
    if (this.relaxedTimer) clearInterval(this.relaxedTimer);
    this.closed = true;
    // A group commit scheduled but not started must not fsync the files closed below.
    this.unsynced.clear();
    this.dirDirty = false;
    this.wakeAll();
    this.rejectAcks(new LogError('TOPIC_UNKNOWN', `topic ${this.topic} was deleted before the append was durable`));
    if (this.flushActive) await this.flushing!.catch(() => {});
    for (const s of this.segments) s.close();
  }
}
