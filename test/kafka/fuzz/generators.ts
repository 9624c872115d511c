/**
 * Inputs for the Kafka fuzz suites: a seeded PRNG, valid requests for every API and version we
 * serve, the captured client fixtures, structure-aware mutations (bit flips, truncation,
 * extension, integer/length-field and varint corruption, header and size-prefix corruption,
 * record batches with corrupted contents but a recomputed CRC) and purely random frames; plus a
 * model of how the broker splits and judges a byte stream, used as the oracle.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, gzipSync } from 'node:zlib';
import { Worker } from 'node:worker_threads';
import { APIS, ApiKey, apiByKey } from '../../../src/kafka/protocol/apis.ts';
import { Reader } from '../../../src/kafka/protocol/buffers.ts';
import { decodeMessage, type Message } from '../../../src/kafka/protocol/codec.ts';
import { decodeRequest, encodeRequest } from '../../../src/kafka/protocol/frames.ts';
import { decodeRequestHeader, requestHeaderVersion, responseHeaderVersion, decodeResponseHeader, type RequestHeaderValue } from '../../../src/kafka/protocol/headers.ts';
import { inRange, type ApiSchema, type Field, type FieldType } from '../../../src/kafka/protocol/schema.ts';
import { crc32c } from '../../../src/log/batch/crc32c.ts';
import { encodeRecordBatch } from '../../../src/log/batch/record-batch.ts';
import { encodeAssignment, encodeSubscription } from '../../../src/log/groups/consumer-protocol.ts';
import { registerKafkaCodecs } from '../../../src/kafka/protocol/records/compression-codecs.ts';

registerKafkaCodecs();

// ---------------------------------------------------------------------------------------------
// PRNG (sfc32: small, fast, good enough, reproducible from one 32-bit seed)

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.next();
  }
  next(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    let t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    t = (t + this.d) | 0;
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  /** A seed for a sub-generator (one per worker or session, so runs reproduce per seed). */
  fork(): Rng {
    return new Rng(this.int(0x100000000));
  }
}

