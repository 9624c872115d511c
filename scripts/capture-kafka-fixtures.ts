/**
 * Regenerates test/kafka/fixtures/: real Kafka clients (kcat, kafkajs, @platformatic/kafka) run against a Tributary
 * broker through a recording TCP proxy; every request frame the proxy sees, and the response
 * the broker sent for it, is written as hex.
 *
 *   node --import tsx scripts/capture-kafka-fixtures.ts [--out test/kafka/fixtures]
 *
 * Layout: `<out>/<client>/<nn>-<ApiName>-v<version>[-<codec>].{req,res}.hex` — frames WITHOUT
 * their 4-byte size prefix (what `decodeRequest`/`decodeResponse` take), hex, 64 bytes a line —
 * and `<out>/index.json` listing every frame (client, client version, api, version, ...).
 *
 * To keep the set small, one request/response pair is kept per (client, api key, version), and
 * for Produce per compression codec too (the largest pair is kept, so Produce and Fetch fixtures
 * carry records). Clients:
 *   - kcat: librdkafka with its defaults (ApiVersions v3, record batches v2): -L, produce with
 *     -z none/gzip/snappy/lz4/zstd, consume, balanced consumer -G;
 *   - kafkajs: admin createTopics, producer (plain and gzip), consumer group with commits,
 *     admin fetchOffsets / listGroups / describeGroups / deleteTopics;
 *   - platformatic: @platformatic/kafka, which speaks the newest (flexible, KIP-482) versions:
 *     admin createTopics, producer (plain and gzip), consumer group with commits, admin
 *     listConsumerGroupOffsets / describeGroups / deleteTopics.
 * The broker runs in this process (the proxy must be what Metadata advertises, so clients never
 * bypass it). Output differs from run to run (timestamps, member ids): regenerate on purpose only.
 */
import { spawn, execFileSync } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import pino from 'pino';
import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
import { Admin, Consumer, Producer, stringSerializers, stringDeserializers } from '@platformatic/kafka';
import { openEmbeddedBus } from '../src/bus/index.ts';
import { startKafkaServer } from '../src/kafka/index.ts';
import { apiByKey, ApiKey } from '../src/kafka/protocol/apis.ts';
import { decodeRequest } from '../src/kafka/protocol/frames.ts';

const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const OUT = resolve(outIdx >= 0 ? args[outIdx + 1]! : 'test/kafka/fixtures');

interface Captured {
  client: string;
  seq: number;
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  request: Buffer;
  response: Buffer | null;
  variant: string | null;
}

const captured: Captured[] = [];
let currentClient = 'none';
let seq = 0;

/** Splits a byte stream into size-prefixed frames (returned without the prefix). */
function framer(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 4) {
      const size = buf.readInt32BE(0);
      if (buf.length < 4 + size) break;
      onFrame(Buffer.from(buf.subarray(4, 4 + size)));
      buf = buf.subarray(4 + size);
    }
  };
}

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Produce: the compression codec of the first batch/message (for file names and dedupe). */
function produceVariant(frame: Buffer): string | null {
  try {
    const { body } = decodeRequest(frame);
    const records = (body.topicData as Array<{ partitionData: Array<{ records: Buffer | null }> }>)[0]?.partitionData[0]?.records;
    if (!records || records.length < 17) return null;
    const magic = records[16]!;
    const codec = magic === 2 ? records.readInt16BE(21) & 7 : records[21]! & 7; // v2 attributes int16 at 21; v0/v1 attributes int8 at 21
    return `${CODECS[codec] ?? `codec${codec}`}${magic < 2 ? `-magic${magic}` : ''}`;
  } catch {
    return null;
  }
}

/** A TCP proxy in front of the broker that records request and response frames per connection. */
async function startProxy(upstreamPort: () => number): Promise<{ server: Server; port: number }> {
  const server = createServer((client: Socket) => {
    const label = currentClient;
    const upstream = connect(upstreamPort(), '127.0.0.1');
    const inflight = new Map<number, Captured>();
    client.on(
      'data',
      framer((frame) => {
        if (frame.length < 8) return;
        const c: Captured = {
          client: label,
          seq: seq++,
          apiKey: frame.readInt16BE(0),
          apiVersion: frame.readInt16BE(2),
          correlationId: frame.readInt32BE(4),
          request: frame,
          response: null,
          variant: frame.readInt16BE(0) === ApiKey.Produce ? produceVariant(frame) : null,
        };
        captured.push(c);
        inflight.set(c.correlationId, c);
      }),
    );
    upstream.on(
      'data',
      framer((frame) => {
        const c = inflight.get(frame.readInt32BE(0));
        if (c) {
          c.response = frame;
          inflight.delete(c.correlationId);
        }
      }),
    );
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : 0 };
}

function run(cmd: string, argv: string[], input: string | null, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    if (input !== null) child.stdin.end(input);
    else child.stdin.end();
  });
}

