/**
 * The log suite: Tributary's durable log against Redis Streams and NATS JetStream.
 *
 * Every system gets the same pre-generated random payloads, the same chunking (1 000 records per
 * send, up to 64 chunks in flight) and the same partition layout (record i goes to partition
 * i mod N: N Redis streams, N JetStream subjects on one stream, N topic partitions). A case's
 * produce phase ends when every record is acknowledged; the consume phase then reads all of them
 * back from the beginning without per-record acknowledgements. Each case starts a fresh peer
 * (or a fresh Tributary data directory) and removes it afterwards.
 */
import { randomFillSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AckPolicy, DeliverPolicy, StorageType, connect, createInbox, type NatsConnection } from 'nats';
import type { Bus } from '../../src/bus/types.ts';
import { natsSupportsSyncInterval, natsVersion, startNats } from '../lib/peers/nats.ts';
import { startRedis, redisVersion, type AppendFsync } from '../lib/peers/redis.ts';
import { RespConnection, encodeCommand, type Reply } from '../lib/peers/resp.ts';
import { msSince, percentile } from '../lib/stats.ts';
import type { BenchCase, CaseContext, Metrics, Suite } from '../lib/suite.ts';
import { makeWorkDir, removeWorkDir, repoRoot } from '../lib/workdir.ts';

interface Workload {
  id: string;
  label: string;
  records: number;
  size: number;
  partitions: number;
}

interface Params {
  chunk: number;
  window: number;
  consumeBatch: number;
  redisConns: number;
  lingerMs: number;
  natsPublish: NatsPublish;
}

type OpenEmbeddedBus = (opts: { dataDir: string }) => Promise<Bus>;

const BUS_MODULE = path.join(repoRoot, 'src', 'bus', 'index.ts');

/** Stalled consumers fail the case instead of hanging the bench. */
const STALL_MS = 30_000;

function countLabel(n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1_000 && n % 1_000 === 0) return `${n / 1_000}k`;
  return String(n);
}