export function seedFromEnv(): number {
  const raw = process.env.FUZZ_SEED;
  if (raw !== undefined && raw !== '') return Number(raw) >>> 0;
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

export function framesFromEnv(fallback: number): number {
  const raw = process.env.FUZZ_FRAMES;
  return raw ? Math.max(1, Number(raw)) : fallback;
}

// ---------------------------------------------------------------------------------------------
// Valid requests for every served API and version

/** Names the broker knows (created before fuzzing) and the ids it gave them. */
export interface FuzzWorld {
  topics: string[];
  topicIds: string[];
}

const CODEC_IDS = [0, 1, 2, 3, 4];

const recordsCache: Buffer[][] = CODEC_IDS.map(() => []);

/** A valid record batch with a random codec (compressing is slow: batches are reused after the first few). */
export function validRecords(rng: Rng): Buffer {
  const codec = rng.pick(CODEC_IDS);
  const cache = recordsCache[codec]!;
  if (cache.length >= 16) return Buffer.from(rng.pick(cache));
  const batch = freshRecords(rng, codec);
  cache.push(batch);
  return Buffer.from(batch);
}

function freshRecords(rng: Rng, codec: number): Buffer {
  const n = rng.range(1, 4);
  const records = Array.from({ length: n }, (_, i) => ({
    key: rng.chance(0.7) ? Buffer.from(`k${i}`) : null,
    value: rng.chance(0.9) ? Buffer.from(`fuzz value ${i} ${'x'.repeat(rng.int(40))}`) : null,
    headers: rng.chance(0.3) ? [{ key: 'h', value: rng.chance(0.5) ? Buffer.from('v') : null }] : [],
  }));
  return encodeRecordBatch(records, { compression: codec, now: 1_750_000_000_000 + rng.int(1e6) });
}

/** A legacy (magic 0 or 1) message set, optionally a gzip wrapper. */
export function legacyMessageSet(rng: Rng, magic: 0 | 1): Buffer {
  const one = (offset: number, attributes: number, key: Buffer | null, value: Buffer | null): Buffer => {
    const head = Buffer.alloc(magic === 1 ? 10 : 2);
    head.writeInt8(magic, 0);
    head.writeInt8(attributes, 1);
    if (magic === 1) head.writeBigInt64BE(BigInt(1_750_000_000_000 + offset), 2);
    const field = (v: Buffer | null) => {
      const len = Buffer.alloc(4);
      len.writeInt32BE(v === null ? -1 : v.length);
      return v === null ? len : Buffer.concat([len, v]);
    };
    const body = Buffer.concat([head, field(key), field(value)]);
    const prefix = Buffer.alloc(16);
    prefix.writeBigInt64BE(BigInt(offset), 0);
    prefix.writeInt32BE(body.length + 4, 8);
    prefix.writeUInt32BE(crc32(body), 12);
    return Buffer.concat([prefix, body]);
  };
  const n = rng.range(1, 3);
  const inner = Buffer.concat(Array.from({ length: n }, (_, i) => one(i, 0, Buffer.from(`k${i}`), Buffer.from(`legacy ${i}`))));
  if (!rng.chance(0.3)) return inner;
  return one(magic === 1 ? n - 1 : 0, 1, null, gzipSync(inner));
}

function topicName(rng: Rng, world: FuzzWorld): string {
  return rng.chance(0.8) ? rng.pick(world.topics) : `fuzz-n${rng.int(8)}`;
}

let groupCounter = 0;

/** A value for a field, chosen by its name where the name implies what is sensible. */
function namedValue(rng: Rng, f: Field, apiKey: number, version: number, world: FuzzWorld): unknown {
  switch (f.name) {
    case 'name':
    case 'topic':
    case 'resourceName':
      if (f.type !== 'string') return undefined;
      // Creating and deleting topics is slow (directories, fsync): keep the churn low.
      if (apiKey === ApiKey.CreateTopics) return rng.chance(0.1) ? `fuzz-c${rng.int(4)}` : rng.pick(world.topics);
      if (apiKey === ApiKey.DeleteTopics) return rng.chance(0.1) ? `fuzz-c${rng.int(4)}` : `fuzz-absent-${rng.int(4)}`;
      if (apiKey === ApiKey.Fetch && version >= 13) return '';
      return topicName(rng, world);
    case 'topicId':
      return rng.chance(0.9) ? rng.pick(world.topicIds) : '00000000-0000-0000-0000-000000000000';
    case 'groupId':
    case 'key':
      // JoinGroup/SyncGroup on a group nobody joined lately answer at once; a busy one waits for a
      // rebalance. A rotating pool keeps both the waits and the number of groups bounded.
      return apiKey === ApiKey.JoinGroup || apiKey === ApiKey.SyncGroup ? `fuzz-j${groupCounter++ % 64}` : `fuzz-g${rng.int(4)}`;
    case 'groups':
    case 'groupsNames':
    case 'coordinatorKeys':
      if (typeof f.type !== 'string' && f.type.kind === 'array' && f.type.of === 'string') return [`fuzz-g${rng.int(4)}`];
      return undefined;
    case 'memberId':
      return rng.chance(0.5) ? '' : `member-${rng.int(3)}`;
    case 'groupInstanceId':
    case 'transactionalId':
    case 'clusterId':
    case 'rackId':
    case 'reason':
      return inRange(f.nullable, version) && rng.chance(0.8) ? null : '';
    case 'protocolType':
      return 'consumer';
    case 'protocolName':
      return rng.chance(0.5) ? null : 'range';
    case 'protocols':
      return [{ name: rng.pick(['range', 'roundrobin']), metadata: encodeSubscription({ topics: [rng.pick(world.topics)] }) }];
    case 'assignment':
      return encodeAssignment({ partitions: [{ topic: rng.pick(world.topics), partition: 0 }] });
    case 'metadata':
      return encodeSubscription({ topics: [rng.pick(world.topics)] });
    case 'sessionTimeoutMs':
      return 10_000;
    case 'rebalanceTimeoutMs':
      return rng.range(50, 500);
    case 'generationId':
    case 'generationIdOrMemberEpoch':
    case 'memberEpoch':
      return rng.pick([-1, 0, 1]);
    case 'maxWaitMs':
      return rng.range(0, 30);
    case 'minBytes':
      return rng.range(0, 1);
    case 'maxBytes':
    case 'partitionMaxBytes':
      return rng.pick([1024, 1 << 20]);
    case 'isolationLevel':
      return rng.int(2);
    case 'sessionId':
      return 0;
    case 'sessionEpoch':
      return -1;
    case 'fetchOffset':
    case 'offset':
    case 'committedOffset':
      return rng.range(-1, 4);
    case 'logStartOffset':
      return -1;
    case 'partition':
    case 'partitionIndex':
    case 'index':
      return rng.chance(0.9) ? rng.int(2) : rng.pick([-1, 5]);
    case 'partitionIndexes':
    case 'partitions':
      if (typeof f.type !== 'string' && f.type.kind === 'array' && f.type.of === 'int32') return [rng.int(2)];
      return undefined;
    case 'acks':
      return rng.pick([-1, -1, 1, 0]);
    case 'timeoutMs':
      return 1000;
    case 'records':
      return version <= 2 && rng.chance(0.5) ? legacyMessageSet(rng, version === 2 ? 1 : 0) : validRecords(rng);
    case 'numPartitions':
      return rng.pick([-1, 1, 2]);
    case 'replicationFactor':
      return rng.pick([-1, 1]);
    case 'count':
      return rng.range(1, 4);
    case 'assignments':
      if (apiKey === ApiKey.SyncGroup) return [{ memberId: `member-${rng.int(3)}`, assignment: encodeAssignment({ partitions: [{ topic: rng.pick(world.topics), partition: 0 }] }) }];
      return apiKey === ApiKey.CreatePartitions && inRange(f.nullable, version) ? null : [];
    case 'configs':
      return rng.chance(0.5) ? [] : [{ name: 'retention.ms', value: String(rng.range(1000, 100000)) }];
    case 'timestamp':
      return rng.pick([-1, -2, -3, 1_750_000_000_000]);
    case 'mechanism':
      return rng.pick(['PLAIN', 'SCRAM-SHA-256']);
    case 'authBytes':
      return Buffer.from('\u0000user\u0000password');
    case 'resourceType':
      return rng.pick([2, 4, 9]);
    case 'configurationKeys':
      return rng.chance(0.5) ? null : ['retention.ms'];
    case 'producerId':
      return rng.chance(0.7) ? -1 : rng.range(0, 5);
    case 'producerEpoch':
      return rng.chance(0.7) ? -1 : rng.range(0, 3);
    case 'transactionTimeoutMs':
      return 60_000;
    case 'leaderEpoch':
    case 'currentLeaderEpoch':
    case 'lastFetchedEpoch':
    case 'committedLeaderEpoch':
      return rng.pick([-1, 0]);
    case 'replicaId':
      return -1;
    case 'maxNumOffsets':
      return 1;
    case 'clientSoftwareName':
      return 'fuzz';
    case 'clientSoftwareVersion':
      return '1.0.0';
    case 'endpointType':
      return 1;
    case 'keyType':
      return 0;
    case 'statesFilter':
    case 'typesFilter':
      return rng.chance(0.7) ? [] : ['Stable'];
    case 'retentionTimeMs':
    case 'commitTimestamp':
      return -1;
    default:
      return undefined;
  }
}

function typedValue(rng: Rng, f: Field, type: FieldType, apiKey: number, version: number, world: FuzzWorld, top: boolean, names = true): unknown {
  if (top) {
    const named = names ? namedValue(rng, f, apiKey, version, world) : undefined;
    if (named !== undefined) return named;
    if (inRange(f.nullable, version) && rng.chance(0.2)) return null;
  }
  if (typeof type !== 'string') {
    if (type.kind === 'struct') return structValue(rng, type.fields, apiKey, version, world, names);
    const n = rng.range(0, 2) || 1;
    return Array.from({ length: n }, () => typedValue(rng, f, type.of, apiKey, version, world, false, names));
  }
  switch (type) {
    case 'bool':
      return rng.chance(0.5);
    case 'int8':
      return rng.range(0, 2);
    case 'int16':
    case 'uint16':
      return rng.range(0, 3);
    case 'int32':
    case 'uint32':
      return rng.range(0, 3);
    case 'int64':
      return rng.range(-1, 3);
    case 'float64':
      return rng.next();
    case 'string':
      return rng.pick(['', 'x', 'fuzz']);
    case 'bytes':
      return rng.bytes(rng.int(8));
    case 'records':
      return validRecords(rng);
    case 'uuid':
      return rng.pick(world.topicIds);
  }
}

function structValue(rng: Rng, fields: Field[], apiKey: number, version: number, world: FuzzWorld, names = true): Message {
  const out: Message = {};
  for (const f of fields) {
    if (!inRange(f.versions, version)) continue;
    out[f.name] = typedValue(rng, f, f.type, apiKey, version, world, true, names);
  }
  return out;
}

/** A response body for an API and version, with random but type-correct values (records are valid batches). */
export function responseValue(rng: Rng, api: ApiSchema, version: number, world: FuzzWorld): Message {
  return structValue(rng, api.response.fields, api.apiKey, version, world, false);
}

export interface ValidRequest {
  header: RequestHeaderValue;
  body: Message;
}

export function validRequest(rng: Rng, api: ApiSchema, version: number, world: FuzzWorld): ValidRequest {
  return {
    header: { apiKey: api.apiKey, apiVersion: version, correlationId: rng.int(0x7fffffff), clientId: rng.chance(0.9) ? 'fuzz' : null },
    body: structValue(rng, api.request.fields, api.apiKey, version, world),
  };
}

/** Every served (api, version) pair. */
export function servedVersions(): Array<{ api: ApiSchema; version: number }> {
  served ??= APIS.flatMap((api) => Array.from({ length: api.max - api.min + 1 }, (_, i) => ({ api, version: api.min + i })));
  return served;
}
let served: Array<{ api: ApiSchema; version: number }> | undefined;

/** A served API chosen uniformly (not weighted by its number of versions), then one of its versions. */
export function pickApiVersion(rng: Rng, exclude: number[] = []): { api: ApiSchema; version: number } {
  const apis = exclude.length > 0 ? APIS.filter((a) => !exclude.includes(a.apiKey)) : APIS;
  const api = rng.pick(apis);
  return { api, version: rng.range(api.min, api.max) };
}

// ---------------------------------------------------------------------------------------------
// Captured client fixtures

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** The request frames (without size prefix) real clients sent, from test/kafka/fixtures. */
export function fixtureFrames(): Buffer[] {
  const index = JSON.parse(readFileSync(join(FIXTURES, 'index.json'), 'utf8')) as { frames: Array<{ file: string }> };
  return index.frames.map((f) => Buffer.from(readFileSync(join(FIXTURES, `${f.file}.req.hex`), 'utf8').replace(/\s+/g, ''), 'hex'));
}

// ---------------------------------------------------------------------------------------------
// Structure: where each primitive of a valid frame sits

export interface Traced {
  pos: number;
  /** Bytes the primitive occupies. */
  size: number;
  kind: 'int8' | 'int16' | 'int32' | 'int64' | 'uvarint' | 'bytes';
}

class TracingReader extends Reader {
  readonly trace: Traced[] = [];
  private rec<T>(kind: Traced['kind'], f: () => T): T {
    const pos = this.pos;
    const v = f();
    this.trace.push({ pos, size: this.pos - pos, kind });
    return v;
  }
  override int8(): number {
    return this.rec('int8', () => super.int8());
  }
  override int16(): number {
    return this.rec('int16', () => super.int16());
  }
  override uint16(): number {
    return this.rec('int16', () => super.uint16());
  }
  override int32(): number {
    return this.rec('int32', () => super.int32());
  }
  override uint32(): number {
    return this.rec('int32', () => super.uint32());
  }
  override int64(): number {
    return this.rec('int64', () => super.int64());
  }
  override uvarint(): number {
    return this.rec('uvarint', () => super.uvarint());
  }
  override bytes(n: number, what?: string): Buffer {
    return this.rec('bytes', () => super.bytes(n, what));
  }
}

/** The primitives of a decodable request frame, in order; null when it does not decode. */
export function traceRequest(frame: Buffer): Traced[] | null {
  try {
    const api = apiByKey(frame.readInt16BE(0));
    if (!api) return null;
    const version = frame.readInt16BE(2);
    const r = new TracingReader(frame);
    decodeRequestHeader(r, requestHeaderVersion(api, version));
    decodeMessage(api.request, version, r);
    return r.trace;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Mutations

const INT64_SPECIALS = [0x7fffffffffffffffn, -0x8000000000000000n, 0x7ffffffffffffffen, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 62n, -1n];
const INT_SPECIALS = [0, 1, -1, -2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, -0x80000000, 0x10000, 0x1000000];

function writeIntOfSize(buf: Buffer, pos: number, size: number, v: number): void {
  if (size === 1) buf.writeUInt8(v & 0xff, pos);
  else if (size === 2) buf.writeUInt16BE(v & 0xffff, pos);
  else if (size === 4) buf.writeUInt32BE(v >>> 0, pos);
  else {
    buf.writeInt32BE(v < 0 ? -1 : 0, pos);
    buf.writeUInt32BE(v >>> 0, pos + 4);
  }
}

function varintBytes(v: number): Buffer {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

function mutateVarint(rng: Rng, frame: Buffer, t: Traced): Buffer {
  const choices: Buffer[] = [
    Buffer.from([0]),
    Buffer.from([1]),
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), // 2^32-1
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]), // 2^35-1
    Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), // too long
    Buffer.from([0x80, 0x80, 0x80, 0x80, 0x00]), // overlong zero
    Buffer.from([0x80]), // dangling continuation
    varintBytes(rng.int(0x10000)),
    varintBytes(Math.max(0, frame.readUInt8(t.pos) + rng.pick([-1, 1, 2, 100]))),
  ];
  return Buffer.concat([frame.subarray(0, t.pos), rng.pick(choices), frame.subarray(t.pos + t.size)]);
}

