import { test } from 'node:test';
import assert from 'node:assert/strict';
import { murmur2, partitionForKey, Partitioner } from '../../src/bus/partitioner.ts';

// Vectors from Apache Kafka's UtilsTest.testMurmur2 (the Java client's hash).
const JAVA_VECTORS: Array<[string, number]> = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];

test('murmur2 matches the Java client for every remainder length', () => {
  for (const [input, expected] of JAVA_VECTORS) assert.equal(murmur2(Buffer.from(input)), expected, input);
});

test('keyed partition = positive murmur2 modulo the partition count', () => {
  assert.equal(partitionForKey(Buffer.from('foobar'), 7), (-790332482 & 0x7fffffff) % 7);
  const p = new Partitioner();
  for (let i = 0; i < 100; i++) {
    const key = Buffer.from(`user-${i}`);
    assert.equal(p.choose('t', 12, key), partitionForKey(key, 12));
  }
});

test('keyless records stick to one partition until the batch is sent', () => {
  const p = new Partitioner();
  const first = p.choose('t', 8, null);
  for (let i = 0; i < 10; i++) assert.equal(p.choose('t', 8, null), first);
  const seen = new Set<number>();
  for (let i = 0; i < 64; i++) {
    seen.add(p.choose('t', 8, null));
    p.batchSent('t');
  }
  assert.ok(seen.size > 1, 'sticky partition never moved');
  assert.equal(p.choose('t', 8, null, 3), 3, 'explicit partition wins');
});
