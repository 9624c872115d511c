/**
 * Legacy Kafka message sets (magic 0 and 1), as Produce v0–v2 requests carry them, converted to
 * one record batch v2 before the log stores them.
 *
 *   message set := (offset int64 | messageSize int32 | message)*
 *   message v0  := crc uint32 | magic int8 (0) | attributes int8 | key bytes | value bytes
 *   message v1  := crc uint32 | magic int8 (1) | attributes int8 | timestamp int64 | key bytes | value bytes
 *   bytes       := length int32 (-1 = null) | data
 *
 * The CRC is CRC-32 (IEEE) of everything after it (magic…value). Attribute bits 0–2 name the
 * compression codec (gzip 1, snappy 2, lz4 3; zstd needs magic 2); bit 3 (v1) is the timestamp
 * type (LogAppendTime). A compressed message is a *wrapper*: its value is a compressed message set
 * of uncompressed inner messages of the same magic. In v1 wrappers the inner offsets are relative
 * (0…n-1) and the wrapper carries the absolute offset of the last inner message; in v0 they are
 * absolute.
 */
import { crc32 } from '@node-rs/crc32';
import { codecFor, compressionName } from '../../../log/batch/compression.ts';
import { encodeRecordBatch } from '../../../log/batch/record-batch.ts';
import { readInt64 } from '../../../log/batch/int64.ts';
import type { ProduceRecord } from '../../../log/types.ts';
import { TributaryError } from '../../../util/errors.ts';
import { registerKafkaCodecs } from './compression-codecs.ts';

const KAFKA_CORRUPT_MESSAGE = 2;
const KAFKA_UNSUPPORTED_COMPRESSION_TYPE = 76;

/** A legacy message set that cannot be read; the produce request is answered with `kafkaCode`. */
export class LegacyMessageSetError extends TributaryError {
  constructor(message: string, code: 'CORRUPT_MESSAGE' | 'UNSUPPORTED_COMPRESSION_TYPE' = 'CORRUPT_MESSAGE', cause?: unknown) {
    super(code, message, {
      kafkaCode: code === 'CORRUPT_MESSAGE' ? KAFKA_CORRUPT_MESSAGE : KAFKA_UNSUPPORTED_COMPRESSION_TYPE,
      retriable: false,
      cause,
    });
    this.name = 'LegacyMessageSetError';
  }
}

const LOG_OVERHEAD = 12; // offset + messageSize
const MAGIC_OFFSET = 16; // of the first message, from the start of the set
/** crc + magic + attributes + key length + value length. */
const MESSAGE_OVERHEAD_V0 = 14;
/** … plus the timestamp. */
const MESSAGE_OVERHEAD_V1 = 22;
const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE_LOG_APPEND = 0x08;
const NO_TIMESTAMP = -1;

export interface LegacyMessage {
  /** Absolute offset (a v1 wrapper's relative inner offsets are resolved against it). */
  offset: number;
  magic: 0 | 1;
  /** v1: the producer's timestamp (-1 when absent), or the wrapper's for LogAppendTime; v0: null. */
  timestamp: number | null;
  logAppendTime: boolean;
  key: Buffer | null;
  value: Buffer | null;
  /** Codec of the wrapper this message came out of; 0 for a message that was not compressed. */
  compression: number;
}

export interface ParseLegacyOptions {
  /**
   * Stop silently at a partial message at the end of the set, as fetch responses may end. Off by
   * default: a produce request must hold whole messages. Never applies inside compressed wrappers.
   */
  allowPartialTrailing?: boolean;
}

/** True when `buf` starts with a message of magic 0 or 1 (a record batch v2 has magic 2 there). */
export function isLegacyMessageSet(buf: Buffer): boolean {
  return buf.length > MAGIC_OFFSET && (buf[MAGIC_OFFSET] === 0 || buf[MAGIC_OFFSET] === 1);
}

/** Reads every message of a legacy message set, expanding compressed wrappers into their inner messages. */
export function parseLegacyMessageSet(buf: Buffer, opts: ParseLegacyOptions = {}): LegacyMessage[] {
  const out: LegacyMessage[] = [];
  readSet(buf, out, null, opts.allowPartialTrailing ?? false);
  return out;
}