function sizeLabel(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

function workloads(quick: boolean): Workload[] {
  const shapes = quick
    ? [
        { records: 20_000, size: 100 },
        { records: 4_000, size: 1024 },
      ]
    : [
        { records: 1_000_000, size: 100 },
        { records: 200_000, size: 1024 },
      ];
  const out: Workload[] = [];
  for (const s of shapes) {
    for (const partitions of [1, 8]) {
      out.push({
        id: `${countLabel(s.records)}x${s.size}b-p${partitions}`.toLowerCase(),
        label: `${countLabel(s.records)} × ${sizeLabel(s.size)}, ${partitions} partition${partitions === 1 ? '' : 's'}`,
        records: s.records,
        size: s.size,
        partitions,
      });
    }
  }
  return out;
}

/** One random buffer per record shape, sliced into records; shared by every system and run. */
const payloadCache = new Map<string, Buffer[]>();
function payloads(records: number, size: number): Buffer[] {
  const key = `${records}x${size}`;
  let list = payloadCache.get(key);
  if (!list) {
    const all = Buffer.allocUnsafe(records * size);
    for (let off = 0; off < all.length; off += 1 << 30) randomFillSync(all, off, Math.min(1 << 30, all.length - off));
    list = new Array<Buffer>(records);
    for (let i = 0; i < records; i++) list[i] = all.subarray(i * size, (i + 1) * size);
    payloadCache.set(key, list);
  }
  return list;
}

interface ProduceFigures {
  elapsedMs: number;
  latencies: number[];
}

/**
 * Sends `chunks` chunks with at most `window` unacknowledged at a time. A chunk's latency runs
 * from the moment it is handed to the client (before encoding) until its last acknowledgement.
 */
function windowed(chunks: number, window: number, send: (k: number) => Promise<unknown>): Promise<ProduceFigures> {
  const latencies = new Array<number>(chunks);
  const start = process.hrtime.bigint();
  return new Promise<ProduceFigures>((resolve, reject) => {
    let next = 0;
    let inflight = 0;
    let done = 0;
    let failed = false;
    const launch = (): void => {
      while (!failed && inflight < window && next < chunks) {
        const k = next++;
        inflight++;
        const t0 = process.hrtime.bigint();
        let p: Promise<unknown>;
        try {
          p = send(k);
        } catch (err) {
          p = Promise.reject(err);
        }
        p.then(
          () => {
            latencies[k] = msSince(t0);
            inflight--;
            done++;
            if (done === chunks) resolve({ elapsedMs: msSince(start), latencies });
            else launch();
          },
          (err: unknown) => {
            if (!failed) {
              failed = true;
              reject(err);
            }
          },
        );
      }
    };
    if (chunks === 0) resolve({ elapsedMs: 0, latencies });
    else launch();
  });
}

function produceMetrics(w: Workload, f: ProduceFigures): Metrics {
  const sec = f.elapsedMs / 1000;
  return {
    produceRecordsPerSec: Math.round(w.records / sec),
    produceMBps: (w.records * w.size) / sec / 1e6,
    produceP50Ms: percentile(f.latencies, 50),
    produceP99Ms: percentile(f.latencies, 99),
    produceSec: sec,
  };
}

function consumeMetrics(w: Workload, elapsedMs: number, records: number, bytes: number): Metrics {
  if (records !== w.records || bytes !== w.records * w.size) {
    throw new Error(`consumed ${records} records / ${bytes} B, expected ${w.records} / ${w.records * w.size}`);
  }
  const sec = elapsedMs / 1000;
  return {
    consumeRecordsPerSec: Math.round(w.records / sec),
    consumeMBps: (w.records * w.size) / sec / 1e6,
    consumeSec: sec,
  };
}

function chunkBounds(w: Workload, p: Params, k: number): [number, number] {
  const from = k * p.chunk;
  return [from, Math.min(w.records, from + p.chunk)];
}

// ---------------------------------------------------------------------------------------------
// Redis Streams

async function runRedis(w: Workload, p: Params, appendfsync: AppendFsync, ctx: CaseContext): Promise<Metrics> {
  const values = payloads(w.records, w.size);
  const peer = await startRedis({ appendfsync });
  const conns: RespConnection[] = [];
  try {
    for (let i = 0; i < p.redisConns; i++) conns.push(await RespConnection.connect(peer.port));
    const streams = Array.from({ length: w.partitions }, (_, i) => `bench-${i}`);
    // Everything of an XADD but the value: *5 XADD <stream> * v
    const prefixes = streams.map((s) => Buffer.from(`*5\r\n$4\r\nXADD\r\n$${Buffer.byteLength(s)}\r\n${s}\r\n$1\r\n*\r\n$1\r\nv\r\n`));
    const chunks = Math.ceil(w.records / p.chunk);

    const produced = await windowed(chunks, p.window, (k) => {
      const [from, to] = chunkBounds(w, p, k);
      let total = 0;
      for (let i = from; i < to; i++) {
        const len = values[i]!.length;
        total += prefixes[i % w.partitions]!.length + String(len).length + 3 + len + 2;
      }
      const buf = Buffer.allocUnsafe(total);
      let o = 0;
      for (let i = from; i < to; i++) {
        const v = values[i]!;
        o += prefixes[i % w.partitions]!.copy(buf, o);
        o += buf.write(`$${v.length}\r\n`, o, 'latin1');
        o += v.copy(buf, o);
        buf[o++] = 13;
        buf[o++] = 10;
      }
      return conns[k % conns.length]!.send(buf, to - from);
    });
    const produce = produceMetrics(w, produced);
    ctx.log(`produce ${produce.produceRecordsPerSec!.toLocaleString('en-US')} rec/s, p99 ${produce.produceP99Ms!.toFixed(1)} ms`);

    const reader = conns[0]!;
    let stored = 0;
    for (const s of streams) {
      stored += (await reader.call('XLEN', s)) as number;
      await reader.call('XGROUP', 'CREATE', s, 'bench', '0');
    }
    if (stored !== w.records) throw new Error(`redis holds ${stored} entries, expected ${w.records}`);

    // NOACK: delivered entries are not kept in the pending list (auto-acknowledged, like a
    // consumer that does not commit per record).
    const read = encodeCommand(['XREADGROUP', 'GROUP', 'bench', 'c1', 'COUNT', p.consumeBatch, 'NOACK', 'STREAMS', ...streams, ...streams.map(() => '>')]);
    let records = 0;
    let bytes = 0;
    const t0 = process.hrtime.bigint();
    while (records < w.records) {
      const [reply] = await reader.send(read, 1, true);
      if (reply === null) throw new Error(`XREADGROUP returned nothing after ${records} of ${w.records} entries`);
      for (const perStream of reply as Reply[]) {
        const entries = (perStream as Reply[])[1] as Reply[];
        for (const entry of entries) {
          const fields = (entry as Reply[])[1] as Reply[];
          records++;
          bytes += (fields[1] as Buffer).length;
        }
      }
    }
    const consume = consumeMetrics(w, msSince(t0), records, bytes);
    // Background AOF rewrites (auto-aof-rewrite, on by default) fork and compete for the CPU.
    const persistence = ((await reader.call('INFO', 'persistence')) as Buffer).toString('latin1');
    const aofRewrites = Number(/aof_rewrites:(\d+)/.exec(persistence)?.[1] ?? NaN);
    return { ...produce, ...consume, aofRewrites };
  } finally {
    await Promise.allSettled(conns.map((c) => c.close()));
    await peer.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// NATS JetStream

type NatsPublish = 'async' | 'jsapi';

/**
 * Publishes one chunk the way the Go client's PublishAsync does: core publishes carrying a reply
 * subject, PubAcks collected on one wildcard subscription. nats.js's `js.publish()` allocates a
 * request, a promise and a timer per message and is client-bound here (`--nats-publish jsapi`
 * measures it).
 */
class NatsAsyncPublisher {
  private readonly inbox = createInbox();
  private readonly chunks = new Map<number, { left: number; failed: string | null; resolve: () => void; reject: (e: Error) => void }>();
  private seq = 0;

  constructor(private readonly nc: NatsConnection) {
    nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => {
        const subject = msg?.subject ?? '';
        const k = Number(subject.slice(subject.lastIndexOf('.') + 1));
        const chunk = this.chunks.get(k);
        if (!chunk) return;
        // A PubAck is {"stream":…,"seq":…}; failures carry "error" or come back as a status
        // message with headers (503: no stream for the subject).
        if (err) chunk.failed ??= err.message;
        else if (msg.headers) chunk.failed ??= `status ${msg.headers.code} ${msg.headers.description}`;
        else if (Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.length).includes('"error"')) chunk.failed ??= msg.string();
        if (--chunk.left > 0) return;
        this.chunks.delete(k);
        if (chunk.failed) chunk.reject(new Error(`JetStream publish failed: ${chunk.failed}`));
        else chunk.resolve();
      },
    });
  }

  publish(subjects: string[], values: Buffer[], from: number, to: number): Promise<void> {
    const k = this.seq++;
    const reply = `${this.inbox}.${k}`;
    const done = new Promise<void>((resolve, reject) => this.chunks.set(k, { left: to - from, failed: null, resolve, reject }));
    for (let i = from; i < to; i++) this.nc.publish(subjects[i % subjects.length]!, values[i]!, { reply });
    return done;
  }
}

