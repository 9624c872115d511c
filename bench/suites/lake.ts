/**
 * The lake suite. Part "sink vs DuckDB COPY": N generated shop order events (JSON, ~250 B, event
 * times over 48 hours) land as Hive-partitioned Parquet (dt/hr from the event time):
 *
 * - tributary: the events are first produced to a topic (once per suite run, not timed); then each
 *   run's LakeSink drains the topic into `raw.orders` of a fresh lake — parse, schema check, partition, DuckDB JSON → Parquet, fdatasync +
 *   rename + directory fsync, manifest commit with the topic positions — timed from start to the
 *   last commit.
 * - duckdb: DuckDB itself on the same events from an NDJSON file:
 *   `COPY (SELECT *, dt, hr FROM read_json(…)) TO … (FORMAT parquet, PARTITION_BY (dt, hr))`.
 *
 * More parts (the warehouse's query overhead) add their own section builder to `SECTIONS`:
 * each returns cases for its own workloads and shares the event file of `prepareEvents`.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { BenchCase, CaseContext, Metrics, Suite, SuiteOptions } from '../lib/suite.ts';
import { median } from '../lib/stats.ts';
import { makeWorkDir, removeWorkDir, workRoot } from '../lib/workdir.ts';
import { gatewayOverhead } from './lake-gateway.ts';

const TOPIC = 'orders';
const PARTITIONS = 4;
const HOURS = 48;

function countLabel(n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1_000 && n % 1_000 === 0) return `${n / 1_000}k`;
  return String(n);
}

/** Deterministic order events (the shop generator's order shape), one JSON object per line. */
function eventLine(i: number): string {
  const t = Date.UTC(2024, 4, 1) + Math.floor((i * HOURS * 3_600_000) / EVENTS_SPAN) + (i % 997);
  const qty = 1 + (i % 3);
  const price = 1000 + ((i * 7919) % 20000);
  return (
    `{"type":"order","orderId":"o-${i}","userId":"u-${(i * 2654435761) % 50000}","storeId":"s-${i % 120}",` +
    `"storeName":"Store ${i % 120}","items":[{"sku":"sku-${i % 500}","qty":${qty},"unitPrice":${price}}],` +
    `"deliveryFee":3000,"amount":${qty * price + 3000},"currency":"KRW","paymentMethod":"${i % 3 === 0 ? 'card' : i % 3 === 1 ? 'kakaopay' : 'cash'}",` +
    `"eventTime":"${new Date(t).toISOString()}"}`
  );
}
let EVENTS_SPAN = 1;

export interface EventFile {
  path: string;
  events: number;
  bytes: number;
}

/** The shared NDJSON event file for `events` events (written once per size, reused across runs). */
export async function prepareEvents(events: number, log: (m: string) => void): Promise<EventFile> {
  const dir = path.join(workRoot, 'lake-events');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `orders-${events}.ndjson`);
  if (!existsSync(file)) {
    log(`writing ${countLabel(events)} events to ${path.relative(process.cwd(), file)}…`);
    EVENTS_SPAN = events;
    const tmp = `${file}.tmp`;
    const out = createWriteStream(tmp);
    let chunk: string[] = [];
    for (let i = 0; i < events; i++) {
      chunk.push(eventLine(i));
      if (chunk.length === 10_000 || i === events - 1) {
        if (!out.write(chunk.join('\n') + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
        chunk = [];
      }
    }
    await new Promise<void>((resolve) => out.end(() => resolve()));
    const { renameSync } = await import('node:fs');
    renameSync(tmp, file);
  }
  return { path: file, events, bytes: statSync(file).size };
}

// ---------------------------------------------------------------------------------------------
// Part: sink vs DuckDB COPY

/** Lines of the event file as Buffers (no string round trip), in batches. */
async function* lineBatches(file: string, size: number): AsyncGenerator<Buffer[]> {
  let rest: Buffer = Buffer.alloc(0);
  let batch: Buffer[] = [];
  for await (const chunk of createReadStream(file, { highWaterMark: 8 * 1024 * 1024 }) as AsyncIterable<Buffer>) {
    const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      if (nl > start) batch.push(buf.subarray(start, nl));
      start = nl + 1;
      if (batch.length === size) {
        yield batch;
        batch = [];
      }
    }
    rest = buf.subarray(start);
  }
  if (rest.length) batch.push(rest);
  if (batch.length) yield batch;
}