interface Wrapper {
  offset: number;
  magic: 0 | 1;
  timestamp: number | null;
  logAppendTime: boolean;
  compression: number;
}

function readSet(buf: Buffer, out: LegacyMessage[], wrapper: Wrapper | null, allowPartialTrailing: boolean): void {
  const where = wrapper ? ` inside the ${compressionName(wrapper.compression)} wrapper at offset ${wrapper.offset}` : '';
  let pos = 0;
  while (pos < buf.length) {
    const remaining = buf.length - pos;
    if (remaining < LOG_OVERHEAD) {
      if (allowPartialTrailing) return;
      throw new LegacyMessageSetError(`legacy message set${where} ends with ${remaining} stray bytes at byte ${pos} (a message needs at least ${LOG_OVERHEAD + MESSAGE_OVERHEAD_V0})`);
    }
    const offset = readInt64(buf, pos);
    const size = buf.readInt32BE(pos + 8);
    const start = pos + LOG_OVERHEAD;
    if (size < MESSAGE_OVERHEAD_V0) {
      throw new LegacyMessageSetError(`message at byte ${pos}${where} declares size ${size}, smaller than the ${MESSAGE_OVERHEAD_V0}-byte minimum`);
    }
    if (size > remaining - LOG_OVERHEAD) {
      if (allowPartialTrailing) return;
      throw new LegacyMessageSetError(`message at byte ${pos}${where} declares ${size} bytes but only ${remaining - LOG_OVERHEAD} remain (truncated message set)`);
    }
    const end = start + size;
    const msg = readMessage(buf, pos, start, end, offset, where);
    if (wrapper) {
      if (msg.compression !== 0) {
        throw new LegacyMessageSetError(`message at byte ${pos}${where} is itself compressed (${compressionName(msg.compression)}); nested compression is not allowed`);
      }
      if (msg.message.magic !== wrapper.magic) {
        throw new LegacyMessageSetError(`message at byte ${pos}${where} has magic ${msg.message.magic} but its wrapper has magic ${wrapper.magic}`);
      }
      out.push({
        ...msg.message,
        timestamp: wrapper.magic === 1 && wrapper.logAppendTime ? wrapper.timestamp : msg.message.timestamp,
        logAppendTime: wrapper.logAppendTime,
        compression: wrapper.compression,
      });
    } else if (msg.compression !== 0) {
      const inner = decompress(msg, pos);
      const innerWrapper: Wrapper = {
        offset,
        magic: msg.message.magic,
        timestamp: msg.message.timestamp,
        logAppendTime: msg.message.logAppendTime,
        compression: msg.compression,
      };
      const before = out.length;
      readSet(inner, out, innerWrapper, false);
      if (out.length === before) {
        throw new LegacyMessageSetError(`${compressionName(msg.compression)} wrapper message at offset ${offset} holds no messages`);
      }
      if (msg.message.magic === 1) {
        // Inner offsets are relative; the wrapper holds the absolute offset of the last one.
        const shift = offset - out[out.length - 1]!.offset;
        for (let i = before; i < out.length; i++) out[i]!.offset += shift;
      }
    } else {
      out.push(msg.message);
    }
    pos = end;
  }
}

interface ReadMessage {
  message: LegacyMessage;
  compression: number;
}

