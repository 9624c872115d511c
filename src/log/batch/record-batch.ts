/**
 * Kafka record batch v2 (magic 2): the log's on-disk format and the Kafka wire format, so the
 * Kafka server can serve stored bytes unchanged.
 *
 *   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 | crc uint32 |
 *   attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64 |
 *   producerId int64 | producerEpoch int16 | baseSequence int32 | recordCount int32 | records…
 *
 * The CRC-32C covers attributes…end, so the log may rewrite baseOffset and the leader epoch
 * without recomputing it. Records: length varint, attributes int8, timestampDelta varlong,
 * offsetDelta varint, key (varint length, -1 = null), value (likewise), header count varint,
 * headers (key string, value bytes).
 */
import type { LogRecord, ProduceRecord, RecordHeader } from '../types.ts';
import { LogError } from '../errors.ts';
import { codecFor } from './compression.ts';
import { crc32c } from './crc32c.ts';
import { readInt64, writeInt64 } from './int64.ts';
import { ByteReader, VarintError, varintSize, writeVarint } from './varint.ts';

export const LOG_OVERHEAD = 12; // baseOffset + batchLength
export const BATCH_HEADER_SIZE = 61;
export const MAGIC_V2 = 2;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;
const MAGIC_OFFSET = 16;

export const Attr = {
  compressionMask: 0x07,
  logAppendTime: 0x08,
  transactional: 0x10,
  control: 0x20,
  deleteHorizon: 0x40,
} as const;

export interface BatchHeader {
  baseOffset: number;
  /** Bytes after the batchLength field; the whole batch is batchLength + 12. */
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** Reads the fixed header at `pos`; the caller guarantees 61 bytes are present. */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  return {
    baseOffset: readInt64(buf, pos),
    batchLength: buf.readInt32BE(pos + 8),
    partitionLeaderEpoch: buf.readInt32BE(pos + 12),
    magic: buf.readInt8(pos + MAGIC_OFFSET),
    crc: buf.readUInt32BE(pos + CRC_OFFSET),
    attributes: buf.readInt16BE(pos + ATTRIBUTES_OFFSET),
    lastOffsetDelta: buf.readInt32BE(pos + 23),
    baseTimestamp: readInt64(buf, pos + 27),
    maxTimestamp: readInt64(buf, pos + 35),
    producerId: readInt64(buf, pos + 43),
    producerEpoch: buf.readInt16BE(pos + 51),
    baseSequence: buf.readInt32BE(pos + 53),
    recordCount: buf.readInt32BE(pos + 57),
  };
}

export function batchBaseOffset(buf: Buffer, pos = 0): number {
  return readInt64(buf, pos);
}
export function batchLastOffset(buf: Buffer, pos = 0): number {
  return readInt64(buf, pos) + buf.readInt32BE(pos + 23);
}
export function batchTotalSize(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + 8) + LOG_OVERHEAD;
}
export function batchMaxTimestamp(buf: Buffer, pos = 0): number {
  return readInt64(buf, pos + 35);
}
export function batchRecordCount(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + 57);
}
export function setBatchBaseOffset(buf: Buffer, pos: number, baseOffset: number): void {
  writeInt64(buf, pos, baseOffset);
}

export function computeBatchCrc(buf: Buffer, pos = 0): number {
  const end = pos + batchTotalSize(buf, pos);
  return crc32c(buf.subarray(pos + ATTRIBUTES_OFFSET, end));
}

/** True when the stored CRC matches the bytes (the caller has checked the length). */
export function batchCrcValid(buf: Buffer, pos = 0): boolean {
  return computeBatchCrc(buf, pos) === buf.readUInt32BE(pos + CRC_OFFSET);
}

export type BatchProblem = { ok: true; size: number } | { ok: false; reason: string };

/**
 * Checks the structure of the batch starting at `pos` within `buf[pos, end)`: enough bytes for
 * the header and the declared length, magic 2, sane counts, and the CRC. Used by recovery (to
 * find the end of the valid log) and by appends of client-encoded batches.
 */
