import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { crc32, gzipSync } from 'node:zlib';
import {
  isLegacyMessageSet,
  legacyToRecordBatch,
  LegacyMessageSetError,
  parseLegacyMessageSet,
} from '../../../../src/kafka/protocol/records/legacy-message-set.ts';
import { lz4HeaderChecksums, registerKafkaCodecs, XERIAL_SNAPPY_MAGIC } from '../../../../src/kafka/protocol/records/compression-codecs.ts';
import { codecFor, Compression } from '../../../../src/log/batch/compression.ts';
import { checkBatch, decodeBatchRecords, readBatchHeader } from '../../../../src/log/batch/record-batch.ts';

const require = createRequire(import.meta.url);
const snappyjs = require('snappyjs') as { compress(b: Uint8Array): Uint8Array };
const lz4js = require('lz4js') as { compress(b: Uint8Array): Uint8Array };
const lz4jsXxh32 = require('lz4js/xxh32.js') as { hash(seed: number, b: Uint8Array, start: number, len: number): number };

const NOW = 1_750_000_000_000;

// ---------------------------------------------------------------------------------------------
// Hand-built legacy messages, per the Kafka protocol guide:
//   offset int64 | message_size int32 | crc int32 | magic int8 | attributes int8 |
//   [timestamp int64, magic 1 only] | key (int32 length, -1 = null) | value (likewise)

interface Msg {
  offset: number;
  magic: 0 | 1;
  attributes?: number;
  timestamp?: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
}

function bytesField(v: Buffer | string | null): Buffer {
  const len = Buffer.alloc(4);
  if (v === null) {
    len.writeInt32BE(-1);
    return len;
  }
  const data = typeof v === 'string' ? Buffer.from(v) : v;
  len.writeInt32BE(data.length);
  return Buffer.concat([len, data]);
}

function message(m: Msg): Buffer {
  const head = Buffer.alloc(m.magic === 1 ? 10 : 2);
  head.writeInt8(m.magic, 0);
  head.writeInt8(m.attributes ?? 0, 1);
  if (m.magic === 1) head.writeBigInt64BE(BigInt(m.timestamp ?? -1), 2);
  const body = Buffer.concat([head, bytesField(m.key), bytesField(m.value)]);
  const prefix = Buffer.alloc(16);
  prefix.writeBigInt64BE(BigInt(m.offset), 0);
  prefix.writeInt32BE(body.length + 4, 8);
  prefix.writeUInt32BE(crc32(body), 12);
  return Buffer.concat([prefix, body]);
}

function messageSet(msgs: Msg[]): Buffer {
  return Buffer.concat(msgs.map(message));
}

/** A compressed wrapper message holding `inner` (already compressed by `compress`). */
function wrapper(magic: 0 | 1, codec: number, offset: number, compressedInner: Buffer, extra: Partial<Msg> = {}): Buffer {
  return message({ offset, magic, attributes: codec | (extra.attributes ?? 0), timestamp: extra.timestamp ?? -1, key: null, value: compressedInner });
}

function xerial(data: Buffer): Buffer {
  const header = Buffer.alloc(16);
  XERIAL_SNAPPY_MAGIC.copy(header);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  const block = Buffer.from(snappyjs.compress(data));
  const len = Buffer.alloc(4);
  len.writeInt32BE(block.length);
  return Buffer.concat([header, len, block]);
}

/** An LZ4 frame with the header checksum Kafka 0.8/0.9 wrote (xxh32 over magic + descriptor). */
function kafkaLegacyLz4(data: Buffer): Buffer {
  registerKafkaCodecs();
  const frame = Buffer.from(codecFor(Compression.lz4).compress(data));
  const at = lz4HeaderChecksums(frame)!.at;
  frame[at] = (lz4jsXxh32.hash(0, frame, 0, at) >>> 8) & 0xff;
  return frame;
}

const KEYS: Array<string | null> = ['k0', null, '', 'k3'];
const VALUES: Array<string | null> = ['v0 '.repeat(20), 'v1', null, ''];
const TIMES = [NOW - 3000, NOW - 2000, -1, NOW - 1000];

function inner(magic: 0 | 1, relative: boolean, base = 0): Msg[] {
  return KEYS.map((key, i) => ({
    offset: relative ? i : base + i,
    magic,
    timestamp: TIMES[i]!,
    key,
    value: VALUES[i]!,
  }));
}

function asBuffer(v: string | null): Buffer | null {
  return v === null ? null : Buffer.from(v);
}