/**
 * The topic the sink drains, produced once per suite run (not timed) and shared by the runs:
 * each run drains it into a fresh lake from offset 0 (the lake's positions, not group offsets,
 * decide where a sink starts).
 */
const producedTopics = new Map<string, Promise<string>>();
function producedTopic(ev: EventFile, ctx: CaseContext): Promise<string> {
  let p = producedTopics.get(ev.path);
  if (!p) {
    p = produceTopic(ev, ctx);
    producedTopics.set(ev.path, p);
    p.catch(() => producedTopics.delete(ev.path));
  }
  return p;
}

async function produceTopic(ev: EventFile, ctx: CaseContext): Promise<string> {
  const { openEmbeddedBus } = await import('../../src/bus/index.ts');
  const dir = makeWorkDir('lake-topic');
  try {
    const bus = await openEmbeddedBus({ dataDir: dir, log: { maintenanceIntervalMs: 0 } });
    try {
      await bus.admin().createTopic(TOPIC, { partitions: PARTITIONS, segmentBytes: 256 * 1024 * 1024 });
      ctx.log(`producing ${countLabel(ev.events)} events to the topic (once per suite run, not timed)…`);
      const producer = bus.producer({ lingerMs: 5 });
      let inflight: Array<Promise<unknown>> = [];
      let i = 0;
      for await (const lines of lineBatches(ev.path, 2000)) {
        inflight.push(producer.send(TOPIC, lines.map((value) => ({ value, partition: i++ % PARTITIONS }))));
        if (inflight.length >= 32) {
          await Promise.all(inflight);
          inflight = [];
        }
      }
      await Promise.all(inflight);
      await producer.close();
      if (i !== ev.events) throw new Error(`produced ${i} events, expected ${ev.events}`);
    } finally {
      await bus.close();
    }
    return dir;
  } catch (err) {
    removeWorkDir(dir);
    throw err;
  }
}

