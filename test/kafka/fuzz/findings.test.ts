/**
 * Minimal reproductions of the broker and codec bugs the fuzz suites found, one test each, so a
 * fix can be checked without a fuzz run. Each asserts the behaviour Kafka has.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ApiKey } from '../../../src/kafka/protocol/apis.ts';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../../src/kafka/protocol/frames.ts';
import { encodeRecordBatch } from '../../../src/log/batch/record-batch.ts';
import { startTestBroker, type TestBroker } from '../../helpers/kafka-broker.ts';

/** Sends one request frame on a fresh connection: the decoded answer, or 'closed' if the broker hangs up first. */
function call(broker: TestBroker, frame: Buffer, apiKey: number, version: number, timeoutMs = 10_000): Promise<Record<string, unknown> | 'closed'> {
  return new Promise((resolve, reject) => {
    const s = connect(broker.port, '127.0.0.1', () => s.write(frame));
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        clearTimeout(timer);
        s.destroy();
        resolve(decodeResponse(apiKey, version, buf.subarray(4, 4 + buf.readInt32BE(0))).body);
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

test('finding: a Fetch long poll on a topic that is deleted meanwhile is answered (UNKNOWN_TOPIC_OR_PARTITION), not dropped with the connection', async () => {
  const broker = await startTestBroker();
  try {
    await broker.bus.log.createTopic('doomed', { partitions: 1 });
    const fetch = encodeRequest(
      { apiKey: ApiKey.Fetch, apiVersion: 11, correlationId: 1, clientId: 'consumer' },
      { replicaId: -1, maxWaitMs: 5000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, topics: [{ topic: 'doomed', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '' },
    );
    const answer = call(broker, fetch, ApiKey.Fetch, 11);
    await new Promise((r) => setTimeout(r, 200)); // the fetch is now waiting for data
    await broker.bus.log.deleteTopic('doomed');
    const body = await answer;
    assert.notEqual(body, 'closed', 'the broker closed the consumer connection (handler threw LogError TOPIC_UNKNOWN from readAll)');
    const partition = (body as { responses: Array<{ partitions: Array<{ errorCode: number }> }> }).responses[0]!.partitions[0]!;
    assert.equal(partition.errorCode, 3);
  } finally {
    await broker.close();
  }
});

test('finding: committing offset Long.MAX_VALUE does not make every later OffsetFetch of the group fail', async () => {
  const broker = await startTestBroker();
  try {
    await broker.bus.log.createTopic('t', { partitions: 1 });
    const commit = encodeRequest(
      { apiKey: ApiKey.OffsetCommit, apiVersion: 2, correlationId: 1, clientId: 'c' },
      { groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', retentionTimeMs: -1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 0, committedMetadata: '' }] }] },
    );
    commit.writeBigInt64BE(0x7fffffffffffffffn, commit.length - 10); // the committed offset (then an empty int16 metadata)
    const committed = await call(broker, commit, ApiKey.OffsetCommit, 2);
    assert.notEqual(committed, 'closed');
    const fetchOffsets = encodeRequest({ apiKey: ApiKey.OffsetFetch, apiVersion: 1, correlationId: 2, clientId: 'c' }, { groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }] });
    const fetched = await call(broker, fetchOffsets, ApiKey.OffsetFetch, 1);
    assert.notEqual(fetched, 'closed', 'OffsetFetch closed the connection: encoding the int64 2^63 threw RangeError in Writer.int64');
  } finally {
    await broker.close();
  }
});

test('finding: int64 values beyond 2^53 survive decode → encode (Writer.int64 throws RangeError for 2^63)', () => {
  // InitProducerId v4 with producerId Long.MAX_VALUE: decodes to the number 2^63, which the encoder cannot write back.
  const frame = encodeRequest({ apiKey: ApiKey.InitProducerId, apiVersion: 4, correlationId: 1, clientId: 'c' }, { transactionalId: null, transactionTimeoutMs: 60000, producerId: 0, producerEpoch: -1 });
  frame.writeBigInt64BE(0x7fffffffffffffffn, frame.length - 11); // producerId, then int16 epoch and the tag section
  const decoded = decodeRequest(frame.subarray(4));
  assert.doesNotThrow(() => encodeRequest(decoded.header, decoded.body));
  assert.doesNotThrow(() => encodeResponse(ApiKey.InitProducerId, 4, 1, { throttleTimeMs: 0, errorCode: 0, producerId: decoded.body.producerId, producerEpoch: 0 }));
});

test('finding: a non-nullable bytes field sent as null decodes to an empty buffer (or is rejected), never to null', () => {
  // SaslAuthenticate v2: AuthBytes is non-nullable; compact length 0 means null.
  const frame = Buffer.from('0024000262367a7a000466757a7a00' + '00' + '00', 'hex');
  let body: Record<string, unknown> | null = null;
  try {
    body = decodeRequest(frame).body;
  } catch (err) {
    assert.equal((err as Error).name, 'ProtocolError');
  }
  if (body) assert.ok(Buffer.isBuffer(body.authBytes), `authBytes decoded as ${String(body.authBytes)}`);
});

test('finding: a member that joined with null protocol metadata can rejoin (no TypeError in the group coordinator)', async () => {
  const broker = await startTestBroker();
  try {
    const join = (memberId: string) => {
      const f = encodeRequest(
        { apiKey: ApiKey.JoinGroup, apiVersion: 3, correlationId: 1, clientId: 'c' },
        { groupId: 'g', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 1000, memberId, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] },
      );
      f.writeInt32BE(-1, f.length - 4); // metadata: int32 length -1 (null)
      return f;
    };
    const first = await call(broker, join(''), ApiKey.JoinGroup, 3);
    assert.notEqual(first, 'closed');
    const again = await call(broker, join((first as { memberId: string }).memberId), ApiKey.JoinGroup, 3);
    assert.notEqual(again, 'closed', 'the rejoin closed the connection: sameProtocols() called null.equals()');
  } finally {
    await broker.close();
  }
});

test('finding: deleting a topic does not fsync its segment files after closing them', async () => {
  const broker = await startTestBroker();
  try {
    await broker.bus.log.createTopic('t', { partitions: 1 });
    const partition = broker.bus.log.partition('t', 0) as unknown as { segments: Array<{ file: { datasync(): Promise<void>; close(): void } }>; append(b: Buffer): Promise<unknown> };
    const file = partition.segments[0]!.file;
    const events: string[] = [];
    const datasync = file.datasync.bind(file);
    const close = file.close.bind(file);
    file.datasync = () => {
      events.push('datasync');
      return datasync();
    };
    file.close = () => {
      events.push('close');
      close();
    };
    const ack = partition.append(encodeRecordBatch([{ value: Buffer.from('v') }])).catch(() => {}); // schedules a group-commit fsync
    await broker.bus.log.deleteTopic('t'); // abandon() closes the files before that fsync runs
    await ack;
    await new Promise((r) => setTimeout(r, 50));
    // fdatasync on a closed descriptor: EBADF, or — the number being reused — another file or a socket (EINVAL).
    assert.deepEqual(events.slice(events.indexOf('close')), ['close'], `file events: ${events.join(', ')}`);
  } finally {
    await broker.close();
  }
});

test('finding: deleting a topic with 1000 partitions does not stall the broker (synchronous rmSync of its files)', async () => {
  const broker = await startTestBroker();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  try {
    await broker.bus.log.createTopic('wide', { partitions: 1000 });
    loop.enable();
    const del = encodeRequest({ apiKey: ApiKey.DeleteTopics, apiVersion: 1, correlationId: 1, clientId: 'admin' }, { topicNames: ['wide'], timeoutMs: 5000 });
    assert.notEqual(await call(broker, del, ApiKey.DeleteTopics, 1), 'closed');
    await new Promise((r) => setTimeout(r, 500)); // the file removal runs after the answer
    loop.disable();
    assert.ok(loop.max / 1e6 < 500, `the event loop was blocked for ${(loop.max / 1e6).toFixed(0)} ms`);
  } finally {
    loop.disable();
    await broker.close();
  }
});

test('finding: a produced batch whose lastOffsetDelta does not match its record count is rejected (it would advance the log by 2^31 offsets)', async () => {
  const broker = await startTestBroker();
  try {
    await broker.bus.log.createTopic('t', { partitions: 1 });
    // One record claiming offsets [base, base + 2^31 - 1]: Kafka's LogValidator answers INVALID_RECORD (87; CORRUPT_MESSAGE 2 before v8).
    const batch = encodeRecordBatch([{ value: Buffer.from('one record') }], { lastOffsetDelta: 0x7fffffff });
    const produce = encodeRequest({ apiKey: ApiKey.Produce, apiVersion: 7, correlationId: 1, clientId: 'c' }, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: batch }] }] });
    const body = await call(broker, produce, ApiKey.Produce, 7);
    assert.notEqual(body, 'closed');
    const p = (body as { responses: Array<{ partitionResponses: Array<{ errorCode: number }> }> }).responses[0]!.partitionResponses[0]!;
    assert.notEqual(p.errorCode, 0, `accepted: the log end offset is now ${broker.bus.log.partition('t', 0).logEndOffset}`);
  } finally {
    await broker.close();
  }
});