/** Converts, checks the batch structure, and compares keys/values/timestamps with the inputs. */
function assertConverted(set: Buffer, expectedTimestamps: number[], expectedCompression: number, label: string): void {
  assert.ok(isLegacyMessageSet(set), label);
  const batch = legacyToRecordBatch(set, NOW);
  assert.deepEqual(checkBatch(batch, 0, batch.length, 1 << 20), { ok: true, size: batch.length }, label);
  const h = readBatchHeader(batch);
  assert.equal(h.magic, 2, label);
  assert.equal(h.producerId, -1, label);
  assert.equal(h.producerEpoch, -1, label);
  assert.equal(h.baseSequence, -1, label);
  assert.equal(h.recordCount, KEYS.length, label);
  assert.equal(h.attributes & 0x07, expectedCompression, label);
  const records = decodeBatchRecords(batch);
  assert.equal(records.length, KEYS.length, label);
  records.forEach((r, i) => {
    assert.equal(r.offset, i, `${label}: offset ${i}`);
    assert.deepEqual(r.key, asBuffer(KEYS[i]!), `${label}: key ${i}`);
    assert.deepEqual(r.value, asBuffer(VALUES[i]!), `${label}: value ${i}`);
    assert.equal(r.timestamp, expectedTimestamps[i], `${label}: timestamp ${i}`);
    assert.deepEqual(r.headers, [], label);
  });
}

const V0_TIMES = KEYS.map(() => NOW);
/** v1 CreateTime keeps each message's timestamp; -1 (none) becomes the append time. */
const V1_TIMES = TIMES.map((t) => (t === -1 ? NOW : t));

test('isLegacyMessageSet looks at the magic byte of the first message', () => {
  assert.equal(isLegacyMessageSet(messageSet(inner(0, false))), true);
  assert.equal(isLegacyMessageSet(messageSet(inner(1, false))), true);
  const v2 = Buffer.alloc(70);
  v2[16] = 2;
  assert.equal(isLegacyMessageSet(v2), false);
  assert.equal(isLegacyMessageSet(Buffer.alloc(16)), false);
});

test('uncompressed v0 and v1 message sets convert to one v2 batch', () => {
  assertConverted(messageSet(inner(0, false, 500)), V0_TIMES, 0, 'v0');
  assertConverted(messageSet(inner(1, false, 500)), V1_TIMES, 0, 'v1 CreateTime');
  // v1 messages flagged LogAppendTime get the broker's time.
  const logAppend = inner(1, false).map((m) => ({ ...m, attributes: 0x08 }));
  assertConverted(messageSet(logAppend), V0_TIMES, 0, 'v1 LogAppendTime');
});

test('gzip wrappers (v0 and v1) convert, keeping gzip', () => {
  const v0 = wrapper(0, Compression.gzip, 3, gzipSync(messageSet(inner(0, false, 0))));
  assertConverted(v0, V0_TIMES, Compression.gzip, 'v0 gzip');
  const v1 = wrapper(1, Compression.gzip, 3, gzipSync(messageSet(inner(1, true))), { timestamp: NOW - 1000 });
  assertConverted(v1, V1_TIMES, Compression.gzip, 'v1 gzip');
});

test('snappy wrappers: snappy-java framing (Java) and raw blocks (librdkafka)', () => {
  const javaV0 = wrapper(0, Compression.snappy, 3, xerial(messageSet(inner(0, false))));
  assertConverted(javaV0, V0_TIMES, Compression.snappy, 'v0 snappy-java');
  const rawV1 = wrapper(1, Compression.snappy, 3, Buffer.from(snappyjs.compress(messageSet(inner(1, true)))));
  assertConverted(rawV1, V1_TIMES, Compression.snappy, 'v1 raw snappy');
  const javaV1 = wrapper(1, Compression.snappy, 3, xerial(messageSet(inner(1, true))));
  assertConverted(javaV1, V1_TIMES, Compression.snappy, 'v1 snappy-java');
});

test("lz4 wrappers: v1 with a standard frame, v0 with Kafka 0.8's header checksum", () => {
  const v1 = wrapper(1, Compression.lz4, 3, Buffer.from(lz4js.compress(messageSet(inner(1, true)))));
  assertConverted(v1, V1_TIMES, Compression.lz4, 'v1 lz4');
  const v0 = wrapper(0, Compression.lz4, 3, kafkaLegacyLz4(messageSet(inner(0, false))));
  assertConverted(v0, V0_TIMES, Compression.lz4, 'v0 lz4 legacy checksum');
});

