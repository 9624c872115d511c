/**
 * One segment of a partition: a `.log` file of record batches starting at `baseOffset`, plus
 * its in-memory sparse indexes. A segment never interprets records, only batch headers.
 *
 * States: active (appended to) → closed (after a roll; indexes persisted to `.index`).
 * Recovery (`recover`) scans batch by batch, checking length, magic, CRC and offset order,
 * truncates at the first bad batch and rebuilds the indexes.
 */
import type { FileHandle, FileSystem } from '../fs/file-system.ts';
import { joinPath } from '../fs/file-system.ts';
import { crc32c } from '../batch/crc32c.ts';
import {
  BATCH_HEADER_SIZE,
  LOG_OVERHEAD,
  batchBaseOffset,
  batchLastOffset,
  batchMaxTimestamp,
  batchTotalSize,
  checkBatch,
} from '../batch/record-batch.ts';
import { OffsetIndex, TimeIndex } from './offset-index.ts';

export const INDEX_INTERVAL_BYTES = 4096;
const INDEX_MAGIC = 0x54494458; // "TIDX"

export function segmentFileName(baseOffset: number, suffix: string): string {
  return `${String(baseOffset).padStart(20, '0')}${suffix}`;
}

export function parseSegmentFileName(name: string): number | null {
  const m = /^(\d{20})\.log$/.exec(name);
  return m ? Number(m[1]) : null;
}

export interface RecoveryOutcome {
  validBytes: number;
  truncatedBytes: number;
  reason: string | null;
}

export class Segment {
  size: number;
  /** One past the last offset in this segment (= baseOffset when empty). */
  nextOffset: number;
  /** Largest record timestamp in the segment (-1 when empty). */
  maxTimestamp = -1;
  /** Wall-clock time of the first append (for segmentMs rolls); null while empty. */
  firstAppendAt: number | null = null;
  readonly offsetIndex = new OffsetIndex();
  readonly timeIndex = new TimeIndex();
  private bytesSinceIndex = 0;

  private constructor(
    private readonly fs: FileSystem,
    readonly dir: string,
    readonly baseOffset: number,
    readonly file: FileHandle,
  ) {
    this.size = file.size();
    this.nextOffset = baseOffset;
  }

  get path(): string {
    return this.file.path;
  }

  static create(fs: FileSystem, dir: string, baseOffset: number): Segment {
    const fh = fs.open(joinPath(dir, segmentFileName(baseOffset, '.log')), { create: true });
    fh.truncate(0);
    return new Segment(fs, dir, baseOffset, fh);
  }

  static open(fs: FileSystem, dir: string, baseOffset: number): Segment {
    return new Segment(fs, dir, baseOffset, fs.open(joinPath(dir, segmentFileName(baseOffset, '.log')), { create: false }));
  }

