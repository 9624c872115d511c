/**
 * The lake suite, part "gateway overhead": a fixed set of 10 analytical queries over the same
 * lake files, once through the warehouse's SQL gateway (`raw.orders`, the view over the
 * current snapshot's files, authorization, audit, JSON-ready values) and once by DuckDB queried
 * directly (`read_parquet([the same files], hive_partitioning = true)`, rows read with
 * `runAndReadAll`).
 *
 * The lake table is built once per suite run from the suite's event file (not timed): DuckDB
 * writes the events as zstd Parquet partitioned by dt/hr of the event time, and the files are
 * committed to a fresh lake as `raw.orders` (hour partitioning, as the lake sink would).
 *
 * A run opens a fresh gateway (or DuckDB instance), runs the query set once to warm up (file
 * footers, the OS cache), then `passes` times; each query's figure is its median over the
 * passes and the run's `seconds` is the sum of those medians. `eventsPerSec` is rows of the
 * table × 10 queries ÷ seconds, so the suite's ratio column (Tributary ÷ DuckDB, events/s) is
 * DuckDB's time ÷ the gateway's: 1 ÷ the overhead (goal: overhead ≤ 1.1×, ratio ≥ 0.91).
 */
import { mkdirSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { BenchCase, CaseContext, Metrics, SuiteOptions } from '../lib/suite.ts';
import { median } from '../lib/stats.ts';
import { makeWorkDir } from '../lib/workdir.ts';
import { prepareEvents, type EventFile } from './lake.ts';

/** The query set; `{t}` is the table (`raw.orders` through the gateway, a view over read_parquet directly). */
export const GATEWAY_QUERIES: ReadonlyArray<{ name: string; sql: string }> = [
  { name: 'count', sql: 'SELECT count(*) AS n FROM {t}' },
  { name: 'by payment', sql: 'SELECT paymentMethod, count(*) AS orders, sum(amount) AS revenue, avg(amount) AS avg_amount FROM {t} GROUP BY ALL ORDER BY paymentMethod' },
  { name: 'revenue per hour', sql: "SELECT date_trunc('hour', eventTime) AS h, sum(amount) AS revenue FROM {t} GROUP BY ALL ORDER BY h" },
  { name: 'top stores', sql: 'SELECT storeId, any_value(storeName) AS name, sum(amount) AS revenue FROM {t} GROUP BY storeId ORDER BY revenue DESC, storeId LIMIT 10' },
  { name: 'distinct users', sql: 'SELECT count(DISTINCT userId) AS users FROM {t}' },
  { name: 'one day (pruned)', sql: "SELECT count(*) AS n, sum(amount) AS revenue FROM {t} WHERE dt = '2024-05-02'" },
  { name: 'quantiles', sql: 'SELECT quantile_cont(amount, [0.5, 0.9, 0.99]) AS q FROM {t}' },
  { name: 'top users', sql: 'SELECT userId, count(*) AS orders FROM {t} GROUP BY userId HAVING count(*) > 1 ORDER BY orders DESC, userId LIMIT 10' },
  { name: 'running total', sql: 'SELECT dt, sum(amount) AS revenue, sum(sum(amount)) OVER (ORDER BY dt) AS running FROM {t} GROUP BY dt ORDER BY dt' },
  { name: 'big orders', sql: 'SELECT storeId, paymentMethod, count(*) AS n FROM {t} WHERE amount > 20000 GROUP BY ALL ORDER BY n DESC, storeId, paymentMethod LIMIT 20' },
];

interface BuiltLake {
  root: string;
  events: number;
}

const built = new Map<string, Promise<BuiltLake>>();

/** `raw.orders` of a fresh lake holding the events of `ev` (once per suite run and event file). */
function builtLake(ev: EventFile, log: (m: string) => void): Promise<BuiltLake> {
  let p = built.get(ev.path);
  if (!p) {
    p = buildLake(ev, log);
    built.set(ev.path, p);
    p.catch(() => built.delete(ev.path));
  }
  return p;
}

async function buildLake(ev: EventFile, log: (m: string) => void): Promise<BuiltLake> {
  const { openLake, timePartitioning } = await import('../../src/lake/index.ts');
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const dir = makeWorkDir('lake-gateway');
  const root = path.join(dir, 'lake');
  const lake = await openLake({ root });
  try {
    log(`writing ${ev.events} events as the lake table raw.orders (not timed)…`);
    const out = path.join(dir, 'copy');
    mkdirSync(out, { recursive: true });
    const duck = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
    const c = await duck.connect();
    await c.run(`SET TimeZone = 'UTC'`);
    await c.run(
      `COPY (SELECT orderId, userId, storeId, storeName, CAST(to_json(items) AS VARCHAR) AS items, deliveryFee::BIGINT AS deliveryFee, amount::BIGINT AS amount,
                    currency, paymentMethod, CAST(eventTime AS TIMESTAMPTZ) AS eventTime,
                    strftime(CAST(eventTime AS TIMESTAMPTZ), '%Y-%m-%d') AS dt, strftime(CAST(eventTime AS TIMESTAMPTZ), '%H') AS hr
             FROM read_json('${ev.path}', format = 'newline_delimited'))
       TO '${out}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (dt, hr))`,
    );
    c.closeSync();
    duck.closeSync();
    const files: Array<{ localPath: string; partition: Record<string, string> }> = [];
    for (const d of readdirSync(out)) {
      for (const h of readdirSync(path.join(out, d))) {
        for (const f of readdirSync(path.join(out, d, h))) {
          const staged = lake.stagingPath();
          renameSync(path.join(out, d, h, f), staged);
          files.push({ localPath: staged, partition: { dt: d.replace(/^dt=/, ''), hr: h.replace(/^hr=/, '') } });
        }
      }
    }
    await lake.append('raw.orders', files, { createTable: { partitionBy: timePartitioning('hour', 'eventTime') }, writer: 'bench' });
    const t = await lake.table('raw.orders');
    if (t.rows !== ev.events) throw new Error(`raw.orders holds ${t.rows} rows, expected ${ev.events}`);
    return { root, events: ev.events };
  } finally {
    await lake.close();
  }
}

type Runner = (sql: string) => Promise<unknown[]>;

/** Warm-up pass, then `passes` timed passes; per-query medians (ms) and their sum (s). Returns the last pass's rows for cross-checking. */
async function timeQueries(run: Runner, table: string, passes: number): Promise<{ metrics: Metrics; answers: string[] }> {
  const sqls = GATEWAY_QUERIES.map((q) => q.sql.replaceAll('{t}', table));
  const answers: string[] = [];
  for (const sql of sqls) answers.push(JSON.stringify(await run(sql)));
  const ms: number[][] = sqls.map(() => []);
  for (let p = 0; p < passes; p++) {
    for (const [i, sql] of sqls.entries()) {
      const start = process.hrtime.bigint();
      await run(sql);
      ms[i]!.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  const medians = ms.map((m) => median(m));
  const seconds = medians.reduce((a, b) => a + b, 0) / 1000;
  const metrics: Metrics = { seconds };
  medians.forEach((m, i) => (metrics[`q${i + 1}Ms`] = m));
  return { metrics, answers };
}

/** Both sides must answer the same; the gateway's JSON numbers vs DuckDB's JSON text are normalised. */
const normalise = (rows: unknown[]) => JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : typeof v === 'bigint' ? Number(v) : v));

const answersBy = new Map<string, string[]>();

function checkAnswers(side: string, answers: string[]): void {
  const norm = answers.map((a) => normalise(JSON.parse(a) as unknown[]));
  answersBy.set(side, norm);
  const other = answersBy.get(side === 'gateway' ? 'direct' : 'gateway');
  if (!other) return;
  for (const [i, a] of norm.entries()) {
    if (a !== other[i]) throw new Error(`query ${i + 1} (${GATEWAY_QUERIES[i]!.name}) answers differently through the gateway and directly:\n  ${a.slice(0, 300)}\n  ${other[i]!.slice(0, 300)}`);
  }
}

async function runGateway(lakeP: Promise<BuiltLake>, ctx: CaseContext, passes: number): Promise<Metrics> {
  const { openLake } = await import('../../src/lake/index.ts');
  const { SqlGateway } = await import('../../src/warehouse/index.ts');
  const b = await lakeP;
  const lake = await openLake({ root: b.root });
  try {
    const gateway = await SqlGateway.open({ lake });
    try {
      ctx.log('10 queries through the gateway…');
      const { metrics, answers } = await timeQueries((sql) => gateway.all(sql), 'raw.orders', passes);
      checkAnswers('gateway', answers);
      return { ...metrics, eventsPerSec: Math.round((b.events * GATEWAY_QUERIES.length) / metrics['seconds']!) };
    } finally {
      await gateway.close();
    }
  } finally {
    await lake.close();
  }
}

async function runDirect(lakeP: Promise<BuiltLake>, ctx: CaseContext, passes: number): Promise<Metrics> {
  const { openLake, partitionColumnDuckType } = await import('../../src/lake/index.ts');
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const b = await lakeP;
  // The file list and the partition column types come from the manifest, as anyone reading the lake's files would take them.
  const lake = await openLake({ root: b.root });
  let files: string[];
  let hiveTypes: string;
  try {
    const scan = await lake.scan('raw.orders');
    files = scan.files.map((f) => f.localPath);
    hiveTypes = scan.table.partitionBy.map((p) => `'${p.name}': '${partitionColumnDuckType(p, scan.table.schema.columns)}'`).join(', ');
  } finally {
    await lake.close();
  }
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  try {
    const c = await instance.connect();
    try {
      // The gateway's instance-wide settings, so the difference is the gateway itself.
      await c.run(`SET TimeZone = 'UTC'`);
      await c.run(`SET parquet_metadata_cache = true`);
      await c.run(`CREATE VIEW orders AS SELECT * FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}], hive_partitioning = true, hive_types = {${hiveTypes}})`);
      ctx.log('10 queries on DuckDB directly…');
      const { metrics, answers } = await timeQueries(async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJson(), 'orders', passes);
      checkAnswers('direct', answers);
      return { ...metrics, eventsPerSec: Math.round((b.events * GATEWAY_QUERIES.length) / metrics['seconds']!) };
    } finally {
      c.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/** Section builder for bench/suites/lake.ts (`SECTIONS`). */
export async function gatewayOverhead(opts: SuiteOptions): Promise<{ cases: BenchCase[]; notes: string[]; settings: Record<string, unknown> }> {
  const events = Number(opts.extra['events'] ?? (opts.quick ? 200_000 : 10_000_000));
  const passes = opts.quick ? 2 : 5;
  const ev = await prepareEvents(events, opts.log);
  let lakeP: Promise<BuiltLake> | null = null;
  const lakeOnce = () => (lakeP ??= builtLake(ev, opts.log));
  const workload = `10 analytical queries over the lake table, ${events >= 1e6 && events % 1e6 === 0 ? `${events / 1e6}M` : events} events`;
  return {
    settings: { gatewayQueries: GATEWAY_QUERIES.map((q) => q.sql), gatewayPasses: passes },
    notes: [
      `${workload}: the same zstd Parquet files (dt/hr partitions) queried through the SQL gateway (\`raw.orders\`: the view over the current snapshot, authorization, audit, JSON-ready values) and by DuckDB directly (\`read_parquet([files], hive_partitioning = true)\`, rows via runAndReadAll); both DuckDB 1.x in this process with default threads and the gateway's settings (UTC, parquet_metadata_cache). Per query the median of ${passes} passes after a warm-up; seconds = their sum; events/s = rows × 10 ÷ seconds, so the ratio column is DuckDB's time ÷ the gateway's (goal: ≥ 0.91, i.e. overhead ≤ 1.1×). Per-query medians (q1Ms … q10Ms) are in bench/results/lake.json.`,
      'gateway vs direct: read-only queries, durability does not apply (the files were committed once, before the runs).',
    ],
    cases: [
      { id: `gateway-${events}`, workload, system: 'tributary', durability: 'n/a (read-only queries)', run: (ctx) => runGateway(lakeOnce(), ctx, passes) },
      { id: `direct-${events}`, workload, system: 'duckdb', durability: 'n/a (read-only queries)', run: (ctx) => runDirect(lakeOnce(), ctx, passes) },
    ],
  };
}