test('several wrappers and plain messages in one set keep their order', () => {
  const set = Buffer.concat([
    message({ offset: 0, magic: 1, timestamp: NOW - 5, key: 'a', value: 'plain-a' }),
    wrapper(1, Compression.gzip, 2, gzipSync(messageSet([
      { offset: 0, magic: 1, timestamp: NOW - 4, key: 'b', value: 'gz-b' },
      { offset: 1, magic: 1, timestamp: NOW - 3, key: 'c', value: 'gz-c' },
    ]))),
    wrapper(1, Compression.snappy, 3, Buffer.from(snappyjs.compress(messageSet([{ offset: 0, magic: 1, timestamp: NOW - 2, key: 'd', value: 'sn-d' }])))),
  ]);
  const batch = legacyToRecordBatch(set, NOW);
  assert.equal(readBatchHeader(batch).attributes & 0x07, Compression.gzip, 'first codec seen');
  const records = decodeBatchRecords(batch);
  assert.deepEqual(records.map((r) => r.key?.toString()), ['a', 'b', 'c', 'd']);
  assert.deepEqual(records.map((r) => r.value?.toString()), ['plain-a', 'gz-b', 'gz-c', 'sn-d']);
  assert.deepEqual(records.map((r) => r.timestamp), [NOW - 5, NOW - 4, NOW - 3, NOW - 2]);

  const plain = legacyToRecordBatch(set, NOW, { compression: Compression.none });
  assert.equal(readBatchHeader(plain).attributes & 0x07, 0, 'compression override');
  assert.deepEqual(decodeBatchRecords(plain).map((r) => r.value?.toString()), ['plain-a', 'gz-b', 'gz-c', 'sn-d']);
});

test('parseLegacyMessageSet resolves relative inner offsets and wrapper timestamps', () => {
  const v1 = wrapper(1, Compression.gzip, 102, gzipSync(messageSet(inner(1, true).slice(0, 3))), { timestamp: NOW - 7 });
  assert.deepEqual(parseLegacyMessageSet(v1).map((m) => m.offset), [100, 101, 102]);
  assert.deepEqual(parseLegacyMessageSet(v1).map((m) => m.compression), [1, 1, 1]);
  const v0 = wrapper(0, Compression.gzip, 52, gzipSync(messageSet(inner(0, false, 50).slice(0, 3))));
  assert.deepEqual(parseLegacyMessageSet(v0).map((m) => m.offset), [50, 51, 52], 'v0 inner offsets are absolute');
  assert.deepEqual(parseLegacyMessageSet(v0).map((m) => m.timestamp), [null, null, null]);

  const logAppend = wrapper(1, Compression.gzip, 2, gzipSync(messageSet(inner(1, true).slice(0, 3))), { timestamp: NOW - 7, attributes: 0x08 });
  const parsed = parseLegacyMessageSet(logAppend);
  assert.deepEqual(parsed.map((m) => m.timestamp), [NOW - 7, NOW - 7, NOW - 7], "LogAppendTime: the wrapper's timestamp");
  assert.ok(parsed.every((m) => m.logAppendTime));
  const converted = decodeBatchRecords(legacyToRecordBatch(logAppend, NOW));
  assert.deepEqual(converted.map((r) => r.timestamp), [NOW, NOW, NOW], 'the broker appends, so it stamps');
});

test('a partial trailing message is an error for produce, and skipped only when asked', () => {
  const whole = messageSet(inner(1, false).slice(0, 2));
  const set = Buffer.concat([whole, message({ offset: 2, magic: 1, timestamp: NOW, key: 'x', value: 'truncated' }).subarray(0, 20)]);
  assertRejected(() => legacyToRecordBatch(set, NOW), /declares \d+ bytes but only 8 remain \(truncated message set\)/);
  assert.equal(parseLegacyMessageSet(set, { allowPartialTrailing: true }).length, 2);
  const stray = Buffer.concat([whole, Buffer.alloc(5)]);
  assertRejected(() => legacyToRecordBatch(stray, NOW), /ends with 5 stray bytes/);
  assert.equal(parseLegacyMessageSet(stray, { allowPartialTrailing: true }).length, 2);
});

// ---------------------------------------------------------------------------------------------
// Malformed input