export function checkBatch(buf: Buffer, pos: number, end: number, maxBatchBytes: number): BatchProblem {
  if (end - pos < LOG_OVERHEAD) return { ok: false, reason: 'truncated batch header' };
  const batchLength = buf.readInt32BE(pos + 8);
  const size = batchLength + LOG_OVERHEAD;
  if (size < BATCH_HEADER_SIZE) return { ok: false, reason: `batch length ${batchLength} is smaller than a batch header` };
  if (size > maxBatchBytes) return { ok: false, reason: `batch of ${size} bytes exceeds the limit of ${maxBatchBytes}` };
  if (end - pos < size) return { ok: false, reason: `batch declares ${size} bytes but only ${end - pos} are present` };
  const magic = buf.readInt8(pos + MAGIC_OFFSET);
  if (magic !== MAGIC_V2) return { ok: false, reason: `unsupported record batch magic ${magic} (expected 2)` };
  const recordCount = buf.readInt32BE(pos + 57);
  const lastOffsetDelta = buf.readInt32BE(pos + 23);
  if (recordCount < 0 || lastOffsetDelta < 0) return { ok: false, reason: 'negative record count or offset delta' };
  if (recordCount > 0 && lastOffsetDelta < recordCount - 1) {
    return { ok: false, reason: `lastOffsetDelta ${lastOffsetDelta} is smaller than recordCount-1 (${recordCount - 1})` };
  }
  if (!batchCrcValid(buf, pos)) return { ok: false, reason: 'CRC-32C mismatch' };
  return { ok: true, size };
}

export interface EncodeBatchOptions {
  baseOffset?: number;
  /** Append time used for records without a timestamp. */
  now?: number;
  compression?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
  /** Offset deltas per record (compaction keeps original offsets); default 0..n-1. */
  offsetDeltas?: number[];
  /** Force lastOffsetDelta (compaction may drop the last records of a batch). */
  lastOffsetDelta?: number;
}

const EMPTY = Buffer.alloc(0);

function headerValueSize(h: RecordHeader): number {
  return h.value === null ? 1 : varintSize(h.value.length) + h.value.length;
}