/** One structure-aware or blind mutation of a request frame (without size prefix). */
export function mutateFrame(rng: Rng, frame: Buffer, trace: Traced[] | null, donors: Buffer[]): Buffer {
  const out = Buffer.from(frame);
  const ints = trace?.filter((t) => t.kind !== 'bytes' && t.kind !== 'uvarint') ?? [];
  const varints = trace?.filter((t) => t.kind === 'uvarint') ?? [];
  const blobs = trace?.filter((t) => t.kind === 'bytes' && t.size > 0) ?? [];
  switch (rng.int(11)) {
    case 0: {
      // bit flips
      const n = rng.range(1, 4);
      for (let i = 0; i < n && out.length > 0; i++) out[rng.int(out.length)]! ^= 1 << rng.int(8);
      return out;
    }
    case 1: {
      // interesting byte values
      const n = rng.range(1, 3);
      for (let i = 0; i < n && out.length > 0; i++) out[rng.int(out.length)] = rng.pick([0, 1, 0x7f, 0x80, 0xff]);
      return out;
    }
    case 2:
      // truncation
      return out.subarray(0, rng.int(out.length + 1));
    case 3:
      // extension with random bytes
      return Buffer.concat([out, rng.bytes(rng.range(1, 64))]);
    case 4:
    case 5: {
      // integer field (lengths, counts, ids, timeouts) set to an edge value
      if (ints.length === 0) return mutateFrame(rng, frame, null, donors);
      const t = rng.pick(ints.filter((x) => x.pos >= 8).length > 0 && rng.chance(0.9) ? ints.filter((x) => x.pos >= 8) : ints);
      const size = t.kind === 'int8' ? 1 : t.kind === 'int16' ? 2 : t.kind === 'int32' ? 4 : 8;
      if (size === 8 && rng.chance(0.5)) {
        // int64 edges: Long.MAX/MIN and values a JS number cannot hold exactly.
        out.writeBigInt64BE(rng.pick(INT64_SPECIALS), t.pos);
        return out;
      }
      const old = size === 2 ? out.readInt16BE(t.pos) : size === 4 ? out.readInt32BE(t.pos) : size === 1 ? out.readInt8(t.pos) : 0;
      writeIntOfSize(out, t.pos, size, rng.chance(0.7) ? rng.pick(INT_SPECIALS) : old + rng.pick([-2, -1, 1, 2, 1000]));
      return out;
    }
    case 6: {
      // varint (compact length, array count, tag count/number/size) corruption
      if (varints.length === 0) return mutateFrame(rng, frame, null, donors);
      return mutateVarint(rng, out, rng.pick(varints));
    }
    case 7: {
      // corrupt the inside of a string/bytes/records field
      if (blobs.length === 0) return mutateFrame(rng, frame, null, donors);
      const t = rng.pick(blobs);
      const n = rng.range(1, 3);
      for (let i = 0; i < n; i++) out[t.pos + rng.int(t.size)]! ^= 1 << rng.int(8);
      return out;
    }
    case 8: {
      // header: another API key or version (the body then parses under a different schema)
      if (out.length < 4) return out;
      if (rng.chance(0.5)) out.writeInt16BE(rng.chance(0.8) ? rng.pick(APIS).apiKey : rng.pick([-1, 4, 99, 0x7fff]), 0);
      else out.writeInt16BE(rng.chance(0.8) ? rng.range(0, 17) : rng.pick([-1, 100, 0x7fff]), 2);
      return out;
    }
    case 9: {
      // splice a chunk of another frame in
      const donor = rng.pick(donors);
      const from = rng.int(donor.length);
      const chunk = donor.subarray(from, from + rng.range(1, 32));
      const at = rng.int(out.length + 1);
      return rng.chance(0.5) ? Buffer.concat([out.subarray(0, at), chunk, out.subarray(at)]) : Buffer.concat([out.subarray(0, at), chunk, out.subarray(at + chunk.length)]);
    }
    default: {
      // delete or duplicate a range
      if (out.length < 2) return out;
      const a = rng.int(out.length);
      const b = Math.min(out.length, a + rng.range(1, 16));
      return rng.chance(0.5) ? Buffer.concat([out.subarray(0, a), out.subarray(b)]) : Buffer.concat([out.subarray(0, b), out.subarray(a)]);
    }
  }
}