async function kcat(label: string, bootstrap: string, extra: string[]): Promise<void> {
  currentClient = label;
  const x = (...kv: string[]) => kv.flatMap((s) => ['-X', s]);
  const common = ['-b', bootstrap, ...extra];
  const topicOf = (codec: string) => `fx-${label}-${codec}`;

  const l = await run('kcat', [...common, '-L'], null, 15_000);
  if (l.code !== 0) throw new Error(`kcat -L failed: ${l.stderr}`);

  for (const codec of CODECS) {
    // librdkafka sends a batch uncompressed when compression would not make it smaller: repeat.
    const input = ['k1:hello', 'k2:wire', 'k3:fixtures'].map((s) => `${s} ${'tributary '.repeat(12)}`).join('\n') + '\n';
    const p = await run('kcat', [...common, '-P', '-t', topicOf(codec), '-K:', '-z', codec, ...x('acks=all', 'linger.ms=500')], input, 20_000);
    if (p.code !== 0) throw new Error(`kcat -P -z ${codec} failed: ${p.stderr}`);
  }
  const c = await run('kcat', [...common, '-C', '-t', topicOf('gzip'), '-o', 'beginning', '-e', '-q'], null, 20_000);
  if (c.code !== 0 || !c.stdout.includes('wire')) throw new Error(`kcat -C failed (${c.code}): ${c.stderr} ${c.stdout}`);
  // Balanced consumer: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, OffsetCommit/Fetch, LeaveGroup.
  const g = await run('kcat', [...common, '-G', `fx-group-${label}`, topicOf('none'), '-e', '-q', ...x('auto.offset.reset=earliest', 'auto.commit.interval.ms=200', 'heartbeat.interval.ms=300')], null, 30_000);
  if (!g.stdout.includes('hello')) throw new Error(`kcat -G consumed nothing (${g.code}): ${g.stderr}`);
}

async function kafkajs(bootstrap: string): Promise<void> {
  currentClient = 'kafkajs';
  const kafka = new Kafka({ clientId: 'tributary-fixtures', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'fx-kafkajs', numPartitions: 2 }], waitForLeaders: true });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await producer.send({ topic: 'fx-kafkajs', acks: -1, messages: [{ key: 'a', value: 'one', headers: { h: 'x' } }, { key: 'b', value: 'two' }] });
  await producer.send({ topic: 'fx-kafkajs', acks: -1, compression: CompressionTypes.GZIP, messages: [{ key: 'c', value: 'three' }] });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: 'fx-kafkajs-group', heartbeatInterval: 300, sessionTimeout: 10_000 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'fx-kafkajs', fromBeginning: true });
  let seen = 0;
  const done = new Promise<void>((resolveDone) => {
    void consumer.run({
      autoCommit: true,
      autoCommitThreshold: 1,
      eachMessage: async () => {
        seen++;
        if (seen >= 3) resolveDone();
      },
    });
  });
  await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`kafkajs consumer saw only ${seen} messages`)), 30_000))]);
  await new Promise((r) => setTimeout(r, 700)); // a heartbeat or two
  await consumer.disconnect();

  const offsets = await admin.fetchOffsets({ groupId: 'fx-kafkajs-group', topics: ['fx-kafkajs'] });
  if (!offsets[0]?.partitions.some((p) => Number(p.offset) > 0)) throw new Error(`kafkajs fetchOffsets found no commit: ${JSON.stringify(offsets)}`);
  await admin.listGroups();
  await admin.describeGroups(['fx-kafkajs-group']);
  await admin.fetchTopicOffsets('fx-kafkajs');
  await admin.deleteTopics({ topics: ['fx-kafkajs'] });
  await admin.disconnect();
}

async function platformatic(bootstrap: string): Promise<void> {
  currentClient = 'platformatic';
  const base = { clientId: 'tributary-fixtures', bootstrapBrokers: [bootstrap], retries: 2 };
  const topic = 'fx-platformatic';
  const admin = new Admin(base);
  await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
  const producer = new Producer({ ...base, serializers: stringSerializers });
  await producer.send({ acks: -1, messages: [{ topic, key: 'a', value: 'one', headers: { h: 'x' } }, { topic, key: 'b', value: 'two' }] });
  await producer.send({ acks: -1, compression: 'gzip', messages: [{ topic, key: 'c', value: `three ${'tributary '.repeat(12)}` }] });
  await producer.close();

  const consumer = new Consumer({ ...base, groupId: 'fx-platformatic-group', deserializers: stringDeserializers, heartbeatInterval: 300, sessionTimeout: 10_000 });
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: 100, maxWaitTime: 200 });
  let seen = 0;
  await Promise.race([
    new Promise<void>((resolveDone) => {
      stream.on('data', () => {
        seen++;
        if (seen >= 3) resolveDone();
      });
    }),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`@platformatic/kafka consumer saw only ${seen} messages`)), 30_000)),
  ]);
  await new Promise((r) => setTimeout(r, 700)); // autocommit and a heartbeat
  await stream.close();
  await consumer.close();

  const offsets = await admin.listConsumerGroupOffsets({ groups: ['fx-platformatic-group'] });
  if (!JSON.stringify(offsets, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)).includes('"committedOffset":')) {
    throw new Error('@platformatic/kafka listConsumerGroupOffsets returned nothing');
  }
  await admin.describeGroups({ groups: ['fx-platformatic-group'] });
  await admin.deleteTopics({ topics: [topic] });
  await admin.close();
}

