/**
 * Snappy, LZ4 and zstd codecs for Kafka record batches, registered in the log's codec registry
 * (gzip is built into the log). Each follows what real Kafka clients put on the wire:
 *
 * - snappy (id 2): librdkafka and most non-Java clients send one raw snappy block; the Java
 *   client sends snappy-java ("xerial") framing: magic `82 'SNAPPY' 00`, int32 version, int32
 *   compatible version, then chunks of [int32 big-endian length][raw snappy block]. Decompression
 *   accepts both. Compression writes a raw block: snappy-java's reader falls back to a raw block
 *   when the magic is absent (that is how Java consumers read librdkafka's batches), librdkafka
 *   and kafkajs-snappy accept both, and @platformatic/kafka reads raw blocks only.
 * - lz4 (id 3): the LZ4 *frame* format (KIP-57), never bare blocks. Kafka 0.8/0.9 wrote a wrong
 *   header checksum (xxh32 taken over the magic bytes too); decompression accepts the correct
 *   checksum and that historical one (the library itself rejects any other). Compression writes
 *   independent blocks (64 KiB–4 MiB) without checksums, which Java's KafkaLZ4BlockInputStream requires
 *   (it cannot read linked blocks).
 * - zstd (id 4): standard zstd frames (streaming decoder: frames without a content size, as Java
 *   and librdkafka write them, and concatenated frames). Compression level 3, Kafka's default.
 *
 * The native packages are loaded on first use, so a platform without a prebuilt binary fails
 * only when a batch with that codec is read or written, with an error naming the package.
 * Corrupt input throws LogError BATCH_INVALID (Kafka CORRUPT_MESSAGE).
 */
import { createRequire } from 'node:module';
import type * as SnappyModule from 'snappy';
import type * as Lz4Module from 'lz4-napi';
import type * as ZstdModule from '@toondepauw/node-zstd';
import { Compression, LogError, registerCodec, type Codec } from '../../../log/index.ts';

const require = createRequire(import.meta.url);

function load<T>(pkg: string, codec: string): () => T {
  let mod: T | undefined;
  return () => {
    if (mod === undefined) {
      try {
        mod = require(pkg) as T;
      } catch (err) {
        throw new LogError(
          'BATCH_INVALID',
          `${codec} compression is unavailable: the '${pkg}' package could not be loaded (${(err as Error).message})`,
          err,
        );
      }
    }
    return mod;
  };
}

const snappyLib = load<typeof SnappyModule>('snappy', 'snappy');
const lz4Lib = load<typeof Lz4Module>('lz4-napi', 'lz4');
const zstdLib = load<typeof ZstdModule>('@toondepauw/node-zstd', 'zstd');

function corrupt(codec: string, what: string, cause?: unknown): LogError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new LogError('BATCH_INVALID', `${codec}-compressed data is corrupt: ${what}${detail}`, cause);
}

// ---------------------------------------------------------------------------------------------
// snappy

/** snappy-java's stream header: 0x82 "SNAPPY" 0x00, then int32 version and int32 compatible version. */
export const XERIAL_SNAPPY_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;

/** True when `data` starts with snappy-java's framing header. */
export function isXerialSnappy(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_SIZE && data.subarray(0, XERIAL_SNAPPY_MAGIC.length).equals(XERIAL_SNAPPY_MAGIC);
}

/**
 * A raw snappy block starts with the uncompressed length as an unsigned varint. No snappy
 * element expands more than 64/3 times (a 3-byte copy of 64 bytes), so a larger claim is corrupt;
 * checking it first keeps a few forged bytes from making the decoder allocate gigabytes.
 */
function checkSnappyPreamble(block: Buffer): void {
  let declared = 0;
  let shift = 1;
  for (let i = 0; ; i++) {
    if (i >= block.length || i >= 5) throw corrupt('snappy', 'truncated or oversized length preamble');
    const b = block[i]!;
    declared += (b & 0x7f) * shift;
    shift *= 128;
    if ((b & 0x80) === 0) break;
  }
  if (declared > block.length * 22 + 64) {
    throw corrupt('snappy', `block of ${block.length} bytes claims ${declared} uncompressed bytes`);
  }
}

function snappyRawDecompress(block: Buffer): Buffer {
  checkSnappyPreamble(block);
  try {
    return snappyLib().uncompressSync(block, { asBuffer: true }) as Buffer;
  } catch (err) {
    throw corrupt('snappy', 'invalid block', err);
  }
}