/**
 * A record batch v2 with corrupted contents and a recomputed CRC-32C, so it passes the CRC check
 * and reaches record parsing and decompression; or a legacy message set with a recomputed CRC-32.
 */
export function corruptRecords(rng: Rng, version: number): Buffer {
  if (version <= 2 && rng.chance(0.3)) {
    const set = Buffer.from(legacyMessageSet(rng, version === 2 ? 1 : 0));
    const n = rng.range(1, 3);
    for (let i = 0; i < n; i++) {
      const at = 16 + rng.int(Math.max(1, set.length - 16));
      if (at < set.length) set[at]! ^= 1 << rng.int(8);
    }
    // Recompute the first message's CRC (covers magic..end of that message).
    const size = set.readInt32BE(8);
    if (size >= 4 && 12 + size <= set.length) set.writeUInt32BE(crc32(set.subarray(16, 12 + size)), 12);
    return set;
  }
  const batch = Buffer.from(validRecords(rng));
  const n = rng.range(1, 3);
  for (let i = 0; i < n; i++) {
    switch (rng.int(4)) {
      case 0: // records / compressed payload
        if (batch.length > 61) batch[61 + rng.int(batch.length - 61)]! ^= 1 << rng.int(8);
        break;
      case 1: // record count, last offset delta
        batch.writeInt32BE(rng.pick(INT_SPECIALS), rng.pick([23, 57]));
        break;
      case 2: // attributes: codec bits, transactional, control
        batch.writeInt16BE(rng.int(0x80), 21);
        break;
      default: // producer id / epoch / sequence
        batch.writeInt32BE(rng.pick(INT_SPECIALS), rng.pick([47, 53]));
    }
  }
  batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
  return batch;
}

