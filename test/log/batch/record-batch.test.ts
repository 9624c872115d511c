import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BATCH_HEADER_SIZE,
  checkBatch,
  decodeBatchRecords,
  encodeRecordBatch,
  readBatchHeader,
  setBatchBaseOffset,
} from '../../../src/log/batch/record-batch.ts';
import { Compression } from '../../../src/log/batch/compression.ts';
import { crc32c } from '../../../src/log/batch/crc32c.ts';
import { ByteReader, varintSize, writeVarint } from '../../../src/log/batch/varint.ts';

test('crc32c matches the Castagnoli check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('zig-zag varints round-trip across 32- and 53-bit ranges', () => {
  const values = [0, 1, -1, 63, -64, 64, 127, 128, -129, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 40 + 5, -(2 ** 45), Number.MAX_SAFE_INTEGER >> 1];
  for (const v of values) {
    const buf = Buffer.alloc(16);
    const end = writeVarint(buf, 0, v);
    assert.equal(end, varintSize(v), `size of ${v}`);
    const r = new ByteReader(buf, 0, end);
    assert.equal(r.varint(), v);
    assert.equal(r.pos, end);
  }
});

test('record batch round-trips keys, null values, headers and timestamps', () => {
  const records = [
    { key: Buffer.from('k1'), value: Buffer.from('v1'), timestamp: 1_700_000_000_000 },
    { key: null, value: null, timestamp: 1_700_000_000_500, headers: [{ key: 'h', value: Buffer.from('x') }, { key: 'empty', value: null }] },
    { key: Buffer.alloc(0), value: Buffer.alloc(300, 7), timestamp: 1_699_999_999_000 },
  ];
  const buf = encodeRecordBatch(records, { baseOffset: 42, producerId: 9, producerEpoch: 1, baseSequence: 5 });
  const h = readBatchHeader(buf);
  assert.equal(h.magic, 2);
  assert.equal(h.baseOffset, 42);
  assert.equal(h.recordCount, 3);
  assert.equal(h.lastOffsetDelta, 2);
  assert.equal(h.baseTimestamp, 1_699_999_999_000);
  assert.equal(h.maxTimestamp, 1_700_000_000_500);
  assert.equal(h.producerId, 9);
  assert.equal(h.baseSequence, 5);
  assert.deepEqual(checkBatch(buf, 0, buf.length, 1 << 20), { ok: true, size: buf.length });
  const out = decodeBatchRecords(buf);
  assert.deepEqual(out.map((r) => r.offset), [42, 43, 44]);
  assert.equal(out[0]!.key!.toString(), 'k1');
  assert.equal(out[1]!.key, null);
  assert.equal(out[1]!.value, null);
  assert.deepEqual(out[1]!.headers.map((x) => [x.key, x.value?.toString() ?? null]), [['h', 'x'], ['empty', null]]);
  assert.equal(out[2]!.key!.length, 0);
  assert.equal(out[2]!.value!.length, 300);
  assert.deepEqual(out.map((r) => r.timestamp), records.map((r) => r.timestamp));
});

test('gzip-compressed batches round-trip', () => {
  const records = Array.from({ length: 50 }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from('same text again '.repeat(10)) }));
  const plain = encodeRecordBatch(records);
  const gz = encodeRecordBatch(records, { compression: Compression.gzip });
  assert.ok(gz.length < plain.length / 3, 'gzip shrinks repetitive data');
  assert.equal(readBatchHeader(gz).attributes & 7, Compression.gzip);
  assert.deepEqual(decodeBatchRecords(gz).map((r) => r.key!.toString()), records.map((r) => r.key.toString()));
});

test('the base offset can be rewritten without breaking the CRC', () => {
  const buf = encodeRecordBatch([{ value: Buffer.from('x') }]);
  setBatchBaseOffset(buf, 0, 123_456_789_012);
  assert.equal(readBatchHeader(buf).baseOffset, 123_456_789_012);
  assert.ok(checkBatch(buf, 0, buf.length, 1 << 20).ok);
});

test('a flipped byte anywhere after the CRC field is detected', () => {
  const buf = encodeRecordBatch([{ key: Buffer.from('a'), value: Buffer.from('hello world') }]);
  for (let i = 21; i < buf.length; i++) {
    const copy = Buffer.from(buf);
    copy[i] = copy[i]! ^ 0x40;
    const res = checkBatch(copy, 0, copy.length, 1 << 20);
    assert.equal(res.ok, false, `flip at byte ${i} went unnoticed`);
  }
});

test('structural problems are reported with a reason', () => {
  const buf = encodeRecordBatch([{ value: Buffer.from('x') }]);
  const short = checkBatch(buf.subarray(0, 30), 0, 30, 1 << 20);
  assert.equal(short.ok, false);
  assert.match((short as { reason: string }).reason, /declares \d+ bytes but only 30/);
  const magic = Buffer.from(buf);
  magic[16] = 1;
  assert.match((checkBatch(magic, 0, magic.length, 1 << 20) as { reason: string }).reason, /magic 1/);
  assert.match((checkBatch(buf, 0, buf.length, 40) as { reason: string }).reason, /exceeds the limit/);
  assert.ok(BATCH_HEADER_SIZE === 61);
});

test('compaction-style offset deltas keep original offsets', () => {
  const buf = encodeRecordBatch([{ value: Buffer.from('a') }, { value: Buffer.from('c') }], { baseOffset: 100, offsetDeltas: [0, 2], lastOffsetDelta: 5 });
  const h = readBatchHeader(buf);
  assert.equal(h.lastOffsetDelta, 5);
  assert.deepEqual(decodeBatchRecords(buf).map((r) => r.offset), [100, 102]);
});

test('malformed record bytes raise BATCH_INVALID instead of reading garbage', () => {
  const buf = encodeRecordBatch([{ key: Buffer.from('key'), value: Buffer.from('value') }]);
  // Claim a huge key length inside the record (the CRC is the caller's job; decoding must still be safe).
  buf[BATCH_HEADER_SIZE + 4] = 0x7e;
  assert.throws(() => decodeBatchRecords(buf), (e: Error & { code?: string }) => e.code === 'BATCH_INVALID');
});

test('record-level validation catches what a valid CRC does not', async () => {
  const { validateBatchRecords, computeBatchCrc } = await import('../../../src/log/batch/record-batch.ts');
  const good = encodeRecordBatch([{ key: Buffer.from('k'), value: Buffer.from('value') }, { value: Buffer.from('second') }]);
  assert.equal(validateBatchRecords(good), null);
  const resign = (b: Buffer) => {
    b.writeUInt32BE(computeBatchCrc(b), 17);
    return b;
  };
  // A record count that does not match the records, signed with a correct CRC.
  const wrongCount = Buffer.from(good);
  wrongCount.writeInt32BE(3, 57);
  wrongCount.writeInt32BE(2, 23);
  assert.match(validateBatchRecords(resign(wrongCount))!, /runs past|length/);
  // Trailing bytes after the last record.
  const trailing = Buffer.concat([good, Buffer.from([1, 2, 3])]);
  trailing.writeInt32BE(trailing.length - 12, 8);
  assert.match(validateBatchRecords(resign(trailing))!, /after the last/);
  // Compressed data that is not gzip.
  const fake = Buffer.from(good);
  fake.writeInt16BE(1, 21);
  assert.match(validateBatchRecords(resign(fake))!, /cannot decompress/);
});
