/**
 * Driving the peers (Redis Streams, NATS JetStream) with a given list of records, as the log
 * suite does (bench/suites/log.ts): produce in chunks with a window of chunks in flight, then
 * consume everything back; and the fixed-rate acknowledgement-latency load
 * (./fixed-rate.ts) for each peer. The client choices are the log suite's (raw RESP pipelining
 * for Redis, reply-subject publishing with PubAcks on one wildcard subscription for NATS), for
 * the reasons given in bench/README.md: each peer driven the fastest way measured here.
 */
import { AckPolicy, DeliverPolicy, StorageType, connect, createInbox, type NatsConnection } from 'nats';
import { runFixedRate, type FixedRateOptions } from './fixed-rate.ts';
import { startNats } from './peers/nats.ts';
import { startRedis, type AppendFsync } from './peers/redis.ts';
import { RespConnection, encodeCommand, type Reply } from './peers/resp.ts';
import { msSince, percentile } from './stats.ts';
import type { CaseContext, Metrics } from './suite.ts';

/** Fixed-size records, handed out one view at a time (millions of Buffer objects would burden the GC). */
export interface Records {
  readonly count: number;
  /** Payload bytes of all records. */
  readonly bytes: number;
  at(i: number): Buffer;
}

export interface PeerLoadParams {
  /** Records per pipeline / publish chunk. */
  chunk: number;
  /** Chunks in flight. */
  window: number;
  /** Records per XREADGROUP COUNT / pull fetch. */
  consumeBatch: number;
  redisConns: number;
}

/** Stalled consumers fail the case instead of hanging the bench. */
const STALL_MS = 30_000;

export interface ProduceFigures {
  elapsedMs: number;
  latencies: number[];
}

/**
 * Sends `chunks` chunks with at most `window` unacknowledged at a time. A chunk's latency runs
 * from the moment it is handed to the client (before encoding) until its last acknowledgement.
 */