/** Purely random frames: random length, random bytes, sometimes a plausible header first. */
export function randomFrame(rng: Rng): Buffer {
  const len = rng.chance(0.1) ? rng.int(8) : rng.int(300);
  const b = rng.bytes(len);
  if (len >= 8 && rng.chance(0.6)) {
    const { api, version } = pickApiVersion(rng);
    b.writeInt16BE(api.apiKey, 0);
    b.writeInt16BE(version, 2);
    if (len >= 10 && rng.chance(0.5)) b.writeInt16BE(rng.chance(0.5) ? -1 : Math.min(4, len - 10), 8);
  }
  return b;
}

/** Size prefix for a frame: usually its length, sometimes wrong (negative, huge, off by a bit). */
export function sizePrefix(rng: Rng, frame: Buffer, corrupt: boolean, maxFrameBytes: number): Buffer {
  const p = Buffer.alloc(4);
  let size = frame.length;
  if (corrupt) {
    size = rng.pick([
      -1,
      -0x80000000,
      0,
      rng.int(8),
      frame.length - rng.range(1, 8),
      frame.length + rng.range(1, 8),
      maxFrameBytes,
      maxFrameBytes + 1,
      0x7fffffff,
      rng.int(0x7fffffff),
      -rng.int(0x7fffffff),
    ]);
  }
  p.writeInt32BE(size | 0);
  return p;
}

