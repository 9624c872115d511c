import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { decompress as fzstdDecompress } from 'fzstd';
import {
  isXerialSnappy,
  lz4HeaderChecksums,
  registerKafkaCodecs,
  xxh32,
  XERIAL_SNAPPY_MAGIC,
} from '../../../../src/kafka/protocol/records/compression-codecs.ts';
import { codecFor, Compression } from '../../../../src/log/batch/compression.ts';
import { BATCH_HEADER_SIZE, checkBatch, decodeBatchRecords, encodeRecordBatch } from '../../../../src/log/batch/record-batch.ts';
import { crc32c } from '../../../../src/log/batch/crc32c.ts';
import { LogError } from '../../../../src/log/errors.ts';
import type { ProduceRecord } from '../../../../src/log/types.ts';

// Independent pure-JS implementations (devDependencies) to check interoperability both ways.
const require = createRequire(import.meta.url);
const snappyjs = require('snappyjs') as { compress(b: Uint8Array): Uint8Array; uncompress(b: Uint8Array): Uint8Array };
const lz4js = require('lz4js') as { compress(b: Uint8Array): Uint8Array; decompress(b: Uint8Array): Uint8Array };
const lz4jsXxh32 = require('lz4js/xxh32.js') as { hash(seed: number, b: Uint8Array, start: number, len: number): number };

registerKafkaCodecs();
registerKafkaCodecs(); // idempotent

const snappy = codecFor(Compression.snappy);
const lz4 = codecFor(Compression.lz4);
const zstd = codecFor(Compression.zstd);

/** Deterministic pseudo-random bytes (mulberry32), partly repetitive so codecs find matches. */
function payload(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = 0; i < size; i++) {
    out[i] = i % 97 < 60 ? 0x61 + (i % 7) : Math.floor(next() * 256);
  }
  return out;
}

const SIZES = [0, 1, 100, 70_000, 1_200_000];

function assertCorrupt(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LogError, `expected LogError, got ${String(err)}`);
    assert.equal(err.code, 'BATCH_INVALID');
    assert.equal(err.kafkaCode, 2);
    assert.match(err.message, pattern);
    return true;
  });
}

// Made once with the reference CLIs (lz4 v1.9.4, zstd v1.5.4) from this 342-byte text:
const CLI_TEXT = Buffer.from('Tributary fixture ' + 'abcdefgh'.repeat(40) + ' end');
/** `lz4 -c -BX`: block checksums and a content checksum. */
const LZ4_CLI_CHECKSUMS = Buffer.from(
  '04224d187440bd26000000ff0b54726962757461727920666978747572652061626364656667680800ff25506820656e643c4114090000000029510e9d',
  'hex',
);
/** `lz4 -c --content-size`: frame carries the content size. */
const LZ4_CLI_CONTENT_SIZE = Buffer.from(
  '04224d186c4056010000000000008e26000000ff0b54726962757461727920666978747572652061626364656667680800ff25506820656e640000000029510e9d',
  'hex',
);
/** `zstd -c --no-content-size` (streamed, as Java and librdkafka write it). */
const ZSTD_CLI_NO_SIZE = Buffer.from(
  '28b52ffd04002d0100f0547269627574617279206669787475726520616263646566676820656e640100d64c2d635a560db1',
  'hex',
);
/** `zstd -c -19`: frame carries the content size. */
const ZSTD_CLI_SIZED = Buffer.from(
  '28b52ffd6456002d0100f0547269627574617279206669787475726520616263646566676820656e640100d654ef185a560db1',
  'hex',
);

test('xxh32 matches the reference vectors and an independent implementation', () => {
  assert.equal(xxh32(Buffer.alloc(0)), 0x02cc5d05);
  assert.equal(xxh32(Buffer.from('a')), 0x550d7456);
  assert.equal(xxh32(Buffer.from('abc')), 0x32d153ff);
  for (let n = 0; n < 80; n++) {
    const data = payload(n, n);
    assert.equal(xxh32(data, n * 31), lz4jsXxh32.hash(n * 31, data, 0, n) >>> 0, `length ${n}`);
  }
});

