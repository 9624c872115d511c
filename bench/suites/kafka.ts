/**
 * The kafka suite: Tributary's Kafka listener driven by real Kafka clients, against Redis
 * Streams and NATS JetStream with the same records, and against the disk's own limit.
 *
 * - Tributary runs as a separate process (`node bin/tributary.js up`, default durability: fsync
 *   before ack with group commit), one fresh data directory per case; topics are created over
 *   the Kafka protocol (librdkafka's admin client) before producing.
 * - Throughput: the Debian `kcat` (librdkafka 2.0) produces every line of a pre-generated record
 *   file with acks=all, then consumes all of them back (`-o beginning -e`); records/s and MB/s
 *   are kcat's wall time from spawn to exit. The peers get the same records through the log
 *   suite's clients (bench/lib/peer-load.ts).
 * - Disk limit: `dd if=/dev/zero bs=1M conv=fdatasync` into bench/.work/, before Tributary in
 *   every run; Tributary's 1 KiB produce MB/s is reported as a percentage of it.
 * - Acknowledgement latency at a fixed rate (50 MB/s of 1 KiB records for 10 s, acks=all): a
 *   raw-protocol producer (one Produce request per 1 ms tick, bench/lib/kafka-wire.ts) measures
 *   the broker; node-rdkafka with delivery reports measures what an application sees; Redis XADD
 *   (`always`) and JetStream publishes at the same rate.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Kafka from 'node-rdkafka';
import { runFixedRate, type FixedRateOptions } from '../lib/fixed-rate.ts';
import { kcatVersion, runKcat } from '../lib/kcat.ts';
import { KafkaWireProducer, encodeRecordBatch } from '../lib/kafka-wire.ts';
import { consumeMetrics, natsFixedRate, natsThroughput, redisFixedRate, redisThroughput, type PeerLoadParams, type Records } from '../lib/peer-load.ts';
import { natsVersion } from '../lib/peers/nats.ts';
import { redisVersion } from '../lib/peers/redis.ts';
import { createKafkaTopic, startTributary, type TributaryPeer } from '../lib/peers/tributary.ts';
import { writeRecordFile, type RecordFile } from '../lib/record-file.ts';
import type { CaseResult } from '../lib/report.ts';
import type { BenchCase, CaseContext, Metrics, MetricColumn, RatioColumn, Suite, TableSpec } from '../lib/suite.ts';
import { makeWorkDir, removeWorkDir } from '../lib/workdir.ts';

const execFileP = promisify(execFile);

interface ThroughputWorkload {
  kind: 'throughput';
  id: string;
  label: string;
  records: number;
  size: number;
}

interface RateWorkload {
  kind: 'rate';
  id: string;
  label: string;
  size: number;
  mbps: number;
  durationMs: number;
}

type Workload = ThroughputWorkload | RateWorkload;

interface Params extends PeerLoadParams {
  /** kcat producer: librdkafka properties. */
  lingerMs: number;
  batchSize: number;
  batchNumMessages: number;
  /** kcat consumer: max.partition.fetch.bytes. */
  fetchBytes: number;
  /** node-rdkafka producer of the fixed-rate case. */
  rdkafkaLingerMs: number;
  /** Records per Produce request of the raw producer at most (a tick's records, split). */
  wireMaxBatch: number;
  ddMiB: number;
}

const GOAL_DISK_PCT = 60;
const GOAL_P99_MS = 10;

/** Everything but a case's own start/stop should finish long before this. */
const KCAT_TIMEOUT_MS = 300_000;

function countLabel(n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1_000 && n % 1_000 === 0) return `${n / 1_000}k`;
  return String(n);
}