// ---------------------------------------------------------------------------------------------
// The oracle: how the broker splits a byte stream into frames and what it does with each

export type Outcome = 'answer' | 'answer-v0' | 'silent' | 'close' | 'answer-then-close';

export interface ModelFrame {
  /** Offset in the stream just after this frame. */
  end: number;
  outcome: Outcome;
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** For answered frames: how long the broker may legitimately take (long polls, rebalances). */
  mayWaitMs: number;
  /** Partitions a CreateTopics/CreatePartitions asks for (expensive to honour). */
  partitions?: number;
  why: string;
}

export interface ModelResult {
  frames: ModelFrame[];
  /** What the connection is left in after the stream: closed by the broker, waiting for the rest of a frame, or open. */
  end: 'closed' | 'incomplete' | 'open';
}

/** The broker's judgement of one complete frame (mirrors connection.ts; decoding is the real codec). */
export function judgeFrame(frame: Buffer): Omit<ModelFrame, 'end'> {
  if (frame.length < 8) return { outcome: 'close', apiKey: -1, apiVersion: -1, correlationId: -1, mayWaitMs: 0, why: 'short frame' };
  const apiKey = frame.readInt16BE(0);
  const apiVersion = frame.readInt16BE(2);
  const correlationId = frame.readInt32BE(4);
  const base = { apiKey, apiVersion, correlationId, mayWaitMs: 0 };
  const api = apiByKey(apiKey);
  if (api && apiKey === ApiKey.ApiVersions && (apiVersion < api.min || apiVersion > api.max)) return { ...base, outcome: 'answer-v0', why: 'unsupported ApiVersions version' };
  if (!api) return { ...base, outcome: 'close', why: 'unknown api' };
  if (apiVersion < api.min || apiVersion > api.max) return { ...base, outcome: 'close', why: 'unsupported version' };
  let body: Message;
  try {
    body = decodeRequest(frame).body;
  } catch (err) {
    return { ...base, outcome: 'close', why: (err as Error).message };
  }
  if (apiKey === ApiKey.Produce && body.acks === 0) return { ...base, outcome: 'silent', why: 'acks=0' };
  if (apiKey === ApiKey.SaslAuthenticate) return { ...base, outcome: 'answer-then-close', why: 'SASL not configured' };
  let mayWaitMs = 0;
  if (apiKey === ApiKey.Fetch) mayWaitMs = Math.max(0, body.maxWaitMs as number);
  else if (apiKey === ApiKey.JoinGroup || apiKey === ApiKey.SyncGroup) mayWaitMs = Infinity;
  let partitions: number | undefined;
  if (apiKey === ApiKey.CreateTopics || apiKey === ApiKey.CreatePartitions) {
    const topics = (body.topics as Array<{ numPartitions?: number; count?: number }>) ?? [];
    partitions = topics.reduce((s, t) => s + Math.max(0, t.numPartitions ?? t.count ?? 0), 0);
    if (partitions > 500) mayWaitMs = Infinity;
  }
  return { ...base, outcome: 'answer', mayWaitMs, why: 'valid', ...(partitions !== undefined ? { partitions } : {}) };
}