async function runNats(w: Workload, p: Params, syncInterval: string | undefined, ctx: CaseContext): Promise<Metrics> {
  const values = payloads(w.records, w.size);
  const peer = await startNats(syncInterval ? { syncInterval } : {});
  let nc: NatsConnection | null = null;
  try {
    nc = await connect({ servers: peer.url, pingInterval: 60_000 });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'BENCH', subjects: ['bench.>'], storage: StorageType.File, num_replicas: 1 });
    const js = nc.jetstream({ timeout: 60_000 });
    const subjects = Array.from({ length: w.partitions }, (_, i) => `bench.p${i}`);
    const chunks = Math.ceil(w.records / p.chunk);

    let send: (k: number) => Promise<unknown>;
    if (p.natsPublish === 'jsapi') {
      send = (k) => {
        const [from, to] = chunkBounds(w, p, k);
        const acks = new Array<Promise<unknown>>(to - from);
        for (let i = from; i < to; i++) acks[i - from] = js.publish(subjects[i % w.partitions]!, values[i]!, { timeout: 60_000 });
        return Promise.all(acks);
      };
    } else {
      const publisher = new NatsAsyncPublisher(nc);
      send = (k) => publisher.publish(subjects, values, ...chunkBounds(w, p, k));
    }
    const produced = await windowed(chunks, p.window, send);
    const produce = produceMetrics(w, produced);
    ctx.log(`produce ${produce.produceRecordsPerSec!.toLocaleString('en-US')} rec/s, p99 ${produce.produceP99Ms!.toFixed(1)} ms`);

    const info = await jsm.streams.info('BENCH');
    if (info.state.messages !== w.records) throw new Error(`stream holds ${info.state.messages} messages, expected ${w.records}`);

    await jsm.consumers.add('BENCH', { durable_name: 'bench', ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
    const consumer = await js.consumers.get('BENCH', 'bench');
    let records = 0;
    let bytes = 0;
    let lastProgress = Date.now();
    const t0 = process.hrtime.bigint();
    while (records < w.records) {
      // A fetch waits until it has max_messages or expires: never ask for more than is left.
      const batch = await consumer.fetch({ max_messages: Math.min(p.consumeBatch, w.records - records), expires: 5_000 });
      const before = records;
      for await (const m of batch) {
        records++;
        bytes += m.data.length;
      }
      if (records > before) lastProgress = Date.now();
      else if (Date.now() - lastProgress > STALL_MS) throw new Error(`pull consumer stalled after ${records} of ${w.records} messages`);
    }
    const consume = consumeMetrics(w, msSince(t0), records, bytes);
    return { ...produce, ...consume };
  } finally {
    if (nc) await nc.close().catch(() => undefined);
    await peer.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Tributary (embedded bus, in this process)

async function loadBus(): Promise<OpenEmbeddedBus | null> {
  if (!existsSync(BUS_MODULE)) return null;
  const mod = (await import(pathToFileURL(BUS_MODULE).href)) as { openEmbeddedBus?: unknown };
  if (typeof mod.openEmbeddedBus !== 'function') throw new Error('src/bus/index.ts does not export openEmbeddedBus()');
  return mod.openEmbeddedBus as OpenEmbeddedBus;
}

async function runTributary(open: OpenEmbeddedBus, w: Workload, p: Params, ctx: CaseContext): Promise<Metrics> {
  const values = payloads(w.records, w.size);
  const dataDir = makeWorkDir('tributary');
  let bus: Bus | null = null;
  try {
    bus = await open({ dataDir });
    const topic = 'bench';
    await bus.admin().createTopic(topic, { partitions: w.partitions, ackPolicy: 'fsync' });
    const producer = bus.producer({ lingerMs: p.lingerMs });
    const chunks = Math.ceil(w.records / p.chunk);
    let produced: ProduceFigures;
    try {
      produced = await windowed(chunks, p.window, (k) => {
        const [from, to] = chunkBounds(w, p, k);
        const records = new Array<{ value: Buffer; partition: number }>(to - from);
        for (let i = from; i < to; i++) records[i - from] = { value: values[i]!, partition: i % w.partitions };
        return producer.send(topic, records);
      });
    } finally {
      await producer.close();
    }
    const produce = produceMetrics(w, produced);
    ctx.log(`produce ${produce.produceRecordsPerSec!.toLocaleString('en-US')} rec/s, p99 ${produce.produceP99Ms!.toFixed(1)} ms`);

    const described = await bus.admin().describeTopic(topic);
    const stored = described.partitions.reduce((n, part) => n + part.highWatermark - part.logStartOffset, 0);
    if (stored !== w.records) throw new Error(`topic holds ${stored} records, expected ${w.records}`);

    const consumer = bus.consumer({ fromBeginning: true });
    try {
      consumer.assign(Array.from({ length: w.partitions }, (_, partition) => ({ topic, partition, offset: 0 })));
      let records = 0;
      let bytes = 0;
      let lastProgress = Date.now();
      const t0 = process.hrtime.bigint();
      while (records < w.records) {
        const batch = await consumer.poll({ maxRecords: p.consumeBatch, timeoutMs: 1_000 });
        for (const r of batch) bytes += r.value?.length ?? 0;
        records += batch.length;
        if (batch.length > 0) lastProgress = Date.now();
        else if (Date.now() - lastProgress > STALL_MS) throw new Error(`consumer stalled after ${records} of ${w.records} records`);
      }
      const consume = consumeMetrics(w, msSince(t0), records, bytes);
      return { ...produce, ...consume };
    } finally {
      await consumer.close();
    }
  } finally {
    if (bus) await bus.close();
    removeWorkDir(dataDir);
  }
}

// ---------------------------------------------------------------------------------------------

function intOption(extra: Record<string, string>, name: string, fallback: number): number {
  const v = extra[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} needs a positive integer, got "${v}"`);
  return n;
}

function natsPublishOption(v: string | undefined): NatsPublish {
  if (v === undefined || v === 'async') return 'async';
  if (v === 'jsapi') return 'jsapi';
  throw new Error(`--nats-publish must be async or jsapi, got "${v}"`);
}

const SYSTEMS = ['tributary', 'redis', 'nats'] as const;

const suite: Suite = {
  title: 'durable log vs Redis Streams and NATS JetStream',
  description:
    'Produce N records of a fixed size (same random payloads for every system) in chunks of 1 000, ' +
    'with up to 64 chunks in flight, round-robin over the partitions, until every record is ' +
    'acknowledged; then read all of them back from the beginning. Records/s and MB/s (payload bytes, ' +
    '10⁶ B) are for the produce phase; p99 ack latency is per chunk, from hand-over to the client ' +
    'until its last acknowledgement (so it includes waiting behind the other chunks in flight); ' +
    'consume records/s reads everything back without per-record acknowledgements. Peers run as ' +
    'separate processes on loopback; Tributary runs embedded in the benchmark process.',
  subject: 'tributary',
  columns: [
    { key: 'produceRecordsPerSec', label: 'produce records/s', digits: 0 },
    { key: 'produceMBps', label: 'produce MB/s', digits: 1 },
    { key: 'produceP99Ms', label: 'p99 ack (ms)', digits: 1 },
    { key: 'consumeRecordsPerSec', label: 'consume records/s', digits: 0 },
  ],
  ratios: [
    { key: 'produceRecordsPerSec', label: 'produce' },
    { key: 'consumeRecordsPerSec', label: 'consume' },
  ],
  optionsHelp: [
    '  --systems a,b       any of tributary,redis,nats (default: all)',
    '  --workloads a,b     workload ids, e.g. 1mx100b-p1,200kx1024b-p8 (default: all four)',
    '  --chunk N           records per send / pipeline chunk (default 1000)',
    '  --window N          chunks in flight (default 64)',
    '  --consume-batch N   records per poll / fetch / XREADGROUP COUNT (default 10000)',
    '  --redis-conns N     Redis connections the chunks are spread over (default 8)',
    '  --linger-ms N       Tributary producer lingerMs (default 2)',
    '  --nats-publish M    async: core publish + reply wildcard, as Go PublishAsync (default);',
    '                      jsapi: nats.js js.publish() per message (client-bound, ~25k msg/s here)',
  ].join('\n'),

  async prepare({ quick, extra, log }) {
    const known = ['systems', 'workloads', 'chunk', 'window', 'consume-batch', 'redis-conns', 'linger-ms', 'nats-publish'];
    const unknownOptions = Object.keys(extra).filter((k) => !known.includes(k));
    if (unknownOptions.length > 0) throw new Error(`log suite: unknown option(s) ${unknownOptions.map((k) => `--${k}`).join(', ')}; see --help`);
    const params: Params = {
      chunk: intOption(extra, 'chunk', 1000),
      window: intOption(extra, 'window', 64),
      consumeBatch: intOption(extra, 'consume-batch', 10_000),
      redisConns: intOption(extra, 'redis-conns', 8),
      lingerMs: intOption(extra, 'linger-ms', 2),
      natsPublish: natsPublishOption(extra['nats-publish']),
    };
    const systems = (extra['systems'] ?? SYSTEMS.join(',')).split(',').map((s) => s.trim());
    for (const s of systems) if (!(SYSTEMS as readonly string[]).includes(s)) throw new Error(`--systems: unknown system "${s}"`);
    let chosen = workloads(quick);
    if (extra['workloads']) {
      const ids = extra['workloads'].split(',').map((s) => s.trim().toLowerCase());
      const unknown = ids.filter((id) => !chosen.some((w) => w.id === id));
      if (unknown.length > 0) throw new Error(`--workloads: unknown ${unknown.join(', ')}; known: ${chosen.map((w) => w.id).join(', ')}`);
      chosen = chosen.filter((w) => ids.includes(w.id));
    }

    const notes: string[] = [];
    const settings: Record<string, unknown> = { ...params, workloads: chosen, systems };

    let openBus: OpenEmbeddedBus | null = null;
    if (systems.includes('tributary')) {
      try {
        openBus = await loadBus();
      } catch (err) {
        // The module exists but does not load: every Tributary case fails with this error (and
        // the bench exits 1) while the peers are still measured.
        const message = `cannot load src/bus/index.ts: ${(err as Error).message}`;
        log(`tributary: ${message}`);
        openBus = () => Promise.reject(new Error(message));
      }
      if (!openBus) {
        log('tributary: bus not available yet');
        notes.push('Tributary: bus not available yet (src/bus/index.ts missing); peers only.');
      } else {
        notes.push(
          `Tributary: embedded bus, topic ackPolicy 'fsync' (acknowledged after fsync, group commit), producer lingerMs ${params.lingerMs}, explicit partition per record; consumer assign() + poll({ maxRecords: ${params.consumeBatch} }), no commits.`,
        );
      }
    }

    let natsSync: string | undefined;
    if (systems.includes('redis')) {
      const v = redisVersion();
      if (!v) throw new Error('redis-server is not installed (apt-get install redis-server)');
      settings['redisVersion'] = v;
      notes.push(
        `Redis ${v} Streams: AOF on, RDB off, default auto-rewrite (its background rewrites, 1–2 per case, are counted as aofRewrites in the JSON); raw RESP pipelining of XADD over ${params.redisConns} connections (a chunk = one pipeline); ` +
          `consume with XREADGROUP COUNT ${params.consumeBatch} NOACK over all streams. ` +
          '`always` fsyncs the AOF before replying (one fsync per event-loop pass covers every client); `everysec` replies before fsync and can lose about 1 s of acknowledged writes.',
      );
    }
    if (systems.includes('nats')) {
      const v = natsVersion();
      if (!v) throw new Error('nats-server is not installed (apt-get install nats-server)');
      settings['natsVersion'] = v;
      const syncSupported = await natsSupportsSyncInterval();
      settings['natsSyncIntervalSupported'] = syncSupported;
      if (syncSupported) natsSync = 'always';
      notes.push(
        `NATS ${v} JetStream, file storage, one stream with one subject per partition; ` +
          (params.natsPublish === 'async'
            ? 'async publish as the Go client\'s PublishAsync does it (nats.js core publish with a reply subject, PubAcks on one wildcard subscription; nats.js `js.publish()` is client-bound at ~25k msg/s here); '
            : 'nats.js `js.publish()` per message; ') +
          `a chunk resolves when all its PubAcks arrived; ` +
          `pull consumer (AckPolicy.None) fetching ${params.consumeBatch} at a time. ` +
          (syncSupported
            ? 'Measured twice: default (no fsync before ack; store synced every 2 min) and `sync_interval: always`.'
            : 'No fsync before ack: the file store syncs every 2 min by default, and this nats-server rejects `sync_interval` (added in 2.10), so it cannot be made to fsync per write.'),
      );
    }

    const cases: BenchCase[] = [];
    for (const w of chosen) {
      if (openBus && systems.includes('tributary')) {
        const open = openBus;
        cases.push({ id: `${w.id}/tributary`, workload: w.label, system: 'tributary', durability: 'fsync before ack (group commit)', run: (ctx) => runTributary(open, w, params, ctx) });
      }
      if (systems.includes('redis')) {
        cases.push({ id: `${w.id}/redis-always`, workload: w.label, system: 'redis', durability: 'AOF appendfsync always (fsync before reply)', run: (ctx) => runRedis(w, params, 'always', ctx) });
        cases.push({ id: `${w.id}/redis-everysec`, workload: w.label, system: 'redis', durability: 'AOF appendfsync everysec (no fsync before reply)', run: (ctx) => runRedis(w, params, 'everysec', ctx) });
      }
      if (systems.includes('nats')) {
        cases.push({ id: `${w.id}/nats`, workload: w.label, system: 'nats', durability: 'JetStream file store, no fsync before ack (sync every 2 min)', run: (ctx) => runNats(w, params, undefined, ctx) });
        if (natsSync) {
          cases.push({ id: `${w.id}/nats-sync-always`, workload: w.label, system: 'nats', durability: 'JetStream file store, sync_interval always', run: (ctx) => runNats(w, params, natsSync, ctx) });
        }
      }
    }
    log(`log suite: ${chosen.length} workload(s), ${cases.length} case(s); generating payloads…`);
    for (const w of chosen) payloads(w.records, w.size);
    return {
      cases,
      settings,
      notes,
      async cleanup() {
        payloadCache.clear();
      },
    };
  },
};

export default suite;