for (const [name, codec] of [['snappy', snappy], ['lz4', lz4], ['zstd', zstd]] as const) {
  test(`${name} round-trips empty, small and multi-block payloads`, () => {
    for (const size of SIZES) {
      const data = payload(size, size + 1);
      const compressed = codec.compress(data);
      assert.ok(Buffer.isBuffer(compressed));
      if (size >= 70_000) assert.ok(compressed.length < data.length, `${name} should shrink ${size} repetitive bytes`);
      assert.deepEqual(codec.decompress(compressed), data, `${name} size ${size}`);
    }
  });
}

test('snappy: raw blocks interoperate with an independent implementation', () => {
  for (const size of SIZES.slice(1)) {
    const data = payload(size, 7);
    assert.deepEqual(snappy.decompress(Buffer.from(snappyjs.compress(data))), data);
    const ours = snappy.compress(data);
    assert.equal(isXerialSnappy(ours), false, 'compression writes a raw block (readable by every client)');
    assert.deepEqual(Buffer.from(snappyjs.uncompress(ours)), data);
  }
});

/** snappy-java framing built by hand: magic, version 1, compatible 1, then [int32 length][raw block] chunks. */
function xerialFrame(chunks: Buffer[]): Buffer {
  const header = Buffer.alloc(16);
  XERIAL_SNAPPY_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  const parts: Buffer[] = [header];
  for (const chunk of chunks) {
    const block = Buffer.from(snappyjs.compress(chunk));
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}

test('snappy: snappy-java (xerial) framing with several chunks decodes', () => {
  const data = payload(100_000, 3);
  const framed = xerialFrame([data.subarray(0, 32_768), data.subarray(32_768, 65_536), data.subarray(65_536)]);
  assert.ok(isXerialSnappy(framed));
  assert.deepEqual(snappy.decompress(framed), data);
  assert.deepEqual(snappy.decompress(xerialFrame([])), Buffer.alloc(0), 'header only = empty stream');
});

test('snappy: malformed input is rejected with a clear error', () => {
  const framed = xerialFrame([payload(5000, 1)]);
  assertCorrupt(() => snappy.decompress(framed.subarray(0, framed.length - 10)), /snappy-java chunk at byte 16 declares \d+ bytes but \d+ remain/);
  assertCorrupt(() => snappy.decompress(framed.subarray(0, 18)), /chunk length at byte 16 is truncated/);
  const zeroChunk = Buffer.concat([framed.subarray(0, 16), Buffer.alloc(4)]);
  assertCorrupt(() => snappy.decompress(zeroChunk), /declares 0 bytes/);
  const badVersion = Buffer.from(framed);
  badVersion.writeInt32BE(0, 8);
  assertCorrupt(() => snappy.decompress(badVersion), /framing version 0/);
  assertCorrupt(() => snappy.decompress(Buffer.alloc(0)), /snappy/);
  assertCorrupt(() => snappy.decompress(Buffer.from('0a00', 'hex')), /snappy-compressed data is corrupt/);
  // A forged preamble claiming 4 GiB is refused before the decoder allocates anything.
  assertCorrupt(() => snappy.decompress(Buffer.from('ffffffff0f00', 'hex')), /claims 4294967295 uncompressed bytes/);
});

test('lz4: writes a frame Java can read (independent blocks, no content size)', () => {
  const frame = lz4.compress(payload(200_000, 9));
  assert.equal(frame.readUInt32LE(0), 0x184d2204, 'LZ4 frame magic');
  const flg = frame[4]!;
  assert.equal(flg >> 6, 1, 'version 01');
  assert.ok(flg & 0x20, 'block independence set');
  assert.equal(flg & 0x08, 0, 'no content size');
  assert.ok([0x40, 0x50, 0x60, 0x70].includes(frame[5]!), `block size descriptor 0x${frame[5]!.toString(16)} names 64 KiB–4 MiB`);
  const hc = lz4HeaderChecksums(frame)!;
  assert.equal(hc.actual, hc.correct);
});

test('lz4: frames from an independent implementation (linked blocks) and the lz4 CLI decode', () => {
  for (const size of SIZES.slice(1)) {
    const data = payload(size, 11);
    assert.deepEqual(lz4.decompress(Buffer.from(lz4js.compress(data))), data, `lz4js frame of ${size}`);
    assert.deepEqual(Buffer.from(lz4js.decompress(lz4.compress(data))), data, `ours read by lz4js, ${size}`);
  }
  assert.deepEqual(lz4.decompress(LZ4_CLI_CHECKSUMS), CLI_TEXT);
  assert.deepEqual(lz4.decompress(LZ4_CLI_CONTENT_SIZE), CLI_TEXT);
  // The header checksum computed here agrees with the one the reference CLI wrote.
  for (const f of [LZ4_CLI_CHECKSUMS, LZ4_CLI_CONTENT_SIZE]) {
    const hc = lz4HeaderChecksums(f)!;
    assert.equal(hc.correct, hc.actual);
  }
});

test("lz4: Kafka 0.8/0.9's header checksum (taken over the magic too) is accepted; others are not", () => {
  const data = payload(3000, 5);
  const frame = lz4.compress(data);
  const at = 6;
  const legacy = Buffer.from(frame);
  legacy[at] = (lz4jsXxh32.hash(0, frame, 0, at) >>> 8) & 0xff;
  assert.notEqual(legacy[at], frame[at]);
  assert.deepEqual(lz4.decompress(legacy), data);
  assert.deepEqual(legacy[at], (lz4jsXxh32.hash(0, frame, 0, at) >>> 8) & 0xff, 'input left unchanged');

  const wrong = Buffer.from(frame);
  wrong[at] = (frame[at]! + 1) & 0xff;
  if (wrong[at] === legacy[at]) wrong[at] = (frame[at]! + 2) & 0xff;
  assertCorrupt(() => lz4.decompress(wrong), /header checksum is 0x[0-9a-f]+, expected 0x[0-9a-f]+/);
});

test('lz4: malformed input is rejected with a clear error', () => {
  // A bare block with a length prefix (not a frame) is what real Kafka brokers reject too.
  const bareBlock = Buffer.concat([Buffer.from([0x0d, 0, 0, 0]), Buffer.from('d0hello, world!', 'latin1')]);
  assertCorrupt(() => lz4.decompress(bareBlock), /not an LZ4 frame .*KIP-57/);
  assertCorrupt(() => lz4.decompress(Buffer.alloc(0)), /not an LZ4 frame \(starts with nothing/);
  assertCorrupt(() => lz4.decompress(Buffer.from('04224d18', 'hex')), /frame header is truncated/);
  const frame = lz4.compress(payload(5000, 2));
  assertCorrupt(() => lz4.decompress(frame.subarray(0, frame.length - 6)), /lz4-compressed data is corrupt: invalid frame/);
  const badContent = Buffer.from(LZ4_CLI_CHECKSUMS);
  badContent[badContent.length - 1] ^= 0xff; // content checksum
  assertCorrupt(() => lz4.decompress(badContent), /lz4-compressed data is corrupt/);
});

test('zstd: frames from the zstd CLI (with and without content size, concatenated) decode', () => {
  assert.deepEqual(zstd.decompress(ZSTD_CLI_NO_SIZE), CLI_TEXT);
  assert.deepEqual(zstd.decompress(ZSTD_CLI_SIZED), CLI_TEXT);
  assert.deepEqual(zstd.decompress(Buffer.concat([ZSTD_CLI_NO_SIZE, ZSTD_CLI_SIZED])), Buffer.concat([CLI_TEXT, CLI_TEXT]));
});

test('zstd: our frames decode with an independent decoder', () => {
  for (const size of SIZES) {
    const data = payload(size, 13);
    const frame = zstd.compress(data);
    assert.equal(frame.readUInt32LE(0), 0xfd2fb528, 'zstd frame magic');
    assert.deepEqual(Buffer.from(fzstdDecompress(frame)), data, `size ${size}`);
  }
});

test('zstd: malformed input is rejected with a clear error', () => {
  assertCorrupt(() => zstd.decompress(Buffer.from('not zstd at all')), /zstd-compressed data is corrupt: invalid frame/);
  assertCorrupt(() => zstd.decompress(ZSTD_CLI_NO_SIZE.subarray(0, ZSTD_CLI_NO_SIZE.length - 5)), /zstd-compressed data is corrupt/);
  const badChecksum = Buffer.from(ZSTD_CLI_NO_SIZE);
  badChecksum[badChecksum.length - 1] ^= 0xff;
  assertCorrupt(() => zstd.decompress(badChecksum), /zstd-compressed data is corrupt/);
});

// ---------------------------------------------------------------------------------------------
// Record batches v2 whose records section is compressed

const RECORDS: ProduceRecord[] = [0, 1, 2].map((i) => ({
  key: Buffer.from(`key-${i}`),
  value: Buffer.from(`value ${i} `.repeat(8)),
  timestamp: 1_700_000_000_000 + i,
  headers: i === 1 ? [{ key: 'h', value: Buffer.from('x') }] : [],
}));

/** The records section of RECORDS, compressed by `zstd -c --no-content-size` (CLI v1.5.4). */
const ZSTD_CLI_RECORDS = Buffer.from(
  '28b52ffd0400150200a40298010000000a6b65792d30800176616c756520302000a00100020231310202680278980100040432320009008308201f10abc2d58318201f108bc2057767b903f14d4cab',
  'hex',
);

/** Replaces an uncompressed batch's records section by `compressedRecords`, as a client would send it. */
function withCompressedRecords(plain: Buffer, compression: number, compressedRecords: Buffer): Buffer {
  const out = Buffer.concat([plain.subarray(0, BATCH_HEADER_SIZE), compressedRecords]);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE((out.readInt16BE(21) & ~0x07) | compression, 21);
  out.writeUInt32BE(crc32c(out.subarray(21)), 17);
  return out;
}

function assertDecodesToRecords(batch: Buffer, label: string): void {
  assert.deepEqual(checkBatch(batch, 0, batch.length, 1 << 20), { ok: true, size: batch.length }, label);
  const decoded = decodeBatchRecords(batch);
  assert.equal(decoded.length, RECORDS.length, label);
  decoded.forEach((r, i) => {
    assert.equal(r.offset, 100 + i, label);
    assert.deepEqual(r.key, RECORDS[i]!.key, label);
    assert.deepEqual(r.value, RECORDS[i]!.value, label);
    assert.equal(r.timestamp, RECORDS[i]!.timestamp, label);
    assert.deepEqual(r.headers, RECORDS[i]!.headers, label);
  });
}

test('decodeBatchRecords reads batches compressed with each codec by this build', () => {
  for (const compression of [Compression.gzip, Compression.snappy, Compression.lz4, Compression.zstd]) {
    const batch = encodeRecordBatch(RECORDS, { baseOffset: 100, compression });
    assert.equal(batch.readInt16BE(21) & 0x07, compression);
    assertDecodesToRecords(batch, `codec ${compression}`);
  }
});

test('decodeBatchRecords reads batches compressed by other implementations', () => {
  const plain = encodeRecordBatch(RECORDS, { baseOffset: 100 });
  const body = plain.subarray(BATCH_HEADER_SIZE);
  assert.deepEqual(Buffer.from(fzstdDecompress(ZSTD_CLI_RECORDS)), body, 'fixture matches the records section');
  const cases: Array<[string, number, Buffer]> = [
    ['raw snappy (librdkafka style)', Compression.snappy, Buffer.from(snappyjs.compress(body))],
    ['snappy-java framing (Java style)', Compression.snappy, xerialFrame([body.subarray(0, 100), body.subarray(100)])],
    ['lz4 frame (lz4js)', Compression.lz4, Buffer.from(lz4js.compress(body))],
    ['zstd frame (zstd CLI)', Compression.zstd, ZSTD_CLI_RECORDS],
  ];
  for (const [label, compression, compressed] of cases) {
    assertDecodesToRecords(withCompressedRecords(plain, compression, compressed), label);
  }
});

test('decodeBatchRecords reports a corrupt compressed batch as BATCH_INVALID', () => {
  const plain = encodeRecordBatch(RECORDS, { baseOffset: 100 });
  const batch = withCompressedRecords(plain, Compression.lz4, Buffer.from('garbage, not lz4'));
  assertCorrupt(() => decodeBatchRecords(batch), /not an LZ4 frame/);
});