export function modelStream(stream: Buffer, maxFrameBytes: number): ModelResult {
  const frames: ModelFrame[] = [];
  let pos = 0;
  while (stream.length - pos >= 4) {
    const size = stream.readInt32BE(pos);
    if (size < 0 || size > maxFrameBytes) {
      frames.push({ end: pos + 4, outcome: 'close', apiKey: -1, apiVersion: -1, correlationId: -1, mayWaitMs: 0, why: `size ${size}` });
      return { frames, end: 'closed' };
    }
    if (stream.length - pos - 4 < size) return { frames, end: 'incomplete' };
    const j = judgeFrame(stream.subarray(pos + 4, pos + 4 + size));
    pos += 4 + size;
    frames.push({ ...j, end: pos });
    if (j.outcome === 'close' || j.outcome === 'answer-then-close') return { frames, end: 'closed' };
  }
  return { frames, end: pos < stream.length ? 'incomplete' : 'open' };
}

/** Decodes a response frame (without size prefix) completely: no bytes may be left over. */
export function decodeResponseExactly(apiKey: number, apiVersion: number, frame: Buffer): { correlationId: number; body: Message } {
  const api = apiByKey(apiKey)!;
  const r = new Reader(frame);
  const { correlationId } = decodeResponseHeader(r, responseHeaderVersion(api, apiVersion));
  const body = decodeMessage(api.response, apiVersion, r);
  if (r.remaining !== 0) throw new Error(`${api.name} v${apiVersion} response has ${r.remaining} bytes after its body`);
  return { correlationId, body };
}

export { encodeRequest };

/**
 * Starts a TypeScript module in a worker thread (tsx registered there as well: `--import tsx`
 * does not carry over to workers). The module reads `workerData` and talks over `parentPort`.
 */
export function startTsWorker(entry: URL, workerData: unknown): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`(async () => { const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(entry.href)}); })()`, {
    eval: true,
    workerData,
  });
}