export function windowed(chunks: number, window: number, send: (k: number) => Promise<unknown>): Promise<ProduceFigures> {
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

function produceMetrics(records: number, bytes: number, f: ProduceFigures): Metrics {
  const sec = f.elapsedMs / 1000;
  return {
    produceRecordsPerSec: Math.round(records / sec),
    produceMBps: bytes / sec / 1e6,
    produceChunkP99Ms: percentile(f.latencies, 99),
    produceSec: sec,
  };
}

export function consumeMetrics(expectedRecords: number, expectedBytes: number, elapsedMs: number, records: number, bytes: number): Metrics {
  if (records !== expectedRecords || bytes !== expectedBytes) {
    throw new Error(`consumed ${records} records / ${bytes} B, expected ${expectedRecords} / ${expectedBytes}`);
  }
  const sec = elapsedMs / 1000;
  return {
    consumeRecordsPerSec: Math.round(records / sec),
    consumeMBps: bytes / sec / 1e6,
    consumeSec: sec,
  };
}

function chunkBounds(records: number, chunk: number, k: number): [number, number] {
  const from = k * chunk;
  return [from, Math.min(records, from + chunk)];
}

// ---------------------------------------------------------------------------------------------
// Redis Streams

/**
 * XADD <stream> * v <value> for records from..to (record i mod the record count, so a
 * fixed-rate run may cycle through them), record i to stream i mod N, as one buffer.
 */
function encodeXadds(prefixes: Buffer[], values: Records, from: number, to: number): Buffer {
  let total = 0;
  for (let i = from; i < to; i++) {
    const len = values.at(i % values.count).length;
    total += prefixes[i % prefixes.length]!.length + String(len).length + 3 + len + 2;
  }
  const buf = Buffer.allocUnsafe(total);
  let o = 0;
  for (let i = from; i < to; i++) {
    const v = values.at(i % values.count);
    o += prefixes[i % prefixes.length]!.copy(buf, o);
    o += buf.write(`$${v.length}\r\n`, o, 'latin1');
    o += v.copy(buf, o);
    buf[o++] = 13;
    buf[o++] = 10;
  }
  return buf;
}

function xaddPrefixes(streams: string[]): Buffer[] {
  // Everything of an XADD but the value: *5 XADD <stream> * v
  return streams.map((s) => Buffer.from(`*5\r\n$4\r\nXADD\r\n$${Buffer.byteLength(s)}\r\n${s}\r\n$1\r\n*\r\n$1\r\nv\r\n`));
}

export async function redisThroughput(values: Records, partitions: number, appendfsync: AppendFsync, p: PeerLoadParams, ctx: CaseContext): Promise<Metrics> {
  const peer = await startRedis({ appendfsync });
  const conns: RespConnection[] = [];
  const records = values.count;
  const bytes = values.bytes;
  try {
    for (let i = 0; i < p.redisConns; i++) conns.push(await RespConnection.connect(peer.port));
    const streams = Array.from({ length: partitions }, (_, i) => `bench-${i}`);
    const prefixes = xaddPrefixes(streams);
    const chunks = Math.ceil(records / p.chunk);
    const produced = await windowed(chunks, p.window, (k) => {
      const [from, to] = chunkBounds(records, p.chunk, k);
      return conns[k % conns.length]!.send(encodeXadds(prefixes, values, from, to), to - from);
    });
    const produce = produceMetrics(records, bytes, produced);
    ctx.log(`produce ${produce.produceRecordsPerSec!.toLocaleString('en-US')} rec/s, ${produce.produceMBps!.toFixed(1)} MB/s`);

    const reader = conns[0]!;
    let stored = 0;
    for (const s of streams) {
      stored += (await reader.call('XLEN', s)) as number;
      await reader.call('XGROUP', 'CREATE', s, 'bench', '0');
    }
    if (stored !== records) throw new Error(`redis holds ${stored} entries, expected ${records}`);

    // NOACK: delivered entries are not kept in the pending list (auto-acknowledged, like a
    // consumer that does not commit per record).
    const read = encodeCommand(['XREADGROUP', 'GROUP', 'bench', 'c1', 'COUNT', p.consumeBatch, 'NOACK', 'STREAMS', ...streams, ...streams.map(() => '>')]);
    let got = 0;
    let gotBytes = 0;
    const t0 = process.hrtime.bigint();
    while (got < records) {
      const [reply] = await reader.send(read, 1, true);
      if (reply === null) throw new Error(`XREADGROUP returned nothing after ${got} of ${records} entries`);
      for (const perStream of reply as Reply[]) {
        for (const entry of (perStream as Reply[])[1] as Reply[]) {
          const fields = (entry as Reply[])[1] as Reply[];
          got++;
          gotBytes += (fields[1] as Buffer).length;
        }
      }
    }
    const consume = consumeMetrics(records, bytes, msSince(t0), got, gotBytes);
    const persistence = ((await reader.call('INFO', 'persistence')) as Buffer).toString('latin1');
    const aofRewrites = Number(/aof_rewrites:(\d+)/.exec(persistence)?.[1] ?? NaN);
    return { ...produce, ...consume, aofRewrites };
  } finally {
    await Promise.allSettled(conns.map((c) => c.close()));
    await peer.stop();
  }
}

/**
 * Fixed-rate XADDs to one stream: each tick's records go out as one pipeline, the ticks spread
 * round-robin over `conns` connections; a record is acknowledged when the last reply of its
 * pipeline arrives (with `always`, Redis fsyncs the AOF once per event-loop pass before writing
 * any of that pass's replies, so the replies of a pipeline arrive together).
 */
export async function redisFixedRate(values: Records, appendfsync: AppendFsync, rate: FixedRateOptions, conns = 1): Promise<Metrics> {
  const peer = await startRedis({ appendfsync });
  const open: RespConnection[] = [];
  try {
    for (let i = 0; i < conns; i++) open.push(await RespConnection.connect(peer.port));
    const prefixes = xaddPrefixes(['bench-0']);
    let tick = 0;
    const figures = await runFixedRate(rate, (sink) => (from, to) => {
      open[tick++ % open.length]!.send(encodeXadds(prefixes, values, from, to), to - from).then(
        () => sink.ackedRange(from, to),
        (err: unknown) => sink.fail(err as Error),
      );
    });
    const stored = (await open[0]!.call('XLEN', 'bench-0')) as number;
    if (stored !== figures.records) throw new Error(`redis holds ${stored} entries, expected ${figures.records}`);
    return { ...figures, targetMBps: (rate.recordsPerSec * rate.recordBytes) / 1e6 };
  } finally {
    await Promise.allSettled(open.map((c) => c.close()));
    await peer.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// NATS JetStream

/**
 * Publishes the way the Go client's PublishAsync does: core publishes carrying a reply subject,
 * PubAcks collected on one wildcard subscription; `onAck(tag, error)` gets each PubAck, tagged
 * with the reply subject's last token.
 */
class NatsAckCollector {
  readonly inbox = createInbox();

  constructor(nc: NatsConnection, onAck: (tag: number, error: string | null) => void) {
    nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => {
        const subject = msg?.subject ?? '';
        const tag = Number(subject.slice(subject.lastIndexOf('.') + 1));
        // A PubAck is {"stream":…,"seq":…}; failures carry "error" or come back as a status
        // message with headers (503: no stream for the subject).
        let error: string | null = null;
        if (err) error = err.message;
        else if (msg.headers) error = `status ${msg.headers.code} ${msg.headers.description}`;
        else if (Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.length).includes('"error"')) error = msg.string();
        onAck(tag, error);
      },
    });
  }
}