/** Encodes records into one record batch v2 buffer. */
export function encodeRecordBatch(records: ProduceRecord[], opts: EncodeBatchOptions = {}): Buffer {
  const n = records.length;
  const now = opts.now ?? Date.now();
  let baseTimestamp = Infinity;
  let maxTimestamp = -Infinity;
  for (let i = 0; i < n; i++) {
    const ts = records[i]!.timestamp ?? now;
    if (ts < baseTimestamp) baseTimestamp = ts;
    if (ts > maxTimestamp) maxTimestamp = ts;
  }
  if (n === 0) {
    baseTimestamp = now;
    maxTimestamp = now;
  }
  // First pass: record body sizes.
  const bodySizes = new Array<number>(n);
  const headerKeys: (Buffer[] | undefined)[] = new Array(n);
  let recordsSize = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const offsetDelta = opts.offsetDeltas ? opts.offsetDeltas[i]! : i;
    let size = 1 + varintSize((r.timestamp ?? now) - baseTimestamp) + varintSize(offsetDelta);
    size += r.key == null ? 1 : varintSize(r.key.length) + r.key.length;
    size += r.value == null ? 1 : varintSize(r.value.length) + r.value.length;
    const headers = r.headers;
    if (headers && headers.length > 0) {
      size += varintSize(headers.length);
      const keys: Buffer[] = [];
      for (const h of headers) {
        const k = Buffer.from(h.key, 'utf8');
        keys.push(k);
        size += varintSize(k.length) + k.length + headerValueSize(h);
      }
      headerKeys[i] = keys;
    } else {
      size += 1;
    }
    bodySizes[i] = size;
    recordsSize += varintSize(size) + size;
  }

  const compression = opts.compression ?? 0;
  let recordsBuf: Buffer = Buffer.allocUnsafe(recordsSize);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    p = writeVarint(recordsBuf, p, bodySizes[i]!);
    recordsBuf[p++] = 0; // record attributes (unused)
    p = writeVarint(recordsBuf, p, (r.timestamp ?? now) - baseTimestamp);
    p = writeVarint(recordsBuf, p, opts.offsetDeltas ? opts.offsetDeltas[i]! : i);
    p = writeBytes(recordsBuf, p, r.key ?? null);
    p = writeBytes(recordsBuf, p, r.value);
    const headers = r.headers;
    if (headers && headers.length > 0) {
      p = writeVarint(recordsBuf, p, headers.length);
      const keys = headerKeys[i]!;
      for (let h = 0; h < headers.length; h++) {
        p = writeBytes(recordsBuf, p, keys[h]!);
        p = writeBytes(recordsBuf, p, headers[h]!.value);
      }
    } else {
      recordsBuf[p++] = 0;
    }
  }
  if (compression !== 0) recordsBuf = codecFor(compression).compress(recordsBuf);

  const total = BATCH_HEADER_SIZE + recordsBuf.length;
  const out = Buffer.allocUnsafe(total);
  writeInt64(out, 0, opts.baseOffset ?? 0);
  out.writeInt32BE(total - LOG_OVERHEAD, 8);
  out.writeInt32BE(-1, 12); // partitionLeaderEpoch
  out.writeInt8(MAGIC_V2, MAGIC_OFFSET);
  let attributes = compression;
  if (opts.transactional) attributes |= Attr.transactional;
  if (opts.control) attributes |= Attr.control;
  out.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  const lastOffsetDelta = opts.lastOffsetDelta ?? (opts.offsetDeltas && n > 0 ? opts.offsetDeltas[n - 1]! : Math.max(0, n - 1));
  out.writeInt32BE(lastOffsetDelta, 23);
  writeInt64(out, 27, baseTimestamp);
  writeInt64(out, 35, maxTimestamp);
  writeInt64(out, 43, opts.producerId ?? -1);
  out.writeInt16BE(opts.producerEpoch ?? -1, 51);
  out.writeInt32BE(opts.baseSequence ?? -1, 53);
  out.writeInt32BE(n, 57);
  recordsBuf.copy(out, BATCH_HEADER_SIZE);
  out.writeUInt32BE(crc32c(out.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return out;
}

function writeBytes(buf: Buffer, pos: number, data: Buffer | null): number {
  if (data === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, data.length);
  data.copy(buf, pos);
  return pos + data.length;
}

/**
 * Decodes the records of the batch at `pos`. Record offsets are absolute (baseOffset +
 * offsetDelta); timestamps follow the batch's timestamp type. Throws LogError BATCH_INVALID
 * on malformed record bytes (the CRC is the caller's job).
 */
export function decodeBatchRecords(buf: Buffer, pos = 0): LogRecord[] {
  const header = readBatchHeader(buf, pos);
  const end = pos + header.batchLength + LOG_OVERHEAD;
  const compression = header.attributes & Attr.compressionMask;
  let data: Buffer = buf;
  let start = pos + BATCH_HEADER_SIZE;
  let dataEnd = end;
  if (compression !== 0) {
    data = codecFor(compression).decompress(buf.subarray(start, end));
    start = 0;
    dataEnd = data.length;
  }
  const logAppendTime = (header.attributes & Attr.logAppendTime) !== 0;
  const out = new Array<LogRecord>(header.recordCount);
  const r = new ByteReader(data, start, dataEnd);
  try {
    for (let i = 0; i < header.recordCount; i++) {
      const length = r.varint();
      const recordEnd = r.pos + length;
      if (length < 0 || recordEnd > dataEnd) throw new VarintError(`record ${i} length ${length} runs past the batch`);
      r.pos++; // attributes
      const tsDelta = r.varint();
      const offsetDelta = r.varint();
      const keyLen = r.varint();
      const key = keyLen < 0 ? null : r.bytes(keyLen);
      const valueLen = r.varint();
      const value = valueLen < 0 ? null : r.bytes(valueLen);
      const headerCount = r.varint();
      let headers: RecordHeader[] = EMPTY_HEADERS;
      if (headerCount > 0) {
        headers = new Array<RecordHeader>(headerCount);
        for (let h = 0; h < headerCount; h++) {
          const hk = r.bytes(r.varint()).toString('utf8');
          const hvLen = r.varint();
          headers[h] = { key: hk, value: hvLen < 0 ? null : r.bytes(hvLen) };
        }
      } else if (headerCount < 0) {
        throw new VarintError(`record ${i} has a negative header count`);
      }
      if (r.pos !== recordEnd) throw new VarintError(`record ${i} length does not match its fields`);
      out[i] = {
        offset: header.baseOffset + offsetDelta,
        timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + tsDelta,
        key,
        value,
        headers,
      };
    }
  } catch (err) {
    if (err instanceof VarintError) throw new LogError('BATCH_INVALID', `malformed record batch at offset ${header.baseOffset}: ${err.message}`);
    throw err;
  }
  return out;
}

/**
 * Walks the records of a client-encoded batch without materializing them (decompressing if
 * needed): lengths must add up exactly, the count must match the header, offset deltas must
 * grow and stay within lastOffsetDelta. Returns the problem, or null when the batch is sound.
 * Kafka brokers validate the same way, so one client's bad batch cannot break every consumer.
 */
export function validateBatchRecords(buf: Buffer, pos = 0): string | null {
  const header = readBatchHeader(buf, pos);
  const end = pos + header.batchLength + LOG_OVERHEAD;
  let data = buf;
  let start = pos + BATCH_HEADER_SIZE;
  let dataEnd = end;
  const compression = header.attributes & Attr.compressionMask;
  if (compression !== 0) {
    try {
      data = codecFor(compression).decompress(buf.subarray(start, end));
    } catch (err) {
      return `cannot decompress the records: ${(err as Error).message}`;
    }
    start = 0;
    dataEnd = data.length;
  }
  const r = new ByteReader(data, start, dataEnd);
  let lastDelta = -1;
  try {
    for (let i = 0; i < header.recordCount; i++) {
      const length = r.varint();
      const recordEnd = r.pos + length;
      if (length <= 0 || recordEnd > dataEnd) return `record ${i} length ${length} runs past the batch`;
      r.pos++; // attributes
      r.varint(); // timestamp delta
      const offsetDelta = r.varint();
      if (offsetDelta <= lastDelta || offsetDelta > header.lastOffsetDelta) return `record ${i} has offset delta ${offsetDelta} out of order`;
      lastDelta = offsetDelta;
      for (let field = 0; field < 2; field++) {
        const n = r.varint();
        if (n >= 0) r.bytes(n);
        else if (n < -1) return `record ${i} has a negative length ${n}`;
      }
      const headers = r.varint();
      if (headers < 0) return `record ${i} has a negative header count`;
      for (let h = 0; h < headers; h++) {
        const k = r.varint();
        if (k < 0) return `record ${i} header ${h} has no key`;
        r.bytes(k);
        const v = r.varint();
        if (v >= 0) r.bytes(v);
      }
      if (r.pos !== recordEnd) return `record ${i} length does not match its fields`;
    }
  } catch (err) {
    if (err instanceof VarintError) return err.message;
    throw err;
  }
  if (r.pos !== dataEnd) return `${dataEnd - r.pos} bytes after the last of ${header.recordCount} records`;
  return null;
}

const EMPTY_HEADERS: RecordHeader[] = [];
Object.freeze(EMPTY_HEADERS);

/** Iterates the batches in a buffer of concatenated batches; stops at a partial trailing batch. */
export function* iterateBatches(buf: Buffer): Generator<{ pos: number; size: number }> {
  let pos = 0;
  while (pos + LOG_OVERHEAD <= buf.length) {
    const size = batchTotalSize(buf, pos);
    if (size < BATCH_HEADER_SIZE || pos + size > buf.length) return;
    yield { pos, size };
    pos += size;
  }
}

export { EMPTY as EMPTY_BUFFER };