function assertRejected(fn: () => unknown, pattern: RegExp, code = 'CORRUPT_MESSAGE', kafkaCode = 2): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LegacyMessageSetError, `expected LegacyMessageSetError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.kafkaCode, kafkaCode);
    assert.equal(err.retriable, false);
    assert.match(err.message, pattern);
    return true;
  });
}

/** Rewrites the CRC of the message starting at `at` (so a test can corrupt fields behind it). */
function fixCrc(buf: Buffer, at: number): Buffer {
  const size = buf.readInt32BE(at + 8);
  buf.writeUInt32BE(crc32(buf.subarray(at + 16, at + 12 + size)), at + 12);
  return buf;
}

test('a bad CRC is rejected', () => {
  const set = messageSet(inner(1, false));
  const flipped = Buffer.from(set);
  flipped[flipped.length - 1] ^= 0x01;
  assertRejected(() => legacyToRecordBatch(flipped, NOW), /message at byte \d+ fails its CRC check \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)/);
  const innerBad = Buffer.from(messageSet(inner(1, true)));
  innerBad[innerBad.length - 1] ^= 0x01;
  assertRejected(
    () => legacyToRecordBatch(wrapper(1, Compression.gzip, 3, gzipSync(innerBad)), NOW),
    /message at byte \d+ inside the gzip wrapper at offset 3 fails its CRC check/,
  );
});

test('bad sizes and lengths are rejected', () => {
  const one = message({ offset: 0, magic: 1, timestamp: NOW, key: 'key', value: 'value' });

  const tiny = Buffer.from(one);
  tiny.writeInt32BE(13, 8);
  assertRejected(() => legacyToRecordBatch(tiny, NOW), /declares size 13, smaller than the 14-byte minimum/);

  const negative = Buffer.from(one);
  negative.writeInt32BE(-1, 8);
  assertRejected(() => legacyToRecordBatch(negative, NOW), /declares size -1/);

  const v1TooSmall = fixCrc(Buffer.concat([message({ offset: 0, magic: 0, key: null, value: null })]), 0);
  v1TooSmall[16] = 1; // magic 1 needs 22 bytes, this message has 14
  fixCrc(v1TooSmall, 0);
  assertRejected(() => legacyToRecordBatch(v1TooSmall, NOW), /has size 14, smaller than the 22-byte minimum for magic 1/);

  const keyTooLong = Buffer.from(one);
  keyTooLong.writeInt32BE(1000, 26); // key length
  fixCrc(keyTooLong, 0);
  assertRejected(() => legacyToRecordBatch(keyTooLong, NOW), /key declares 1000 bytes but the message has \d+ left/);

  const badValueLen = Buffer.from(one);
  badValueLen.writeInt32BE(-2, 26 + 4 + 3);
  fixCrc(badValueLen, 0);
  assertRejected(() => legacyToRecordBatch(badValueLen, NOW), /value has invalid length -2/);

  const extra = Buffer.concat([one, Buffer.alloc(3)]);
  extra.writeInt32BE(one.readInt32BE(8) + 3, 8);
  fixCrc(extra, 0);
  assertRejected(() => legacyToRecordBatch(extra, NOW), /has 3 bytes after its value/);

  const badTs = Buffer.from(one);
  badTs.writeBigInt64BE(-5n, 18);
  fixCrc(badTs, 0);
  assertRejected(() => legacyToRecordBatch(badTs, NOW), /invalid timestamp -5/);

  assertRejected(() => legacyToRecordBatch(Buffer.alloc(0), NOW), /empty/);
});

test('wrong magic bytes are rejected', () => {
  const set = messageSet(inner(1, false).slice(0, 2));
  const second = set.readInt32BE(8) + 12;
  const withV2 = Buffer.from(set);
  withV2[second + 16] = 2;
  fixCrc(withV2, second);
  assertRejected(() => legacyToRecordBatch(withV2, NOW), /has magic 2, expected 0 or 1 \(a record batch v2 cannot follow legacy messages\)/);
  const magic7 = Buffer.from(set);
  magic7[16] = 7;
  assertRejected(() => legacyToRecordBatch(magic7, NOW), /message at byte 0 has magic 7, expected 0 or 1/);
});

test('bad compressed wrappers are rejected', () => {
  const inner1 = messageSet(inner(1, true));
  assertRejected(() => legacyToRecordBatch(wrapper(1, Compression.gzip, 3, Buffer.from('not gzip at all')), NOW), /wrapper message at byte 0 \(offset 3\) \(magic 1\) cannot be decompressed/);
  assertRejected(() => legacyToRecordBatch(wrapper(1, Compression.snappy, 3, Buffer.from('0a00', 'hex')), NOW), /cannot be decompressed: snappy-compressed data is corrupt/);
  assertRejected(() => legacyToRecordBatch(wrapper(1, Compression.lz4, 3, Buffer.from(snappyjs.compress(inner1))), NOW), /not an LZ4 frame/);
  assertRejected(
    () => legacyToRecordBatch(message({ offset: 0, magic: 1, attributes: Compression.gzip, timestamp: NOW, key: null, value: null }), NOW),
    /gzip-compressed but has a null value/,
  );
  assertRejected(() => legacyToRecordBatch(wrapper(1, 5, 3, inner1), NOW), /unknown compression codec 5/);
  assertRejected(
    () => legacyToRecordBatch(wrapper(1, Compression.zstd, 3, inner1), NOW),
    /uses zstd, which requires record batch v2/,
    'UNSUPPORTED_COMPRESSION_TYPE',
    76,
  );
  assertRejected(() => legacyToRecordBatch(wrapper(1, Compression.gzip, 3, gzipSync(Buffer.alloc(0))), NOW), /gzip wrapper message at offset 3 holds no messages/);

  const nested = wrapper(1, Compression.gzip, 0, gzipSync(inner1));
  assertRejected(() => legacyToRecordBatch(wrapper(1, Compression.gzip, 0, gzipSync(nested)), NOW), /is itself compressed \(gzip\); nested compression is not allowed/);

  const mixedMagic = wrapper(1, Compression.gzip, 3, gzipSync(messageSet(inner(0, true))));
  assertRejected(() => legacyToRecordBatch(mixedMagic, NOW), /has magic 0 but its wrapper has magic 1/);

  const partialInner = gzipSync(inner1.subarray(0, inner1.length - 4));
  assertRejected(() => legacyToRecordBatch(wrapper(1, Compression.gzip, 3, partialInner), NOW), /inside the gzip wrapper at offset 3 declares \d+ bytes but only \d+ remain/);
});

/** mulberry32: deterministic pseudo-random numbers for the corruption sweep. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('every truncation and random corruption fails cleanly, never reading past the end', () => {
  const sets = [
    messageSet(inner(0, false)),
    messageSet(inner(1, false)),
    wrapper(1, Compression.gzip, 3, gzipSync(messageSet(inner(1, true)))),
    wrapper(0, Compression.snappy, 3, xerial(messageSet(inner(0, false)))),
    wrapper(1, Compression.lz4, 3, Buffer.from(lz4js.compress(messageSet(inner(1, true))))),
  ];
  for (const set of sets) {
    const boundaries = new Set<number>();
    for (let pos = 0; pos < set.length; pos += set.readInt32BE(pos + 8) + 12) boundaries.add(pos);
    for (let len = 1; len < set.length; len++) {
      const prefix = set.subarray(0, len);
      if (boundaries.has(len)) {
        assert.ok(legacyToRecordBatch(prefix, NOW).length > 0, `whole messages up to byte ${len}`);
      } else {
        assert.throws(() => legacyToRecordBatch(prefix, NOW), LegacyMessageSetError, `prefix of ${len} bytes`);
      }
    }
  }
  const random = rng(42);
  for (const set of sets) {
    for (let i = 0; i < 300; i++) {
      const bad = Buffer.from(set);
      const flips = 1 + Math.floor(random() * 3);
      for (let f = 0; f < flips; f++) bad[Math.floor(random() * bad.length)] ^= 1 + Math.floor(random() * 255);
      try {
        const batch = legacyToRecordBatch(bad, NOW);
        // Only the offset fields are outside the CRC; changing them still gives a valid batch.
        assert.deepEqual(checkBatch(batch, 0, batch.length, 1 << 20), { ok: true, size: batch.length });
      } catch (err) {
        assert.ok(err instanceof LegacyMessageSetError, `corruption ${i} threw ${String(err)}`);
      }
    }
  }
  // Corrupt the compressed bytes behind a valid CRC, so the decompressors see them.
  for (const set of sets.slice(2)) {
    const valueStart = set[16] === 1 ? 34 : 26; // the wrapper's value, after its length field
    let decompressionErrors = 0;
    for (let i = 0; i < 300; i++) {
      const bad = Buffer.from(set);
      const at = valueStart + Math.floor(random() * (bad.length - valueStart));
      bad[at] ^= 1 + Math.floor(random() * 255);
      fixCrc(bad, 0);
      try {
        legacyToRecordBatch(bad, NOW);
      } catch (err) {
        assert.ok(err instanceof LegacyMessageSetError, `compressed corruption ${i} threw ${String(err)}`);
        const cause = err.cause as { name?: string; code?: string } | undefined;
        assert.ok(
          cause === undefined || cause.name === 'LogError' || /^Z_/.test(cause.code ?? ''),
          `compressed corruption ${i}: unexpected cause ${String(cause)}`,
        );
        if (cause !== undefined) decompressionErrors++;
      }
    }
    assert.ok(decompressionErrors > 0, 'the sweep reached the decompressors');
  }
});