async function runTributarySink(ev: EventFile, ctx: CaseContext, opts: { rollBytes: number }): Promise<Metrics> {
  const { openEmbeddedBus } = await import('../../src/bus/index.ts');
  const { openLake, LakeSink } = await import('../../src/lake/index.ts');
  const topicDir = await producedTopic(ev, ctx);
  const dir = makeWorkDir('lake-sink');
  try {
    const bus = await openEmbeddedBus({ dataDir: topicDir, log: { maintenanceIntervalMs: 0 } });
    try {
      const lake = await openLake({ root: path.join(dir, 'lake') });
      try {
        ctx.log('draining the topic into raw.orders…');
        const start = process.hrtime.bigint();
        const sink = new LakeSink({
          bus,
          lake,
          topics: [TOPIC],
          table: 'raw.orders',
          eventTime: { field: 'eventTime' },
          partitionBy: 'hour',
          rollBytes: opts.rollBytes,
          rollMs: 60_000,
        });
        await sink.start();
        const ends = (await bus.admin().describeTopic(TOPIC)).partitions.map((p) => p.highWatermark);
        for (;;) {
          const st = sink.status();
          if (st.state === 'failed') throw new Error(`sink failed: ${st.lastError}`);
          if (ends.every((end, p) => (st.positions.find((x) => x.partition === p)?.offset ?? 0) >= end)) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        await sink.stop();
        const sec = Number(process.hrtime.bigint() - start) / 1e9;
        const t = await lake.table('raw.orders');
        if (t.rows !== ev.events) throw new Error(`raw.orders holds ${t.rows} rows, expected ${ev.events}`);
        return { eventsPerSec: Math.round(ev.events / sec), inputMBps: ev.bytes / sec / 1e6, seconds: sec, files: t.files, parquetMB: t.bytes / 1e6 };
      } finally {
        await lake.close();
      }
    } finally {
      await bus.close();
    }
  } finally {
    removeWorkDir(dir);
  }
}

async function runDuckdbCopy(ev: EventFile, ctx: CaseContext): Promise<Metrics> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const dir = makeWorkDir('lake-duckdb');
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  try {
    const c = await instance.connect();
    const out = path.join(dir, 'orders');
    mkdirSync(out, { recursive: true });
    ctx.log('DuckDB COPY … PARTITION_BY (dt, hr)…');
    const start = process.hrtime.bigint();
    await c.run(
      `COPY (SELECT *, strftime(eventTime, '%Y-%m-%d') AS dt, strftime(eventTime, '%H') AS hr FROM read_json('${ev.path}', format = 'newline_delimited'))
       TO '${out}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (dt, hr), OVERWRITE_OR_IGNORE)`,
    );
    const sec = Number(process.hrtime.bigint() - start) / 1e9;
    const check = (await c.runAndReadAll(`SELECT count(*) AS n, count(DISTINCT dt || hr) AS p FROM read_parquet('${out}/**/*.parquet', hive_partitioning = true)`)).getRowObjectsJson()[0]!;
    if (Number(check['n']) !== ev.events) throw new Error(`DuckDB wrote ${check['n']} rows, expected ${ev.events}`);
    c.closeSync();
    return { eventsPerSec: Math.round(ev.events / sec), inputMBps: ev.bytes / sec / 1e6, seconds: sec, partitions: Number(check['p']) };
  } finally {
    instance.closeSync();
    removeWorkDir(dir);
  }
}

async function sinkVsCopy(opts: SuiteOptions): Promise<{ cases: BenchCase[]; notes: string[]; settings: Record<string, unknown> }> {
  const events = Number(opts.extra['events'] ?? (opts.quick ? 200_000 : 10_000_000));
  if (!Number.isInteger(events) || events < 1000) throw new Error(`--events: expected a whole number ≥ 1000, got ${opts.extra['events']}`);
  const rollBytes = Number(opts.extra['roll-bytes'] ?? 64 * 1024 * 1024);
  const ev = await prepareEvents(events, opts.log);
  const workload = `topic → lake table, ${countLabel(events)} events`;
  return {
    settings: { events, eventBytes: ev.bytes, partitionsOfTopic: PARTITIONS, eventTimeHours: HOURS, rollBytes },
    notes: [
      `${workload}: ${(ev.bytes / 1e6).toFixed(0)} MB of JSON order events (~${Math.round(ev.bytes / events)} B each) over ${HOURS} hourly partitions; both write zstd Parquet partitioned by dt/hr of the event time.`,
      'tributary: LakeSink reading a 4-partition topic of the embedded log (produced once before the runs, not timed), every record validated as JSON and checked against the inferred schema (byte-level fast path, JSON.parse for the rest), 64 MiB rolls; every Parquet file is fdatasynced, renamed into place and its folder fsynced before one manifest transaction (SQLite, synchronous=FULL) commits it with the topic positions (exactly once).',
      'duckdb: `COPY (SELECT *, dt, hr FROM read_json(file)) TO dir (FORMAT parquet, PARTITION_BY (dt, hr))` on the same events as one NDJSON file; no fsync, no schema checks, no manifest.',
    ],
    cases: [
      {
        id: `sink-${events}`,
        workload,
        system: 'tributary',
        durability: 'fdatasync + dir fsync of every file before an atomic manifest commit (exactly once)',
        run: (ctx) => runTributarySink(ev, ctx, { rollBytes }),
      },
      {
        id: `copy-${events}`,
        workload,
        system: 'duckdb',
        durability: 'none (COPY output left in the page cache)',
        run: (ctx) => runDuckdbCopy(ev, ctx),
      },
    ],
  };
}