  /** Appends already-validated batches whose offsets were assigned; `buf` holds whole batches. */
  append(buf: Buffer, baseOffset: number, lastOffset: number, maxTimestamp: number, now: number): void {
    const position = this.size;
    this.file.write(buf, 0, buf.length, position);
    this.size += buf.length;
    if (this.bytesSinceIndex >= INDEX_INTERVAL_BYTES || this.offsetIndex.size === 0) {
      this.offsetIndex.add(baseOffset, position);
      this.bytesSinceIndex = 0;
    }
    this.bytesSinceIndex += buf.length;
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.timeIndex.add(maxTimestamp, baseOffset);
    }
    this.nextOffset = lastOffset + 1;
    if (this.firstAppendAt === null) this.firstAppendAt = now;
  }

  /** Undo a failed write (e.g. ENOSPC) so the file ends at a batch boundary again. */
  truncateTo(size: number): void {
    this.file.truncate(size);
    this.size = size;
  }

  readAt(position: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    const n = this.file.read(buf, 0, length, position);
    return n === length ? buf : buf.subarray(0, n);
  }

  /**
   * Byte position of the batch that contains `offset` (the first batch whose last offset is
   * ≥ offset), or -1 if the segment has none.
   */
  findBatchPosition(offset: number): number {
    let pos = this.offsetIndex.floorPosition(offset);
    const header = Buffer.alloc(27);
    while (pos + BATCH_HEADER_SIZE <= this.size) {
      // A short read or an impossible size means the file is not what the index says (it was
      // replaced or truncated underneath): treat it as the end rather than read garbage.
      if (this.file.read(header, 0, 27, pos) < 27) return -1;
      const size = header.readInt32BE(8) + LOG_OVERHEAD;
      if (size < BATCH_HEADER_SIZE) return -1;
      if (batchBaseOffset(header) + header.readInt32BE(23) >= offset) return pos;
      pos += size;
    }
    return -1;
  }

  /** Position of the first batch that may hold a record with timestamp ≥ ts, or -1. */
  findTimestampPosition(ts: number): number {
    if (this.maxTimestamp < ts) return -1;
    const after = this.timeIndex.lastOffsetBefore(ts);
    let pos = after < 0 ? 0 : this.findBatchPosition(after);
    const header = Buffer.alloc(BATCH_HEADER_SIZE);
    while (pos >= 0 && pos + BATCH_HEADER_SIZE <= this.size) {
      if (this.file.read(header, 0, BATCH_HEADER_SIZE, pos) < BATCH_HEADER_SIZE) return -1;
      if (batchMaxTimestamp(header) >= ts) return pos;
      const size = batchTotalSize(header);
      if (size < BATCH_HEADER_SIZE) return -1;
      pos += size;
    }
    return -1;
  }

  /**
   * Validates the segment from the start, batch by batch, rebuilding the indexes, and
   * truncates the file at the first torn or corrupt batch. Offsets must start at the segment's
   * base offset and grow from batch to batch.
   */
  recover(maxBatchBytes: number, onBatch?: (buf: Buffer, pos: number) => void): RecoveryOutcome {
    this.offsetIndex.clear();
    this.timeIndex.clear();
    this.bytesSinceIndex = 0;
    this.maxTimestamp = -1;
    this.nextOffset = this.baseOffset;
    const fileSize = this.file.size();
    const chunkSize = 8 * 1024 * 1024;
    let pos = 0;
    let reason: string | null = null;
    let chunk: Buffer = Buffer.alloc(0);
    let chunkStart = 0;
    while (pos < fileSize) {
      // Make sure the chunk holds the header at pos and, once its size is known, the whole batch.
      let need = Math.min(LOG_OVERHEAD, fileSize - pos);
      if (pos + need > chunkStart + chunk.length) {
        chunk = this.readAt(pos, Math.min(chunkSize, fileSize - pos));
        chunkStart = pos;
      }
      if (chunk.length - (pos - chunkStart) < LOG_OVERHEAD) {
        reason = 'torn batch header at end of segment';
        break;
      }
      const batchSize = chunk.readInt32BE(pos - chunkStart + 8) + LOG_OVERHEAD;
      if (batchSize >= BATCH_HEADER_SIZE && batchSize <= maxBatchBytes && pos + batchSize <= fileSize) {
        need = batchSize;
        if (pos + need > chunkStart + chunk.length) {
          chunk = this.readAt(pos, Math.max(need, Math.min(chunkSize, fileSize - pos)));
          chunkStart = pos;
        }
      }
      const rel = pos - chunkStart;
      const check = checkBatch(chunk, rel, chunk.length, maxBatchBytes);
      if (!check.ok) {
        reason = check.reason;
        break;
      }
      // The base offset and leader epoch are outside the CRC: check them against what they must be.
      const base = batchBaseOffset(chunk, rel);
      if (base !== this.nextOffset) {
        reason = `batch base offset ${base} where ${this.nextOffset} was expected`;
        break;
      }
      const epoch = chunk.readInt32BE(rel + 12);
      if (epoch !== -1 && epoch !== 0) {
        reason = `batch leader epoch ${epoch} was never written by this log`;
        break;
      }
      const last = batchLastOffset(chunk, rel);
      this.append0(base, last, batchMaxTimestamp(chunk, rel), pos, check.size);
      onBatch?.(chunk, rel);
      pos += check.size;
    }
    const truncatedBytes = fileSize - pos;
    if (truncatedBytes > 0) this.file.truncate(pos);
    this.size = pos;
    return { validBytes: pos, truncatedBytes, reason: truncatedBytes > 0 ? (reason ?? 'trailing bytes') : null };
  }

  /** Index bookkeeping for a batch found at `position` (recovery and index rebuild). */
  private append0(base: number, last: number, maxTs: number, position: number, size: number): void {
    if (this.bytesSinceIndex >= INDEX_INTERVAL_BYTES || this.offsetIndex.size === 0) {
      this.offsetIndex.add(base, position);
      this.bytesSinceIndex = 0;
    }
    this.bytesSinceIndex += size;
    if (maxTs > this.maxTimestamp) {
      this.maxTimestamp = maxTs;
      this.timeIndex.add(maxTs, base);
    }
    this.nextOffset = last + 1;
  }

  /** Persists the indexes of a closed segment (a cache: validated by size and CRC on load). */
  writeIndexFile(): void {
    const offsets = this.offsetIndex.entries();
    const times = this.timeIndex.entries();
    const buf = Buffer.alloc(4 + 8 + 8 + 8 + 4 + 4 + (offsets.length + times.length) * 16 + 4);
    let p = 0;
    buf.writeUInt32BE(INDEX_MAGIC, p);
    p += 4;
    buf.writeDoubleBE(this.size, p);
    p += 8;
    buf.writeDoubleBE(this.nextOffset, p);
    p += 8;
    buf.writeDoubleBE(this.maxTimestamp, p);
    p += 8;
    buf.writeUInt32BE(offsets.length, p);
    p += 4;
    buf.writeUInt32BE(times.length, p);
    p += 4;
    for (const [o, pos] of offsets) {
      buf.writeDoubleBE(o, p);
      buf.writeDoubleBE(pos, p + 8);
      p += 16;
    }
    for (const [t, o] of times) {
      buf.writeDoubleBE(t, p);
      buf.writeDoubleBE(o, p + 8);
      p += 16;
    }
    buf.writeUInt32BE(crc32c(buf.subarray(0, p)), p);
    const fh = this.fs.open(joinPath(this.dir, segmentFileName(this.baseOffset, '.index')), { create: true });
    try {
      fh.truncate(0);
      fh.write(buf, 0, buf.length, 0);
    } finally {
      fh.close();
    }
  }

  /** Loads persisted indexes; false (and nothing loaded) when missing, corrupt or stale. */
  loadIndexFile(): boolean {
    const path = joinPath(this.dir, segmentFileName(this.baseOffset, '.index'));
    if (!this.fs.exists(path)) return false;
    let buf: Buffer;
    try {
      buf = this.fs.readFile(path);
    } catch {
      return false;
    }
    if (buf.length < 40 || buf.readUInt32BE(0) !== INDEX_MAGIC) return false;
    const nOff = buf.readUInt32BE(28);
    const nTime = buf.readUInt32BE(32);
    const end = 36 + (nOff + nTime) * 16;
    if (buf.length !== end + 4 || crc32c(buf.subarray(0, end)) !== buf.readUInt32BE(end)) return false;
    if (buf.readDoubleBE(4) !== this.file.size()) return false;
    this.offsetIndex.clear();
    this.timeIndex.clear();
    let p = 36;
    for (let i = 0; i < nOff; i++, p += 16) this.offsetIndex.add(buf.readDoubleBE(p), buf.readDoubleBE(p + 8));
    for (let i = 0; i < nTime; i++, p += 16) this.timeIndex.add(buf.readDoubleBE(p), buf.readDoubleBE(p + 8));
    this.size = buf.readDoubleBE(4);
    this.nextOffset = buf.readDoubleBE(12);
    this.maxTimestamp = buf.readDoubleBE(20);
    return true;
  }

  /** Calls `fn` for every whole batch in the segment, reading it in large chunks. */
  forEachBatch(fn: (buf: Buffer, pos: number, size: number) => void, chunkSize = 8 * 1024 * 1024): void {
    let filePos = 0;
    while (filePos + LOG_OVERHEAD <= this.size) {
      let chunk = this.readAt(filePos, Math.min(chunkSize, this.size - filePos));
      const firstSize = batchTotalSize(chunk, 0);
      if (firstSize > chunk.length) chunk = this.readAt(filePos, firstSize);
      let pos = 0;
      while (pos + LOG_OVERHEAD <= chunk.length) {
        const size = batchTotalSize(chunk, pos);
        if (size < BATCH_HEADER_SIZE || pos + size > chunk.length) break;
        fn(chunk, pos, size);
        pos += size;
      }
      if (pos === 0) break;
      filePos += pos;
    }
  }

  close(): void {
    this.file.close();
  }

  /** Closes and removes the segment's files (the caller syncs the directory). */
  delete(): void {
    this.file.close();
    for (const suffix of ['.log', '.index']) {
      const p = joinPath(this.dir, segmentFileName(this.baseOffset, suffix));
      if (this.fs.exists(p)) this.fs.unlink(p);
    }
  }
}