test('finding: CreateTopics racing a DeleteTopics of the same name gets TOPIC_ALREADY_EXISTS or a fresh topic, not KAFKA_STORAGE_ERROR', async () => {
  const broker = await startTestBroker();
  try {
    await broker.bus.log.createTopic('t', { partitions: 1 });
    const produce = encodeRequest({ apiKey: ApiKey.Produce, apiVersion: 7, correlationId: 1, clientId: 'c' }, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: encodeRecordBatch([{ value: Buffer.from('x') }]) }] }] });
    const del = encodeRequest({ apiKey: ApiKey.DeleteTopics, apiVersion: 1, correlationId: 2, clientId: 'c' }, { topicNames: ['t'], timeoutMs: 1000 });
    const create = encodeRequest({ apiKey: ApiKey.CreateTopics, apiVersion: 3, correlationId: 3, clientId: 'c' }, { topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
    // Pipelined on one connection: the delete is still closing the partition (an fsync in flight) when the create runs.
    const answers = await new Promise<Buffer[]>((resolve) => {
      const s = connect(broker.port, '127.0.0.1', () => s.write(Buffer.concat([produce, del, create])));
      let buf = Buffer.alloc(0);
      const out: Buffer[] = [];
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
          out.push(buf.subarray(4, 4 + buf.readInt32BE(0)));
          buf = buf.subarray(4 + buf.readInt32BE(0));
        }
        if (out.length === 3) {
          s.destroy();
          resolve(out);
        }
      });
      s.on('close', () => resolve(out));
    });
    assert.equal(answers.length, 3);
    const created = (decodeResponse(ApiKey.CreateTopics, 3, answers[2]!).body.topics as Array<{ errorCode: number; errorMessage: string | null }>)[0]!;
    assert.ok(created.errorCode === 36 || created.errorCode === 0, `CreateTopics answered ${created.errorCode}: ${created.errorMessage}`);
    if (created.errorCode === 0) assert.equal(broker.bus.log.partition('t', 0).logEndOffset, 0, 'the new topic starts empty');
  } finally {
    await broker.close();
  }
});

test('finding: a Metadata request that auto-creates a topic someone deletes right away is answered, not dropped with the connection', async () => {
  const broker = await startTestBroker();
  try {
    // Stands for a DeleteTopics from another client landing while the auto-creation finishes
    // (seen in the TCP fuzz: metadata.ts describeRequested → describeTopicForMetadata after the await).
    const log = broker.bus.log as unknown as { ensureTopic(name: string): Promise<unknown>; deleteTopic(name: string): Promise<void> };
    const ensureTopic = log.ensureTopic.bind(log);
    log.ensureTopic = async (name: string) => {
      const created = await ensureTopic(name);
      void log.deleteTopic(name);
      return created;
    };
    const metadata = encodeRequest({ apiKey: ApiKey.Metadata, apiVersion: 4, correlationId: 1, clientId: 'c' }, { topics: [{ name: 'fleeting' }], allowAutoTopicCreation: true });
    const body = await call(broker, metadata, ApiKey.Metadata, 4);
    assert.notEqual(body, 'closed', 'the broker closed the connection (LogError TOPIC_UNKNOWN thrown by describeTopicForMetadata)');
  } finally {
    await broker.close();
  }
});