function readMessage(buf: Buffer, at: number, start: number, end: number, offset: number, where: string): ReadMessage {
  const here = `message at byte ${at}${where}`;
  const magic = buf[start + 4]!;
  if (magic !== 0 && magic !== 1) {
    const hint = magic === 2 ? ' (a record batch v2 cannot follow legacy messages)' : '';
    throw new LegacyMessageSetError(`${here} has magic ${magic}, expected 0 or 1${hint}`);
  }
  const overhead = magic === 0 ? MESSAGE_OVERHEAD_V0 : MESSAGE_OVERHEAD_V1;
  if (end - start < overhead) {
    throw new LegacyMessageSetError(`${here} has size ${end - start}, smaller than the ${overhead}-byte minimum for magic ${magic}`);
  }
  const stored = buf.readUInt32BE(start);
  const computed = crc32(buf.subarray(start + 4, end)) >>> 0;
  if (stored !== computed) {
    throw new LegacyMessageSetError(`${here} fails its CRC check (stored 0x${hex32(stored)}, computed 0x${hex32(computed)})`);
  }
  const attributes = buf[start + 5]!;
  const compression = attributes & COMPRESSION_MASK;
  let p = start + 6;
  let timestamp: number | null = null;
  let logAppendTime = false;
  if (magic === 1) {
    timestamp = readInt64(buf, p);
    if (timestamp < NO_TIMESTAMP) throw new LegacyMessageSetError(`${here} has invalid timestamp ${timestamp}`);
    logAppendTime = (attributes & TIMESTAMP_TYPE_LOG_APPEND) !== 0;
    p += 8;
  }
  const key = readBytes(buf, p, end, `${here}: key`);
  p = key.next;
  const value = readBytes(buf, p, end, `${here}: value`);
  p = value.next;
  if (p !== end) throw new LegacyMessageSetError(`${here} has ${end - p} bytes after its value`);
  return {
    message: { offset, magic, timestamp, logAppendTime, key: key.data, value: value.data, compression: 0 },
    compression,
  };
}

function readBytes(buf: Buffer, p: number, end: number, what: string): { data: Buffer | null; next: number } {
  if (end - p < 4) throw new LegacyMessageSetError(`${what} length is truncated`);
  const length = buf.readInt32BE(p);
  p += 4;
  if (length === -1) return { data: null, next: p };
  if (length < 0) throw new LegacyMessageSetError(`${what} has invalid length ${length}`);
  if (length > end - p) throw new LegacyMessageSetError(`${what} declares ${length} bytes but the message has ${end - p} left`);
  return { data: buf.subarray(p, p + length), next: p + length };
}

function decompress(msg: ReadMessage, at: number): Buffer {
  const { compression } = msg;
  const { offset, value, magic } = msg.message;
  const here = `wrapper message at byte ${at} (offset ${offset})`;
  if (compression === 4) {
    throw new LegacyMessageSetError(`${here} uses zstd, which requires record batch v2 (Produce v7+)`, 'UNSUPPORTED_COMPRESSION_TYPE');
  }
  if (compression > 4) throw new LegacyMessageSetError(`${here} names unknown compression codec ${compression}`);
  if (value === null) throw new LegacyMessageSetError(`${here} is ${compressionName(compression)}-compressed but has a null value`);
  registerKafkaCodecs();
  try {
    return codecFor(compression).decompress(value);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new LegacyMessageSetError(`${here} (magic ${magic}) cannot be decompressed: ${detail}`, 'CORRUPT_MESSAGE', err);
  }
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export interface LegacyToBatchOptions {
  /**
   * Codec for the resulting batch. Default: the codec of the first compressed wrapper in the set
   * (Kafka's `compression.type=producer`), or none when nothing was compressed.
   */
  compression?: number;
}

/**
 * Converts a produce request's legacy message set into one record batch v2 (base offset 0,
 * producer id -1, no headers) with the same keys, values and order. Timestamps: v0 messages get
 * `now`; v1 CreateTime messages keep their own (or `now` when they carry none, -1); v1 messages
 * marked LogAppendTime get `now`, as the broker is the one appending them. Throws
 * LegacyMessageSetError on anything malformed, including a partial trailing message.
 */
export function legacyToRecordBatch(buf: Buffer, now: number, opts: LegacyToBatchOptions = {}): Buffer {
  if (buf.length === 0) throw new LegacyMessageSetError('legacy message set is empty');
  const messages = parseLegacyMessageSet(buf);
  if (messages.length === 0) throw new LegacyMessageSetError('legacy message set holds no messages');
  const records: ProduceRecord[] = new Array(messages.length);
  let sourceCompression = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (sourceCompression === 0) sourceCompression = m.compression;
    const timestamp = m.magic === 0 || m.logAppendTime || m.timestamp === null || m.timestamp === NO_TIMESTAMP ? now : m.timestamp;
    records[i] = { key: m.key, value: m.value, timestamp };
  }
  const compression = opts.compression ?? sourceCompression;
  if (compression !== 0) registerKafkaCodecs();
  return encodeRecordBatch(records, { now, compression, baseOffset: 0, producerId: -1 });
}
