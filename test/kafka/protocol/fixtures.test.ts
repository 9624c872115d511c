/**
 * Frames real clients put on the wire (captured by scripts/capture-kafka-fixtures.ts from kcat /
 * librdkafka, kafkajs and @platformatic/kafka talking to our broker through a recording proxy):
 * every request decodes, re-encodes to the very same bytes, and carries the values the client
 * meant (client ids, software names, record batches with valid CRCs and the records produced);
 * every response the broker sent decodes for the request's correlation id and re-encodes
 * byte-identically.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiByKey, ApiKey } from '../../../src/kafka/protocol/apis.ts';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, type DecodedRequest } from '../../../src/kafka/protocol/frames.ts';
import type { Message } from '../../../src/kafka/protocol/codec.ts';
import { registerKafkaCodecs } from '../../../src/kafka/protocol/records/compression-codecs.ts';
import { batchCrcValid, decodeBatchRecords, iterateBatches, readBatchHeader, validateBatchRecords, MAGIC_V2 } from '../../../src/log/batch/record-batch.ts';
import { decodeAssignment, decodeSubscription } from '../../../src/log/groups/consumer-protocol.ts';

registerKafkaCodecs();

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

interface FixtureEntry {
  client: string;
  clientVersion: string;
  file: string;
  api: string;
  apiKey: number;
  version: number;
  correlationId: number;
  compression?: string;
}

const index = JSON.parse(readFileSync(join(FIXTURES, 'index.json'), 'utf8')) as { clients: Record<string, string>; frames: FixtureEntry[] };

function readHex(path: string): Buffer {
  return Buffer.from(readFileSync(join(FIXTURES, path), 'utf8').replace(/\s+/g, ''), 'hex');
}

const CLIENT_IDS: Record<string, string> = { kcat: 'rdkafka', kafkajs: 'tributary-fixtures', platformatic: 'tributary-fixtures' };
const CODEC_IDS: Record<string, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

interface Loaded {
  entry: FixtureEntry;
  raw: Buffer;
  req: DecodedRequest;
  resRaw: Buffer;
  res: { correlationId: number; body: Message };
}

function load(entry: FixtureEntry): Loaded {
  const raw = readHex(`${entry.file}.req.hex`);
  const resRaw = readHex(`${entry.file}.res.hex`);
  return { entry, raw, req: decodeRequest(raw), resRaw, res: decodeResponse(entry.apiKey, entry.version, resRaw) };
}

/** Every `errorCode` anywhere in a decoded message, with its path. */
function errorCodes(value: unknown, path = ''): Array<{ path: string; code: number }> {
  if (Array.isArray(value)) return value.flatMap((v, i) => errorCodes(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return [];
  return Object.entries(value as Message).flatMap(([k, v]) =>
    k === 'errorCode' || k === 'topicConfigErrorCode' ? [{ path: `${path}.${k}`, code: v as number }] : errorCodes(v, `${path}.${k}`),
  );
}

/** The record batches in a records field: each must be magic 2 with a valid CRC-32C. */
function checkBatches(records: Buffer, where: string, expectCodec?: number): Array<{ key: string | null; value: string | null; headers: Record<string, string> }> {
  const out: Array<{ key: string | null; value: string | null; headers: Record<string, string> }> = [];
  let covered = 0;
  for (const { pos, size } of iterateBatches(records)) {
    const h = readBatchHeader(records, pos);
    assert.equal(h.magic, MAGIC_V2, `${where}: batch at ${pos} has magic ${h.magic}`);
    assert.ok(batchCrcValid(records, pos), `${where}: batch at ${pos} has a CRC-32C mismatch`);
    assert.equal(validateBatchRecords(records, pos), null, `${where}: batch at ${pos} records are malformed`);
    if (expectCodec !== undefined) assert.equal(h.attributes & 7, expectCodec, `${where}: compression codec`);
    for (const r of decodeBatchRecords(records, pos)) {
      out.push({
        key: r.key ? r.key.toString('utf8') : null,
        value: r.value ? r.value.toString('utf8') : null,
        headers: Object.fromEntries(r.headers.map((x) => [x.key, x.value ? x.value.toString('utf8') : ''])),
      });
    }
    covered = pos + size;
  }
  assert.equal(covered, records.length, `${where}: ${records.length - covered} bytes after the last whole batch`);
  return out;
}

test('the fixture index covers three real clients and the APIs they use', () => {
  assert.deepEqual(Object.keys(index.clients).sort(), ['kafkajs', 'kcat', 'platformatic']);
  assert.match(index.clients.kcat!, /librdkafka 2\./);
  assert.match(index.clients.kafkajs!, /kafkajs 2\.2\.4/);
  const have = (client: string) => new Set(index.frames.filter((f) => f.client === client).map((f) => f.api));
  for (const client of ['kcat', 'kafkajs', 'platformatic']) {
    for (const api of ['ApiVersions', 'Metadata', 'Produce', 'Fetch', 'ListOffsets', 'FindCoordinator', 'JoinGroup', 'SyncGroup', 'OffsetCommit', 'OffsetFetch', 'LeaveGroup']) {
      assert.ok(have(client).has(api), `${client} fixtures include ${api}`);
    }
  }
  // kcat produced with every codec.
  const kcatCodecs = index.frames.filter((f) => f.client === 'kcat' && f.api === 'Produce').map((f) => f.compression);
  assert.deepEqual(kcatCodecs.sort(), ['gzip', 'lz4', 'none', 'snappy', 'zstd']);
  // Old (classic) and new (flexible) encodings are both represented.
  assert.ok(index.frames.some((f) => f.version < (apiByKey(f.apiKey)!.request.flexible?.[0] ?? Infinity)), 'classic versions');
  assert.ok(index.frames.some((f) => f.apiKey !== ApiKey.ApiVersions && f.version >= (apiByKey(f.apiKey)!.request.flexible?.[0] ?? Infinity)), 'flexible versions');
});

for (const entry of index.frames) {
  test(`${entry.file}: decodes, re-encodes byte-identically, and its response decodes`, () => {
    const { raw, req, resRaw, res } = load(entry);
    assert.equal(req.header.apiKey, entry.apiKey);
    assert.equal(req.header.apiVersion, entry.version);
    assert.equal(req.header.correlationId, entry.correlationId);
    assert.equal(req.header.clientId, CLIENT_IDS[entry.client]);
    // encodeRequest adds the size prefix; the fixture is the frame without it.
    const again = encodeRequest(req.header, req.body);
    assert.equal(again.readInt32BE(0), raw.length, 'size prefix');
    assert.ok(again.subarray(4).equals(raw), `re-encoded ${entry.file} differs: ${again.subarray(4).toString('hex')} vs ${raw.toString('hex')}`);

    assert.equal(res.correlationId, entry.correlationId, 'response correlation id');
    const resAgain = encodeResponse(entry.apiKey, entry.version, res.correlationId, res.body);
    assert.ok(resAgain.subarray(4).equals(resRaw), `re-encoded response of ${entry.file} differs`);
    assert.deepEqual(errorCodes(res.body).filter((e) => e.code !== 0), [], 'the broker answered without errors');
  });
}

test('ApiVersions: v3 carries the client software name and version (KIP-511); kafkajs sends v2 without them', () => {
  const byClient = (client: string) => load(index.frames.find((f) => f.client === client && f.api === 'ApiVersions')!);
  const kcat = byClient('kcat');
  assert.equal(kcat.entry.version, 3);
  assert.equal(kcat.req.body.clientSoftwareName, 'librdkafka');
  assert.match(kcat.req.body.clientSoftwareVersion as string, /^2\.\d+\.\d+/);
  assert.ok(index.clients.kcat!.includes(`librdkafka ${kcat.req.body.clientSoftwareVersion as string}`));
  const plt = byClient('platformatic');
  assert.equal(plt.entry.version, 3);
  assert.equal(plt.req.body.clientSoftwareName, 'platformatic-kafka');
  assert.ok(index.clients.platformatic!.endsWith(plt.req.body.clientSoftwareVersion as string));
  const kjs = byClient('kafkajs');
  assert.equal(kjs.entry.version, 2);
  assert.equal(kjs.req.body.clientSoftwareName, '', 'absent before v3: the default');
  for (const l of [kcat, plt, kjs]) {
    const keys = (l.res.body.apiKeys as Array<{ apiKey: number }>).map((k) => k.apiKey);
    for (const key of [ApiKey.Produce, ApiKey.Fetch, ApiKey.Metadata, ApiKey.ApiVersions]) assert.ok(keys.includes(key));
  }
});

test('Produce: every captured batch is a record batch v2 with a valid CRC, the codec the client was told, and the records it sent', () => {
  const produces = index.frames.filter((f) => f.api === 'Produce');
  assert.ok(produces.length >= 9);
  for (const entry of produces) {
    const { req, res } = load(entry);
    assert.equal(req.body.acks, -1, `${entry.file}: acks=all`);
    assert.equal(req.body.transactionalId, null);
    const topics = req.body.topicData as Array<{ name: string; partitionData: Array<{ index: number; records: Buffer | null }> }>;
    assert.equal(topics.length, 1);
    const topic = topics[0]!;
    const records = topic.partitionData.flatMap((p) => checkBatches(p.records!, entry.file, CODEC_IDS[entry.compression!]));
    assert.ok(records.length > 0, `${entry.file}: records`);
    if (entry.client === 'kcat') {
      assert.equal(topic.name, `fx-kcat-${entry.compression}`);
      assert.deepEqual(records.map((r) => r.key), ['k1', 'k2', 'k3']);
      assert.match(records[0]!.value!, /^hello tributary/);
      assert.match(records[2]!.value!, /^fixtures tributary/);
    } else if (entry.compression === 'none') {
      assert.equal(topic.name, `fx-${entry.client}`);
      assert.deepEqual(records.map((r) => [r.key, r.value]), [['a', 'one'], ['b', 'two']]);
      assert.deepEqual(records[0]!.headers, { h: 'x' });
    } else {
      assert.equal(records[0]!.key, 'c');
      assert.match(records[0]!.value!, /^three/);
    }
    const partitionResponses = (res.body.responses as Array<{ partitionResponses: Array<{ errorCode: number; baseOffset: number }> }>)[0]!.partitionResponses;
    assert.ok(partitionResponses.every((p) => p.errorCode === 0 && p.baseOffset >= 0), `${entry.file}: acknowledged`);
  }
});

test('Fetch: requests name the produced topic (v17 by topic id); responses carry batches with valid CRCs', () => {
  for (const entry of index.frames.filter((f) => f.api === 'Fetch')) {
    const { req, res } = load(entry);
    const topics = req.body.topics as Array<{ topic: string; topicId: string; partitions: Array<{ fetchOffset: number; partitionMaxBytes: number }> }>;
    assert.ok(topics.length > 0);
    if (entry.version >= 13) assert.ok(topics.every((t) => t.topicId !== '00000000-0000-0000-0000-000000000000' && t.topic === ''), `${entry.file}: by topic id`);
    else assert.ok(topics.every((t) => t.topic.startsWith('fx-')), `${entry.file}: by name`);
    assert.ok(topics.every((t) => t.partitions.every((p) => p.fetchOffset >= 0 && p.partitionMaxBytes > 0)));
    assert.ok((req.body.maxWaitMs as number) > 0 && (req.body.minBytes as number) >= 1);
    const parts = (res.body.responses as Array<{ partitions: Array<{ highWatermark: number; records: Buffer | null }> }>).flatMap((r) => r.partitions);
    const values = parts.flatMap((p) => (p.records && p.records.length > 0 ? checkBatches(p.records, entry.file) : []));
    assert.ok(values.length >= 2, `${entry.file}: the fetch response carries records`);
    assert.ok(parts.some((p) => p.highWatermark >= values.length - 1));
  }
});

test('Groups: JoinGroup subscriptions, SyncGroup assignments and commits carry what the clients meant', () => {
  for (const entry of index.frames.filter((f) => f.api === 'JoinGroup')) {
    const { req, res } = load(entry);
    assert.equal(req.body.protocolType, 'consumer');
    assert.match(req.body.groupId as string, /^fx-/);
    assert.ok((req.body.sessionTimeoutMs as number) > 0 && (req.body.rebalanceTimeoutMs as number) >= (req.body.sessionTimeoutMs as number));
    const protocols = req.body.protocols as Array<{ name: string; metadata: Buffer }>;
    assert.ok(protocols.length >= 1);
    for (const p of protocols) assert.ok(decodeSubscription(p.metadata).topics.some((t) => t.startsWith('fx-')), `${entry.file}: ${p.name} subscription`);
    assert.ok(protocols.some((p) => p.name === res.body.protocolName), 'the chosen protocol is one offered');
    assert.equal(res.body.leader, res.body.memberId);
  }
  for (const entry of index.frames.filter((f) => f.api === 'SyncGroup')) {
    const { req, res } = load(entry);
    const assignments = req.body.assignments as Array<{ memberId: string; assignment: Buffer }>;
    assert.equal(assignments.length, 1, `${entry.file}: the leader assigns`);
    assert.equal(assignments[0]!.memberId, req.body.memberId);
    const mine = decodeAssignment(res.body.assignment as Buffer);
    assert.ok(mine.partitions.length > 0 && mine.partitions.every((p) => p.topic.startsWith('fx-')), `${entry.file}: assignment`);
  }
  for (const entry of index.frames.filter((f) => f.api === 'OffsetCommit')) {
    const { req } = load(entry);
    const parts = (req.body.topics as Array<{ partitions: Array<{ committedOffset: number }> }>).flatMap((t) => t.partitions);
    assert.ok(parts.length > 0 && parts.every((p) => p.committedOffset > 0), `${entry.file}: commits positions after consumed records`);
    assert.ok((req.body.generationIdOrMemberEpoch as number) >= 1);
  }
  const kafkajsCreate = load(index.frames.find((f) => f.client === 'kafkajs' && f.api === 'CreateTopics')!);
  assert.deepEqual((kafkajsCreate.req.body.topics as Message[]).map((t) => [t.name, t.numPartitions]), [['fx-kafkajs', 2]]);
  const platformaticOffsets = load(index.frames.find((f) => f.client === 'platformatic' && f.api === 'OffsetFetch')!);
  const committed = (platformaticOffsets.res.body.groups as Array<{ topics: Array<{ partitions: Array<{ committedOffset: number }> }> }>)[0]!.topics[0]!.partitions[0]!;
  assert.ok(committed.committedOffset > 0, 'platformatic reads back its commit');
});

test('truncated fixtures never decode (the codec checks every length against the frame)', () => {
  for (const entry of index.frames) {
    const raw = readHex(`${entry.file}.req.hex`);
    for (let cut = 0; cut < raw.length; cut += Math.max(1, Math.floor(raw.length / 64))) {
      assert.throws(() => decodeRequest(raw.subarray(0, cut)), (err: Error) => err.name === 'ProtocolError', `${entry.file} cut at ${cut}`);
    }
  }
});