function sizeLabel(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

function sizeId(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024}k` : `${bytes}b`;
}

function workloads(quick: boolean, rateMBps: number, rateSec: number): Workload[] {
  const shapes = quick
    ? [
        { records: 50_000, size: 1024 },
        { records: 200_000, size: 100 },
      ]
    : [
        { records: 1_000_000, size: 1024 },
        { records: 5_000_000, size: 100 },
      ];
  const out: Workload[] = shapes.map((s) => ({
    kind: 'throughput',
    id: `${countLabel(s.records)}x${sizeId(s.size)}`.toLowerCase(),
    label: `${countLabel(s.records)} × ${sizeLabel(s.size)}, acks=all`,
    records: s.records,
    size: s.size,
  }));
  const durationMs = quick ? Math.min(rateSec, 2) * 1000 : rateSec * 1000;
  out.push({
    kind: 'rate',
    id: `rate${rateMBps}-1k`,
    label: `ack latency at a fixed ${rateMBps} MB/s of 1 KiB records for ${durationMs / 1000} s, 1 partition, acks=all`,
    size: 1024,
    mbps: rateMBps,
    durationMs,
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// The disk limit

/** Most recent dd figure of this run, for Tributary's "% of disk" (dd runs before it). */
let lastDiskMBps: number | null = null;

async function runDd(dir: string, mib: number): Promise<Metrics> {
  const file = path.join(dir, 'dd.bin');
  try {
    const { stderr } = await execFileP('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${mib}`, 'conv=fdatasync'], { encoding: 'utf8' });
    // "1073741824 bytes (1.1 GB, 1.0 GiB) copied, 2.764 s, 388 MB/s"
    const m = /(\d+) bytes .*copied, ([\d.,]+) s/.exec(stderr);
    if (!m) throw new Error(`cannot parse dd output: ${stderr}`);
    const bytes = Number(m[1]);
    const sec = Number(m[2]!.replace(',', '.'));
    if (bytes !== mib * 1024 * 1024) throw new Error(`dd wrote ${bytes} B, expected ${mib * 1024 * 1024}`);
    const mbps = bytes / sec / 1e6;
    lastDiskMBps = mbps;
    return { produceMBps: mbps, diskMBps: mbps, ddSec: sec };
  } finally {
    rmSync(file, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Tributary

function kcatProduceArgs(bootstrap: string, topic: string, file: string, p: Params): string[] {
  return [
    '-P', '-b', bootstrap, '-t', topic, '-l', file,
    '-X', 'acks=all',
    '-X', `linger.ms=${p.lingerMs}`,
    '-X', `batch.size=${p.batchSize}`,
    '-X', `batch.num.messages=${p.batchNumMessages}`,
    '-X', 'queue.buffering.max.messages=1000000',
    '-X', 'queue.buffering.max.kbytes=1048576',
    '-X', 'compression.codec=none',
  ];
}

function kcatConsumeArgs(bootstrap: string, topic: string, count: number, p: Params): string[] {
  // One line per record holding only its size: kcat still fetches and parses every record, but
  // the pipe to the bench carries a few bytes per record instead of the payload.
  return [
    '-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-c', String(count), '-q', '-f', '%S\\n',
    '-X', `fetch.message.max.bytes=${p.fetchBytes}`,
    '-X', 'fetch.wait.max.ms=100',
  ];
}

/** Counts the `%S\n` lines kcat prints: records and the sum of their sizes. */
class SizeLines {
  records = 0;
  bytes = 0;
  private current = 0;
  private inLine = false;

  feed = (chunk: Buffer): void => {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (c === 10) {
        if (this.inLine) {
          this.records++;
          this.bytes += this.current;
        }
        this.current = 0;
        this.inLine = false;
      } else if (c >= 48 && c <= 57) {
        this.current = this.current * 10 + (c - 48);
        this.inLine = true;
      } else {
        throw new Error(`unexpected byte ${c} in kcat's size output`);
      }
    }
  };
}

async function runTributaryThroughput(w: ThroughputWorkload, partitions: number, data: RecordFile, p: Params, ctx: CaseContext): Promise<Metrics> {
  const broker = await startTributary();
  try {
    const topic = 'bench';
    await createKafkaTopic(broker.kafka, topic, partitions);

    const commits0 = await broker.groupCommits();
    const cpu0 = broker.cpuSeconds();
    const produced = await runKcat(kcatProduceArgs(broker.kafka, topic, data.file, p), { timeoutMs: KCAT_TIMEOUT_MS });
    const cpu1 = broker.cpuSeconds();
    const commits1 = await broker.groupCommits();
    if (/fail|error/i.test(produced.output.replace(/^\s*\d+m[\d.]+s \d+m[\d.]+s\s*$/gm, ''))) {
      throw new Error(`kcat reported problems while producing:\n${produced.output.slice(-1500)}`);
    }
    const produceSec = produced.wallMs / 1000;
    const produce: Metrics = {
      produceRecordsPerSec: Math.round(w.records / produceSec),
      produceMBps: data.bytes / produceSec / 1e6,
      produceSec,
      produceBrokerCpuPct: ((cpu1 - cpu0) / produceSec) * 100,
      produceClientCpuPct: (produced.cpuSec / produceSec) * 100,
      // How the broker's group commit behaved: rounds, their mean duration, bytes per round.
      produceGroupCommits: commits1.count - commits0.count,
      produceGroupCommitAvgMs: ((commits1.seconds - commits0.seconds) / (commits1.count - commits0.count)) * 1000,
      produceMBPerGroupCommit: (commits1.appendedBytes - commits0.appendedBytes) / (commits1.count - commits0.count) / 1e6,
    };
    if (w.size === 1024 && lastDiskMBps !== null) produce['produceDiskPct'] = (produce['produceMBps']! / lastDiskMBps) * 100;
    ctx.log(
      `produce ${produce['produceRecordsPerSec']!.toLocaleString('en-US')} rec/s, ${produce['produceMBps']!.toFixed(1)} MB/s` +
        `${produce['produceDiskPct'] !== undefined ? ` (${produce['produceDiskPct'].toFixed(0)} % of dd)` : ''}; CPU broker ${produce['produceBrokerCpuPct']!.toFixed(0)} %, kcat ${produce['produceClientCpuPct']!.toFixed(0)} %; ` +
        `${produce['produceGroupCommits']} group commits, ${produce['produceGroupCommitAvgMs']!.toFixed(2)} ms, ${produce['produceMBPerGroupCommit']!.toFixed(2)} MB each`,
    );

    const sizes = new SizeLines();
    const cpu2 = broker.cpuSeconds();
    const consumed = await runKcat(kcatConsumeArgs(broker.kafka, topic, w.records, p), { timeoutMs: KCAT_TIMEOUT_MS, onStdout: sizes.feed });
    const cpu3 = broker.cpuSeconds();
    const consume = consumeMetrics(w.records, data.bytes, consumed.wallMs, sizes.records, sizes.bytes);
    consume['consumeBrokerCpuPct'] = ((cpu3 - cpu2) / (consumed.wallMs / 1000)) * 100;
    consume['consumeClientCpuPct'] = (consumed.cpuSec / (consumed.wallMs / 1000)) * 100;
    return { partitions, ...produce, ...consume };
  } finally {
    await broker.stop();
  }
}

function rateOptions(w: RateWorkload): FixedRateOptions {
  return { recordsPerSec: (w.mbps * 1e6) / w.size, durationMs: w.durationMs, recordBytes: w.size };
}

/** Acknowledged record count of a topic partition, read back with kcat (end offset). */
async function endOffset(bootstrap: string, topic: string, partition: number): Promise<number> {
  const { stdout } = await execFileP('kcat', ['-b', bootstrap, '-Q', '-t', `${topic}:${partition}:-1`], { encoding: 'utf8', timeout: 30_000 });
  const m = /offset (-?\d+)/.exec(stdout);
  if (!m) throw new Error(`kcat -Q: cannot parse "${stdout.trim()}"`);
  return Number(m[1]);
}

async function withRateBroker(w: RateWorkload, run: (broker: TributaryPeer, topic: string) => Promise<Metrics>): Promise<Metrics> {
  const broker = await startTributary();
  try {
    const topic = 'rate';
    await createKafkaTopic(broker.kafka, topic, 1);
    const commits0 = await broker.groupCommits();
    const cpu0 = broker.cpuSeconds();
    const t0 = performance.now();
    const figures = await run(broker, topic);
    figures['targetMBps'] = w.mbps;
    figures['brokerCpuPct'] = ((broker.cpuSeconds() - cpu0) / ((performance.now() - t0) / 1000)) * 100;
    const commits1 = await broker.groupCommits();
    figures['groupCommits'] = commits1.count - commits0.count;
    figures['groupCommitAvgMs'] = ((commits1.seconds - commits0.seconds) / (commits1.count - commits0.count)) * 1000;
    const stored = await endOffset(broker.kafka, topic, 0);
    if (stored !== figures['records']) throw new Error(`topic holds ${stored} records, expected ${figures['records']}`);
    return figures;
  } finally {
    await broker.stop();
  }
}

/** The raw producer: each tick's records as record batches of ≤ wireMaxBatch, one Produce request each. */
function runTributaryWireRate(w: RateWorkload, data: Records, p: Params): Promise<Metrics> {
  return withRateBroker(w, async (broker, topic) => {
    const producer = await KafkaWireProducer.connect(broker.kafkaPort);
    try {
      const values: Buffer[] = [];
      return await runFixedRate(rateOptions(w), (sink) => (from, to) => {
        for (let a = from; a < to; a += p.wireMaxBatch) {
          const b = Math.min(to, a + p.wireMaxBatch);
          values.length = 0;
          for (let i = a; i < b; i++) values.push(data.at(i % data.count));
          producer.produce(topic, 0, encodeRecordBatch(values)).then(
            () => sink.ackedRange(a, b),
            (err: unknown) => sink.fail(err as Error),
          );
        }
      });
    } finally {
      await producer.close();
    }
  });
}

/** node-rdkafka: produce() per record, the delivery report is the acknowledgement. */
function runTributaryRdkafkaRate(w: RateWorkload, data: Records, p: Params): Promise<Metrics> {
  return withRateBroker(w, async (broker, topic) => {
    const producer = new Kafka.Producer({
      'metadata.broker.list': broker.kafka,
      'client.id': 'tributary-bench-rdkafka',
      dr_cb: true,
      'linger.ms': p.rdkafkaLingerMs,
      'queue.buffering.max.kbytes': 1048576,
      'queue.buffering.max.messages': 1_000_000,
      'compression.codec': 'none',
    }, { acks: -1 });
    await new Promise<void>((resolve, reject) => producer.connect({ timeout: 10_000 }, (err) => (err ? reject(new Error(`node-rdkafka connect: ${err.message}`)) : resolve())));
    producer.setPollInterval(1);
    try {
      return await runFixedRate(rateOptions(w), (sink) => {
        producer.on('delivery-report', (err, report) => {
          if (err) sink.fail(new Error(`delivery failed: ${err.message}`));
          else sink.acked(report.opaque as number);
        });
        return (from, to) => {
          for (let i = from; i < to; i++) producer.produce(topic, 0, data.at(i % data.count), null, null, i);
          producer.poll();
        };
      });
    } finally {
      await new Promise<void>((resolve) => producer.disconnect(10_000, () => resolve()));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Options

function intOption(extra: Record<string, string>, name: string, fallback: number, min = 1): number {
  const v = extra[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} needs an integer ≥ ${min}, got "${v}"`);
  return n;
}

function listOption(extra: Record<string, string>, name: string, fallback: string[]): string[] {
  const v = extra[name];
  return v === undefined ? fallback : v.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0);
}

const SYSTEMS = ['disk', 'tributary', 'redis', 'nats'] as const;

// ---------------------------------------------------------------------------------------------
// Tables

const THROUGHPUT: TableSpec = {
  columns: [
    { key: 'produceRecordsPerSec', label: 'produce records/s', digits: 0 },
    { key: 'produceMBps', label: 'produce MB/s', digits: 1 },
    { key: 'produceDiskPct', label: '% of disk limit', digits: 0 },
    { key: 'consumeRecordsPerSec', label: 'consume records/s', digits: 0 },
    { key: 'consumeMBps', label: 'consume MB/s', digits: 1 },
  ],
  ratios: [
    { key: 'produceMBps', label: 'produce' },
    { key: 'consumeMBps', label: 'consume' },
  ],
};

const RATE_COLUMNS: MetricColumn[] = [
  { key: 'rateMBps', label: 'offered MB/s', digits: 1 },
  { key: 'ackP50Ms', label: 'p50 ack (ms)', digits: 2 },
  { key: 'ackP99Ms', label: 'p99 ack (ms)', digits: 2 },
  { key: 'ackP999Ms', label: 'p99.9 ack (ms)', digits: 1 },
  { key: 'ackMaxMs', label: 'max ack (ms)', digits: 1 },
];
const RATE_RATIOS: RatioColumn[] = [{ key: 'ackP99Ms', label: 'p99 (lower is better)' }];

function fmt(v: number | undefined, digits: number): string {
  return v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

function goals(cases: CaseResult[]): string[] {
  const lines: string[] = [];
  const disk = cases.filter((c) => c.system.startsWith('tributary') && c.medians['produceDiskPct'] !== undefined);
  for (const c of disk) {
    const pct = c.medians['produceDiskPct']!;
    const partitions = c.medians['partitions'] ?? NaN;
    lines.push(
      `Goal ≥ ${GOAL_DISK_PCT} % of the disk limit, 1 KiB records, fsync before ack (${c.workload}, ${partitions} partition${partitions === 1 ? '' : 's'}): ${fmt(pct, 0)} % ` +
        `(${fmt(c.medians['produceMBps'], 1)} MB/s) — ${pct >= GOAL_DISK_PCT ? 'met' : 'not met'}.`,
    );
  }
  const rate = cases.filter((c) => c.id.endsWith('/tributary-wire') || c.id.endsWith('/tributary-rdkafka'));
  for (const c of rate) {
    const p99 = c.medians['ackP99Ms'];
    if (p99 === undefined) continue;
    lines.push(
      `Goal p99 ack ≤ ${GOAL_P99_MS} ms at ${fmt(c.medians['targetMBps'], 0)} MB/s (${c.system}${c.system === 'tributary' ? ', raw-protocol producer' : ''}): ` +
        `${fmt(p99, 2)} ms — ${p99 <= GOAL_P99_MS ? 'met' : 'not met'}.`,
    );
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------

const suite: Suite = {
  title: 'Kafka protocol: real Kafka clients vs Redis Streams, NATS JetStream and the disk',
  description:
    'Tributary runs as its own process (`tributary up`, default durability: acknowledged after fsync, group commit) and is driven ' +
    'over the Kafka protocol by real clients: the Debian `kcat` produces every line of a pre-generated file of random records ' +
    'with acks=all, then consumes all of them back from the beginning; records/s and MB/s (payload bytes, 10⁶ B) are over ' +
    "kcat's whole run, from spawn to exit. Redis Streams and NATS JetStream get the same records through the log suite's " +
    'clients (chunks of 1 000, 64 in flight). The disk limit is `dd if=/dev/zero bs=1M conv=fdatasync` on the same disk, ' +
    "measured in every run just before Tributary. Ack latency: records released on a fixed schedule (every 1 ms, the records " +
    'due) at 50 MB/s for 10 s; latency per record from hand-over to the client until its acknowledgement.',
  subject: 'tributary',
  columns: THROUGHPUT.columns,
  ratios: THROUGHPUT.ratios,
  tableFor: (workload) => (workload.startsWith('ack latency') ? { columns: RATE_COLUMNS, ratios: RATE_RATIOS } : THROUGHPUT),
  summary: goals,
  optionsHelp: [
    '  --systems a,b          any of disk,tributary,redis,nats (default: all)',
    '  --workloads a,b        workload ids: 1mx1k, 5mx100b, rate50-1k (default: all)',
    '  --partitions a,b       Tributary topic partition counts in the throughput workloads (default 1,8; the first is the',
    '                         row the ratios use); the peers always use one stream / one subject',
    '  --rate-mbps N          fixed rate of the latency workload (default 50)',
    '  --rate-seconds N       its duration (default 10; 2 with --quick)',
    '  --linger-ms N          kcat producer linger.ms (default 5)',
    '  --batch-size N         kcat producer batch.size in bytes (default 1000000)',
    '  --batch-num-messages N kcat producer batch.num.messages (default 10000)',
    '  --fetch-bytes N        kcat consumer fetch.message.max.bytes (default 4194304)',
    '  --rdkafka-linger-ms N  node-rdkafka linger.ms in the latency workload (default 1)',
    '  --chunk N, --window N, --consume-batch N, --redis-conns N   peer clients, as in the log suite',
  ].join('\n'),

  async prepare({ quick, extra, log }) {
    const known = [
      'systems', 'workloads', 'partitions', 'rate-mbps', 'rate-seconds', 'linger-ms', 'batch-size', 'batch-num-messages',
      'fetch-bytes', 'rdkafka-linger-ms', 'chunk', 'window', 'consume-batch', 'redis-conns',
    ];
    const unknownOptions = Object.keys(extra).filter((k) => !known.includes(k));
    if (unknownOptions.length > 0) throw new Error(`kafka suite: unknown option(s) ${unknownOptions.map((k) => `--${k}`).join(', ')}; see --help`);
    const params: Params = {
      chunk: intOption(extra, 'chunk', 1000),
      window: intOption(extra, 'window', 64),
      consumeBatch: intOption(extra, 'consume-batch', 10_000),
      redisConns: intOption(extra, 'redis-conns', 8),
      lingerMs: intOption(extra, 'linger-ms', 5, 0),
      batchSize: intOption(extra, 'batch-size', 1_000_000),
      batchNumMessages: intOption(extra, 'batch-num-messages', 10_000),
      fetchBytes: intOption(extra, 'fetch-bytes', 4 * 1024 * 1024),
      rdkafkaLingerMs: intOption(extra, 'rdkafka-linger-ms', 1, 0),
      wireMaxBatch: 512,
      ddMiB: quick ? 128 : 1024,
    };
    const rateMBps = intOption(extra, 'rate-mbps', 50);
    const rateSec = intOption(extra, 'rate-seconds', 10);
    const partitions = listOption(extra, 'partitions', ['1', '8']).map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--partitions: "${s}" is not a positive integer`);
      return n;
    });
    const systems = listOption(extra, 'systems', [...SYSTEMS]);
    for (const s of systems) if (!(SYSTEMS as readonly string[]).includes(s)) throw new Error(`--systems: unknown system "${s}"`);
    let chosen = workloads(quick, rateMBps, rateSec);
    if (extra['workloads']) {
      const ids = listOption(extra, 'workloads', []);
      const unknown = ids.filter((id) => !chosen.some((w) => w.id === id));
      if (unknown.length > 0) throw new Error(`--workloads: unknown ${unknown.join(', ')}; known: ${chosen.map((w) => w.id).join(', ')}`);
      chosen = chosen.filter((w) => ids.includes(w.id));
    }

    const kcat = kcatVersion();
    if (systems.includes('tributary') && chosen.some((w) => w.kind === 'throughput') && !kcat) {
      throw new Error('kcat is not installed (apt-get install kcat)');
    }
    const settings: Record<string, unknown> = {
      ...params,
      rateMBps,
      workloads: chosen,
      systems,
      kcat,
      nodeRdkafka: { librdkafka: Kafka.librdkafkaVersion },
      kcatProduce: kcatProduceArgs('<broker>', '<topic>', '<file>', params).join(' '),
      kcatConsume: kcatConsumeArgs('<broker>', '<topic>', 0, params).join(' ').replace('-c 0', '-c <records>'),
    };
    const notes: string[] = [];
    if (systems.includes('tributary')) {
      notes.push(
        'Tributary: `node bin/tributary.js up` as a separate process, one fresh data directory per case, default durability ' +
          '(topics ackPolicy `fsync`: a produce is answered after fdatasync of the segment, group commit); topics created with ' +
          "librdkafka's admin client (CreateTopics) before producing. Throughput rows: \"tributary\" is a topic of " +
          `${partitions[0]} partition${partitions[0] === 1 ? '' : 's'} (the row the ratios use)` +
          (partitions.length > 1 ? `; ${partitions.slice(1).map((n) => `"tributary · ${n} partitions"`).join(', ')} the same records into more partitions` : '') +
          '. The peers write one Redis stream / one JetStream subject.',
        `Tributary throughput client: kcat ${kcat?.kcat ?? '?'} (librdkafka ${kcat?.librdkafka ?? '?'}), one process per phase. Produce: \`kcat -P -l <file>\` with ` +
          `acks=all, linger.ms=${params.lingerMs}, batch.size=${params.batchSize}, batch.num.messages=${params.batchNumMessages}, no compression, ` +
          'records partitioned by librdkafka (no key: random partition per batch); kcat exits once every record has its delivery report. ' +
          `Consume: \`kcat -C -o beginning -e -c <records>\` with fetch.message.max.bytes=${params.fetchBytes}, printing each record's size (\`-f '%S\\n'\`), ` +
          'which the bench counts and sums. kcat rather than node-rdkafka for throughput: a separate C process, so neither the ' +
          "bench's event loop nor a JS call and callback per record limits it. The peers are driven from inside the bench process by " +
          'Node clients (the fastest measured for them), Tributary by a C client.',
        'Ack latency, Tributary: "tributary" is a raw-protocol producer (bench/lib/kafka-wire.ts: one Produce v3 request, acks=-1, per 1 ms tick ' +
          `carrying that tick's records, ≤ ${params.wireMaxBatch} per request; pipelined on one connection), so the figure is the broker's ` +
          `(request written → response read). "tributary · node-rdkafka" is librdkafka ${Kafka.librdkafkaVersion} through node-rdkafka ` +
          `(produce() per record, acks=all, linger.ms=${params.rdkafkaLingerMs}, delivery reports polled every tick and every 1 ms), ` +
          "which adds librdkafka's batching and the callback dispatch through the bench's event loop.",
      );
    }
    if (systems.includes('disk')) {
      notes.push(
        `Disk limit: \`dd if=/dev/zero of=bench/.work/… bs=1M count=${params.ddMiB} conv=fdatasync\` (one fdatasync at the end), ` +
          "run just before Tributary's cases in every run; \"% of disk limit\" is Tributary's produce MB/s over the same run's dd MB/s " +
          '(the median of those per-run percentages; the ratio column divides the medians instead, so the two can differ on a noisy disk).',
      );
    }
    if (systems.includes('redis')) {
      const v = redisVersion();
      if (!v) throw new Error('redis-server is not installed (apt-get install redis-server)');
      settings['redisVersion'] = v;
      notes.push(
        `Redis ${v} Streams: AOF on, RDB off, one stream; XADD as raw RESP pipelines (chunks of ${params.chunk}, ${params.window} in flight, over ${params.redisConns} connections), ` +
          `consume with XREADGROUP COUNT ${params.consumeBatch} NOACK. \`always\` fsyncs the AOF before replying; ` +
          '`everysec` replies before fsync and can lose about 1 s of acknowledged writes. Ack latency: one pipeline per 1 ms tick, the ticks ' +
          `spread round-robin over ${params.redisConns} connections (Redis reads at most 16 KiB per connection per event-loop pass and fsyncs once ` +
          'per pass, so one connection cannot carry 50 MB/s with `always`); a record is acknowledged when the last reply of its pipeline arrives.',
      );
    }
    if (systems.includes('nats')) {
      const v = natsVersion();
      if (!v) throw new Error('nats-server is not installed (apt-get install nats-server)');
      settings['natsVersion'] = v;
      notes.push(
        `NATS ${v} JetStream, file storage, one stream, one subject; publishes with a reply subject and PubAcks on one ` +
          `wildcard subscription (as the Go client's PublishAsync), chunks of ${params.chunk}, ${params.window} in flight; pull consumer ` +
          `(AckPolicy.None) fetching ${params.consumeBatch} at a time. Durability: no fsync before the PubAck — the file store syncs ` +
          'every 2 min, and this nats-server (2.9) rejects `sync_interval` (2.10+), so it cannot be made to fsync per write: its ' +
          'figures are not comparable with fsync-before-ack ones. Ack latency: each record\'s own PubAck.',
      );
    }

    const throughputShapes = new Map<string, { records: number; size: number }>();
    for (const w of chosen) if (w.kind === 'throughput') throughputShapes.set(`${w.records}x${w.size}`, { records: w.records, size: w.size });
    const rateWorkloads = chosen.filter((w): w is RateWorkload => w.kind === 'rate');

    const dataDir = makeWorkDir('kafka-data');
    const files = new Map<string, RecordFile>();
    let rateData: Records | null = null;
    try {
      log(`kafka suite: writing record files (${[...throughputShapes.values()].map((s) => `${countLabel(s.records)} × ${s.size} B`).join(', ') || 'none'})…`);
      for (const [key, s] of throughputShapes) files.set(key, writeRecordFile(dataDir, s.records, s.size));
      if (rateWorkloads.length > 0) {
        // Enough distinct 1 KiB records for one second at the fixed rate; the schedule cycles through them.
        const perSec = Math.ceil((Math.max(...rateWorkloads.map((w) => w.mbps)) * 1e6) / 1024);
        rateData = [...files.values()].find((f) => f.size === 1024) ?? writeRecordFile(dataDir, perSec, 1024);
      }
    } catch (err) {
      removeWorkDir(dataDir);
      throw err;
    }

    const cases: BenchCase[] = [];
    let diskAdded = false;
    for (const w of chosen) {
      if (w.kind === 'throughput') {
        const data = files.get(`${w.records}x${w.size}`)!;
        if (systems.includes('disk') && w.size === 1024 && !diskAdded) {
          diskAdded = true;
          cases.push({ id: 'disk/dd', workload: w.label, system: 'disk (dd)', durability: 'one fdatasync at the end (conv=fdatasync)', run: () => runDd(dataDir, params.ddMiB) });
        }
        if (systems.includes('tributary')) {
          for (const [i, n] of partitions.entries()) {
            // The first partition count is the subject row ("tributary"), the one the ratios use.
            const system = i === 0 ? 'tributary' : `tributary · ${n} partition${n === 1 ? '' : 's'}`;
            const id = i === 0 ? `${w.id}/tributary` : `${w.id}/tributary-p${n}`;
            cases.push({ id, workload: w.label, system, durability: 'fsync before ack (group commit)', run: (ctx) => runTributaryThroughput(w, n, data, params, ctx) });
          }
        }
        if (systems.includes('redis')) {
          cases.push({ id: `${w.id}/redis-always`, workload: w.label, system: 'redis', durability: 'AOF appendfsync always (fsync before reply)', run: (ctx) => redisThroughput(data, 1, 'always', params, ctx) });
          cases.push({ id: `${w.id}/redis-everysec`, workload: w.label, system: 'redis', durability: 'AOF appendfsync everysec (no fsync before reply)', run: (ctx) => redisThroughput(data, 1, 'everysec', params, ctx) });
        }
        if (systems.includes('nats')) {
          cases.push({ id: `${w.id}/nats`, workload: w.label, system: 'nats', durability: 'JetStream file store, no fsync before ack (sync every 2 min)', run: (ctx) => natsThroughput(data, 1, params, ctx) });
        }
      } else {
        const data = rateData!;
        if (systems.includes('tributary')) {
          cases.push({ id: `${w.id}/tributary-wire`, workload: w.label, system: 'tributary', durability: 'fsync before ack (group commit)', run: () => runTributaryWireRate(w, data, params) });
          cases.push({ id: `${w.id}/tributary-rdkafka`, workload: w.label, system: 'tributary · node-rdkafka', durability: 'fsync before ack (group commit)', run: () => runTributaryRdkafkaRate(w, data, params) });
        }
        if (systems.includes('redis')) {
          cases.push({ id: `${w.id}/redis-always`, workload: w.label, system: 'redis', durability: 'AOF appendfsync always (fsync before reply)', run: () => redisFixedRate(data, 'always', rateOptions(w), params.redisConns) });
        }
        if (systems.includes('nats')) {
          cases.push({ id: `${w.id}/nats`, workload: w.label, system: 'nats', durability: 'JetStream file store, no fsync before ack (sync every 2 min)', run: () => natsFixedRate(data, rateOptions(w)) });
        }
      }
    }
    log(`kafka suite: ${chosen.length} workload(s), ${cases.length} case(s)`);
    return {
      cases,
      settings,
      notes,
      async cleanup() {
        files.clear();
        removeWorkDir(dataDir);
      },
    };
  },
};

export default suite;
