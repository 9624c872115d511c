/**
 * Bad input: records that do not deserialize, user functions that throw, unusable or far-future
 * event times go to the dead-letter topic with headers naming the cause (or stop the task with
 * onError 'stop'); nothing else is lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DLQ_HEADERS, Serdes, StreamsBuilder, StreamsError, TopologyTestDriver } from '../../src/streams/index.ts';

function header(h: Array<{ key: string; value: Buffer | null }>, key: string): string | undefined {
  return h.find((x) => x.key === key)?.value?.toString();
}

function app(): StreamsBuilder {
  const b = new StreamsBuilder('bad');
  b.stream<string, { n: number }>('in', { timestamp: (v, _k, ts) => (v.n === -1 ? Number.NaN : ts) })
    .mapValues((v) => {
      if (v.n === 13) throw new Error('unlucky number');
      return v.n * 2;
    }, { name: 'double' })
    .groupByKey()
    .count({ name: 'counts' })
    .toStream()
    .to('out');
  return b;
}

test('undeserializable records, throwing user functions and bad event times go to the dead-letter topic; the rest is processed', () => {
  const d = new TopologyTestDriver(app().build(), { wallClock: 1_000_000, maxFutureMs: 60_000 });
  d.pipe('in', 'a', { n: 1 }, 999_000);
  d.pipeRaw('in', Buffer.from('a'), Buffer.from('{not json'), 999_001, [{ key: 'trace', value: Buffer.from('t1') }]);
  d.pipe('in', 'a', { n: 13 }, 999_002);
  d.pipe('in', 'a', { n: -1 }, 999_003);
  d.pipe('in', 'a', { n: 2 }, 1_000_000 + 3_600_000); // an hour ahead of the clock
  d.pipe('in', 'a', { n: 3 }, 999_004);
  assert.deepEqual(d.read('out').map((r) => r.value), [1, 2], 'the two good records are counted');
  const dlq = d.readRaw('bad-dlq');
  assert.deepEqual(dlq.map((r) => header(r.headers, DLQ_HEADERS.code)), ['DESERIALIZATION_FAILED', 'USER_FUNCTION_FAILED', 'TIMESTAMP_INVALID', 'TIMESTAMP_INVALID']);
  // The original bytes and headers are kept, plus the cause and where it came from.
  assert.equal(dlq[0]!.value!.toString(), '{not json');
  assert.equal(header(dlq[0]!.headers, 'trace'), 't1');
  assert.equal(header(dlq[0]!.headers, DLQ_HEADERS.offset), '1');
  assert.equal(header(dlq[0]!.headers, DLQ_HEADERS.topic), 'in');
  assert.match(header(dlq[1]!.headers, DLQ_HEADERS.message)!, /unlucky number/);
  assert.equal(header(dlq[1]!.headers, DLQ_HEADERS.operator), 'double');
  assert.match(header(dlq[3]!.headers, DLQ_HEADERS.message)!, /ahead of the clock/);
  assert.deepEqual(d.taskList()[0]!.counts, { processed: 6, deadLettered: 4, late: 0 });
});

test("onError 'stop' stops the task with APP_STOPPED naming the cause", () => {
  const d = new TopologyTestDriver(app().build(), { onError: 'stop' });
  d.pipe('in', 'a', { n: 1 }, 1);
  assert.throws(
    () => d.pipe('in', 'a', { n: 13 }, 2),
    (e: unknown) => e instanceof StreamsError && e.code === 'APP_STOPPED' && /unlucky number/.test(e.message),
  );
});

test('a key serde that rejects the bytes is a deserialization failure too', () => {
  const b = new StreamsBuilder('keys');
  b.stream<number, string>('in', { key: Serdes.number(), value: Serdes.string() }).to('out');
  const d = new TopologyTestDriver(b.build());
  d.pipe('in', 'x', 'v', 1);
  d.pipe('in', '7', 'w', 2);
  assert.equal(d.readRaw('out').length, 1);
  assert.equal(header(d.readRaw('keys-dlq')[0]!.headers, DLQ_HEADERS.code), 'DESERIALIZATION_FAILED');
});

test('maxPastMs: an event time too far behind the clock goes to the dead-letter topic; without it history is accepted', () => {
  const wallClock = 10 * 86_400_000;
  const strict = new TopologyTestDriver(app().build(), { wallClock, maxPastMs: 86_400_000 });
  strict.pipe('in', 'a', { n: 1 }, wallClock - 1_000);
  strict.pipe('in', 'a', { n: 2 }, wallClock - 2 * 86_400_000); // two days old
  assert.deepEqual(strict.read('out').map((r) => r.value), [1]);
  const dlq = strict.readRaw('bad-dlq');
  assert.equal(dlq.length, 1);
  assert.equal(header(dlq[0]!.headers, DLQ_HEADERS.code), 'TIMESTAMP_INVALID');
  assert.match(header(dlq[0]!.headers, DLQ_HEADERS.message)!, /behind the clock \(maxPastMs\)/);

  const lenient = new TopologyTestDriver(app().build(), { wallClock });
  lenient.pipe('in', 'a', { n: 2 }, wallClock - 2 * 86_400_000);
  assert.deepEqual(lenient.read('out').map((r) => r.value), [1]);
  assert.equal(lenient.readRaw('bad-dlq').length, 0);
});