async function natsStream(nc: NatsConnection): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'BENCH', subjects: ['bench.>'], storage: StorageType.File, num_replicas: 1 });
}

export async function natsThroughput(values: Records, partitions: number, p: PeerLoadParams, ctx: CaseContext): Promise<Metrics> {
  const peer = await startNats();
  let nc: NatsConnection | null = null;
  const records = values.count;
  const bytes = values.bytes;
  try {
    nc = await connect({ servers: peer.url, pingInterval: 60_000 });
    const conn = nc;
    await natsStream(conn);
    const jsm = await conn.jetstreamManager();
    const js = conn.jetstream({ timeout: 60_000 });
    const subjects = Array.from({ length: partitions }, (_, i) => `bench.p${i}`);
    const chunkState = new Map<number, { left: number; failed: string | null; resolve: () => void; reject: (e: Error) => void }>();
    const acks = new NatsAckCollector(conn, (k, error) => {
      const chunk = chunkState.get(k);
      if (!chunk) return;
      if (error) chunk.failed ??= error;
      if (--chunk.left > 0) return;
      chunkState.delete(k);
      if (chunk.failed) chunk.reject(new Error(`JetStream publish failed: ${chunk.failed}`));
      else chunk.resolve();
    });
    const chunks = Math.ceil(records / p.chunk);
    const produced = await windowed(chunks, p.window, (k) => {
      const [from, to] = chunkBounds(records, p.chunk, k);
      const reply = `${acks.inbox}.${k}`;
      const done = new Promise<void>((resolve, reject) => chunkState.set(k, { left: to - from, failed: null, resolve, reject }));
      for (let i = from; i < to; i++) conn.publish(subjects[i % partitions]!, values.at(i), { reply });
      return done;
    });
    const produce = produceMetrics(records, bytes, produced);
    ctx.log(`produce ${produce.produceRecordsPerSec!.toLocaleString('en-US')} rec/s, ${produce.produceMBps!.toFixed(1)} MB/s`);

    const info = await jsm.streams.info('BENCH');
    if (info.state.messages !== records) throw new Error(`stream holds ${info.state.messages} messages, expected ${records}`);

    await jsm.consumers.add('BENCH', { durable_name: 'bench', ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
    const consumer = await js.consumers.get('BENCH', 'bench');
    let got = 0;
    let gotBytes = 0;
    let lastProgress = Date.now();
    const t0 = process.hrtime.bigint();
    while (got < records) {
      // A fetch waits until it has max_messages or expires: never ask for more than is left.
      const batch = await consumer.fetch({ max_messages: Math.min(p.consumeBatch, records - got), expires: 5_000 });
      const before = got;
      for await (const m of batch) {
        got++;
        gotBytes += m.data.length;
      }
      if (got > before) lastProgress = Date.now();
      else if (Date.now() - lastProgress > STALL_MS) throw new Error(`pull consumer stalled after ${got} of ${records} messages`);
    }
    const consume = consumeMetrics(records, bytes, msSince(t0), got, gotBytes);
    return { ...produce, ...consume };
  } finally {
    if (nc) await nc.close().catch(() => undefined);
    await peer.stop();
  }
}

/** Fixed-rate publishes on one connection; each record's own PubAck is its acknowledgement. */
export async function natsFixedRate(values: Records, rate: FixedRateOptions): Promise<Metrics> {
  const peer = await startNats();
  let nc: NatsConnection | null = null;
  try {
    nc = await connect({ servers: peer.url, pingInterval: 60_000 });
    const conn = nc;
    await natsStream(conn);
    const figures = await runFixedRate(rate, (sink) => {
      const acks = new NatsAckCollector(conn, (i, error) => {
        if (error) sink.fail(new Error(`JetStream publish failed: ${error}`));
        else sink.acked(i);
      });
      return (from, to) => {
        for (let i = from; i < to; i++) conn.publish('bench.p0', values.at(i % values.count), { reply: `${acks.inbox}.${i}` });
      };
    });
    const info = await (await conn.jetstreamManager()).streams.info('BENCH');
    if (info.state.messages !== figures.records) throw new Error(`stream holds ${info.state.messages} messages, expected ${figures.records}`);
    return { ...figures, targetMBps: (rate.recordsPerSec * rate.recordBytes) / 1e6 };
  } finally {
    if (nc) await nc.close().catch(() => undefined);
    await peer.stop();
  }
}