/** Section builders; each adds cases (its own workloads) to the suite. */
const SECTIONS: Array<(opts: SuiteOptions) => Promise<{ cases: BenchCase[]; notes: string[]; settings: Record<string, unknown> }>> = [sinkVsCopy, gatewayOverhead];
/** `--only <name>`: one section (a custom run). */
const SECTION_NAMES = ['sink', 'gateway'];

const suite: Suite = {
  title: 'lake sink vs DuckDB COPY',
  description:
    'Topic → lake table: the same generated order events land as Hive-partitioned Parquet (dt/hr of the event time), once through ' +
    "Tributary's lake sink from a topic (parse, schema check, partitioning, DuckDB Parquet writer, durable files, exactly-once manifest commit) " +
    "and once by DuckDB's own COPY from an NDJSON file. Events/s over the whole drain (goal: Tributary ≥ 0.5 × DuckDB).",
  subject: 'tributary',
  columns: [
    { key: 'eventsPerSec', label: 'events/s', digits: 0 },
    { key: 'inputMBps', label: 'JSON MB/s', digits: 1 },
    { key: 'seconds', label: 'seconds', digits: 1 },
  ],
  ratios: [{ key: 'eventsPerSec', label: 'events/s' }],
  optionsHelp: ['  --events N       events per case (default 10M; --quick 200k)', '  --roll-bytes N   sink file roll size in JSON bytes (default 64 MiB)', '  --only S         one section: sink (sink vs COPY) or gateway (gateway vs DuckDB queries)'].join('\n'),
  summary(cases) {
    const out: string[] = [];
    const t = cases.find((c) => c.system === 'tributary' && c.id.startsWith('sink-'));
    const d = cases.find((c) => c.system === 'duckdb' && c.id.startsWith('copy-'));
    if (t?.medians['eventsPerSec'] && d?.medians['eventsPerSec']) {
      const ratio = t.medians['eventsPerSec'] / d.medians['eventsPerSec'];
      // Runs are interleaved (sink run k, then COPY run k): the ratio within each pair is less exposed to the machine's load drifting between runs.
      const paired = t.runs.flatMap((r) => {
        const other = d.runs.find((x) => x.run === r.run);
        return other?.['eventsPerSec'] && r['eventsPerSec'] ? [r['eventsPerSec'] / other['eventsPerSec']] : [];
      });
      const pairedText = paired.length > 1 ? `; run by run ${paired.map((p) => p.toFixed(2)).join(', ')} (median ${median(paired).toFixed(2)})` : '';
      out.push(`sink vs COPY: ${ratio.toFixed(2)} × DuckDB from the medians${pairedText} (goal ≥ 0.5: ${ratio >= 0.5 ? 'met' : 'not met'} by the medians)`);
    }
    return out;
  },
  async prepare(opts) {
    const known = ['events', 'roll-bytes', 'only'];
    const unknown = Object.keys(opts.extra).filter((k) => !known.includes(k));
    if (unknown.length) throw new Error(`lake suite: unknown option(s) ${unknown.map((k) => `--${k}`).join(', ')}; see --help`);
    const cases: BenchCase[] = [];
    const notes: string[] = [];
    const settings: Record<string, unknown> = {};
    const only = opts.extra['only'];
    if (only !== undefined && !SECTION_NAMES.includes(String(only))) throw new Error(`--only: expected one of ${SECTION_NAMES.join(', ')}, got ${String(only)}`);
    for (const [i, section] of SECTIONS.entries()) {
      if (only !== undefined && SECTION_NAMES[i] !== only) continue;
      const s = await section(opts);
      cases.push(...s.cases);
      notes.push(...s.notes);
      Object.assign(settings, s.settings);
    }
    return {
      cases,
      notes,
      settings,
      async cleanup() {
        for (const [key, dir] of producedTopics) {
          producedTopics.delete(key);
          removeWorkDir(await dir.catch(() => ''));
        }
      },
    };
  },
};

export default suite;