function snappyDecompress(data: Buffer): Buffer {
  if (!isXerialSnappy(data)) return snappyRawDecompress(data);
  const version = data.readInt32BE(8);
  if (version < 1) throw corrupt('snappy', `snappy-java framing version ${version} (expected 1 or later)`);
  const chunks: Buffer[] = [];
  let pos = XERIAL_HEADER_SIZE;
  while (pos < data.length) {
    if (data.length - pos < 4) throw corrupt('snappy', `snappy-java chunk length at byte ${pos} is truncated`);
    const length = data.readInt32BE(pos);
    pos += 4;
    if (length <= 0 || length > data.length - pos) {
      throw corrupt('snappy', `snappy-java chunk at byte ${pos - 4} declares ${length} bytes but ${data.length - pos} remain`);
    }
    chunks.push(snappyRawDecompress(data.subarray(pos, pos + length)));
    pos += length;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

const snappyCodec: Codec = {
  compress: (data) => snappyLib().compressSync(data),
  decompress: snappyDecompress,
};

// ---------------------------------------------------------------------------------------------
// lz4

const LZ4_MAGIC = 0x184d2204;

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** XXH32 of `data[start, end)` (the LZ4 frame format's checksum), as an unsigned 32-bit number. */
export function xxh32(data: Uint8Array, seed = 0, start = 0, end = data.length): number {
  const len = end - start;
  let p = start;
  let acc: number;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    const limit = end - 16;
    while (p <= limit) {
      v1 = Math.imul(rotl((v1 + Math.imul(readU32LE(data, p), P2)) | 0, 13), P1);
      v2 = Math.imul(rotl((v2 + Math.imul(readU32LE(data, p + 4), P2)) | 0, 13), P1);
      v3 = Math.imul(rotl((v3 + Math.imul(readU32LE(data, p + 8), P2)) | 0, 13), P1);
      v4 = Math.imul(rotl((v4 + Math.imul(readU32LE(data, p + 12), P2)) | 0, 13), P1);
      p += 16;
    }
    acc = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    acc = (seed + P5) | 0;
  }
  acc = (acc + len) | 0;
  while (p + 4 <= end) {
    acc = Math.imul(rotl((acc + Math.imul(readU32LE(data, p), P3)) | 0, 17), P4);
    p += 4;
  }
  while (p < end) {
    acc = Math.imul(rotl((acc + Math.imul(data[p]!, P5)) | 0, 11), P1);
    p++;
  }
  acc ^= acc >>> 15;
  acc = Math.imul(acc, P2);
  acc ^= acc >>> 13;
  acc = Math.imul(acc, P3);
  acc ^= acc >>> 16;
  return acc >>> 0;
}

function readU32LE(data: Uint8Array, p: number): number {
  return data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16) | (data[p + 3]! << 24);
}

/**
 * The header-checksum byte of the LZ4 frame in `frame`: `correct` per the frame format (xxh32 of
 * the frame descriptor), `kafkaLegacy` as Kafka 0.8/0.9 wrote it (xxh32 from the magic number on),
 * `actual` what the frame carries, `at` its position. Null when `frame` is too short to hold a
 * frame header or does not start with the LZ4 frame magic.
 */
export function lz4HeaderChecksums(frame: Buffer): { correct: number; kafkaLegacy: number; actual: number; at: number } | null {
  if (frame.length < 7 || frame.readUInt32LE(0) !== LZ4_MAGIC) return null;
  const flg = frame[4]!;
  const at = 6 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0);
  if (frame.length <= at) return null;
  return {
    correct: (xxh32(frame, 0, 4, at) >>> 8) & 0xff,
    kafkaLegacy: (xxh32(frame, 0, 0, at) >>> 8) & 0xff,
    actual: frame[at]!,
    at,
  };
}

function lz4Decompress(data: Buffer): Buffer {
  if (data.length < 4 || data.readUInt32LE(0) !== LZ4_MAGIC) {
    const start = data.subarray(0, 4).toString('hex');
    throw corrupt('lz4', `not an LZ4 frame (starts with ${start || 'nothing'}; Kafka requires the LZ4 frame format, KIP-57)`);
  }
  const hc = lz4HeaderChecksums(data);
  if (!hc) throw corrupt('lz4', `frame header is truncated (${data.length} bytes)`);
  let frame = data;
  if (hc.actual !== hc.correct) {
    if (hc.actual !== hc.kafkaLegacy) {
      throw corrupt('lz4', `frame header checksum is 0x${hc.actual.toString(16)}, expected 0x${hc.correct.toString(16)}`);
    }
    frame = Buffer.from(data);
    frame[hc.at] = hc.correct;
  }
  try {
    return lz4Lib().decompressFrameSync(frame);
  } catch (err) {
    throw corrupt('lz4', 'invalid frame', err);
  }
}

const lz4Codec: Codec = {
  compress: (data) => lz4Lib().compressFrameSync(data),
  decompress: lz4Decompress,
};

// ---------------------------------------------------------------------------------------------
// zstd

/** Kafka's default zstd level (compression.zstd.level). */
const ZSTD_LEVEL = 3;
let zstdEncoder: ZstdModule.Encoder | undefined;
let zstdDecoder: ZstdModule.Decoder | undefined;

const zstdCodec: Codec = {
  compress(data) {
    zstdEncoder ??= new (zstdLib().Encoder)(ZSTD_LEVEL);
    return zstdEncoder.encodeSync(data);
  },
  decompress(data) {
    zstdDecoder ??= new (zstdLib().Decoder)();
    try {
      return zstdDecoder.decodeSync(data);
    } catch (err) {
      throw corrupt('zstd', 'invalid frame', err);
    }
  },
};

// ---------------------------------------------------------------------------------------------

let registered = false;

/** Registers snappy, lz4 and zstd in the log's codec registry; later calls do nothing. */
export function registerKafkaCodecs(): void {
  if (registered) return;
  registerCodec(Compression.snappy, snappyCodec);
  registerCodec(Compression.lz4, lz4Codec);
  registerCodec(Compression.zstd, zstdCodec);
  registered = true;
}