function clientVersions(): Record<string, string> {
  const v = execFileSync('kcat', ['-V'], { encoding: 'utf8' });
  const kcatVersion = /Version (\S+)/.exec(v)?.[1] ?? 'unknown';
  const rdkafka = /librdkafka (\S+)/.exec(v)?.[1] ?? 'unknown';
  const kafkajsVersion = (JSON.parse(readFileSync('node_modules/kafkajs/package.json', 'utf8')) as { version: string }).version;
  const platformaticVersion = (JSON.parse(readFileSync('node_modules/@platformatic/kafka/package.json', 'utf8')) as { version: string }).version;
  return {
    kcat: `kcat ${kcatVersion} (librdkafka ${rdkafka})`,
    platformatic: `@platformatic/kafka ${platformaticVersion}`,
    kafkajs: `kafkajs ${kafkajsVersion}`,
  };
}

function hex(b: Buffer): string {
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 64) lines.push(b.subarray(i, i + 64).toString('hex'));
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tributary-fixtures-'));
  const logger = pino({ level: process.env.TRIBUTARY_TEST_LOG ?? 'silent' });
  let brokerPort = 0;
  const proxy = await startProxy(() => brokerPort);
  const bus = await openEmbeddedBus({ dataDir, logger, autoCreateTopics: true, log: { maintenanceIntervalMs: 0 } });
  const server = await startKafkaServer({ bus, port: 0, logger, advertisedHost: '127.0.0.1', advertisedPort: proxy.port });
  brokerPort = server.port;
  const bootstrap = `127.0.0.1:${proxy.port}`;
  try {
    await kcat('kcat', bootstrap, []);
    await kafkajs(bootstrap);
    await platformatic(bootstrap);
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    await server.close();
    await bus.close();
    proxy.server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }

  // One pair per (client, api, version[, produce codec]): the largest (so Fetch keeps records).
  const keep = new Map<string, Captured>();
  for (const c of captured) {
    if (c.response === null) continue;
    const key = `${c.client}/${c.apiKey}/${c.apiVersion}/${c.variant ?? ''}`;
    const prev = keep.get(key);
    if (!prev || c.request.length + c.response.length > prev.request.length + prev.response!.length) keep.set(key, c);
  }
  const versions = clientVersions();
  rmSync(OUT, { recursive: true, force: true });
  const frames: unknown[] = [];
  const byClient = new Map<string, Captured[]>();
  for (const c of [...keep.values()].sort((a, b) => a.seq - b.seq)) byClient.set(c.client, [...(byClient.get(c.client) ?? []), c]);
  for (const [client, list] of byClient) {
    mkdirSync(join(OUT, client), { recursive: true });
    list.forEach((c, i) => {
      const api = apiByKey(c.apiKey)?.name ?? `api${c.apiKey}`;
      const base = `${String(i + 1).padStart(2, '0')}-${api}-v${c.apiVersion}${c.variant ? `-${c.variant}` : ''}`;
      writeFileSync(join(OUT, client, `${base}.req.hex`), hex(c.request));
      writeFileSync(join(OUT, client, `${base}.res.hex`), hex(c.response!));
      frames.push({ client, clientVersion: versions[client], file: `${client}/${base}`, api, apiKey: c.apiKey, version: c.apiVersion, correlationId: c.correlationId, ...(c.variant ? { compression: c.variant } : {}) });
    });
  }
  const index = {
    description: 'Kafka request/response frames captured on the wire by scripts/capture-kafka-fixtures.ts; hex, without the 4-byte size prefix',
    clients: versions,
    frames,
  };
  writeFileSync(join(OUT, 'index.json'), JSON.stringify(index, null, 2) + '\n');
  const total = captured.length;
  if (process.env.CAPTURE_DEBUG) for (const c of captured) console.log(c.client, apiByKey(c.apiKey)?.name, c.apiVersion, c.variant, c.response ? c.response.length : 'no response');
  console.log(`captured ${total} request frames; kept ${frames.length} pairs in ${OUT}`);
  for (const [client, list] of byClient) console.log(`  ${client}: ${list.map((c) => `${apiByKey(c.apiKey)?.name}v${c.apiVersion}${c.variant ? `(${c.variant})` : ''}`).join(' ')}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
