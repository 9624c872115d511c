/**
 * The connect suite: getting data in and out.
 *
 * - HTTP ingest: a load generator in this process (node:http, keep-alive, N concurrent
 *   connections on loopback) POSTs records to `tributary up` running as its own process —
 *   `POST /ingest/<topic>` through the http-ingest connector, next to the plain produce API
 *   `POST /api/topics/<topic>/records` (no connector) as the reference — in batches of 1 and 500.
 *   Records/s over the whole run; p50/p99 latency per request (until every record of it is
 *   acknowledged, i.e. fsynced).
 * - PostgreSQL sink: N records already in a topic are written by the postgres-sink connector
 *   (one transaction per batch, offsets in the same transaction) into an empty table, timed from
 *   the connector's start until the table holds all N; next to PostgreSQL's own `COPY … FROM`
 *   (psql `\copy`) of the same rows as CSV into the same kind of table.
 * - CDC lag: a writer inserts rows at a steady rate in small transactions; the postgres-source
 *   connector in `cdc` mode streams them to a topic that a consumer in this process reads. Lag =
 *   when the consumer got the change − the transaction's commit time.
 *
 * Every case starts from fresh state: a new `tributary up` / data directory and a new private
 * PostgreSQL 15 cluster (initdb, fsync on, wal_level=logical) on a free loopback port.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { openEmbeddedBus } from '../../src/bus/index.ts';
import { builtinPlugins, IngestRouter } from '../../src/connect/plugins/index.ts';
import { ConnectRuntime } from '../../src/connect/runtime/runtime.ts';
import { Governance } from '../../src/govern/index.ts';
import { startTributary } from '../lib/peers/tributary.ts';
import { freePort, startProcess, type PeerProcess } from '../lib/process.ts';
import { percentile } from '../lib/stats.ts';
import type { BenchCase, Metrics, Suite, TableSpec } from '../lib/suite.ts';
import { makeWorkDir, removeWorkDir } from '../lib/workdir.ts';

const PG_BIN = ['17', '16', '15'].map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => existsSync(path.join(d, 'initdb')));

interface PgServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A private PostgreSQL cluster for one case: default durability (fsync on, synchronous_commit on). */
async function startPostgres(): Promise<PgServer> {
  if (!PG_BIN) throw new Error('PostgreSQL binaries not found (apt-get install postgresql)');
  const dir = makeWorkDir('postgres');
  const data = path.join(dir, 'data');
  mkdirSync(data);
  const root = process.getuid?.() === 0;
  const as = (cmd: string) => (root ? execFileSync('su', ['postgres', '-s', '/bin/bash', '-c', cmd], { stdio: 'pipe' }) : execFileSync('/bin/bash', ['-c', cmd], { stdio: 'pipe' }));
  if (root) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(dir, uid, gid);
    chownSync(data, uid, gid);
  }
  as(`${PG_BIN}/initdb -D '${data}' -U postgres --auth=trust -E UTF8 >/dev/null`);
  const port = await freePort();
  const cmd = `exec ${PG_BIN}/postgres -D '${data}' -p ${port} -k '${data}' -c listen_addresses=127.0.0.1 -c wal_level=logical -c max_wal_size=4GB`;
  const proc: PeerProcess = root ? startProcess('su', ['postgres', '-s', '/bin/bash', '-c', cmd], { group: true }) : startProcess('/bin/bash', ['-c', cmd], { group: true });
  await proc.waitFor(/ready to accept connections/, 30_000);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      await proc.stop(10_000);
      removeWorkDir(dir);
    },
  };
}

async function sql<T extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

const quiet = pino({ level: 'silent' });

// ---- HTTP ingest --------------------------------------------------------------------------------

function post(agent: http.Agent, url: URL, body: string, token: string | null): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(token ? { authorization: `Bearer ${token}` } : {}) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function ingestCase(opts: { via: 'ingest' | 'produce'; batch: number; requests: number; concurrency: number; payload: number }): Promise<Metrics> {
  const t = await startTributary();
  const token = 'bench-token-0123456789';
  try {
    const api = (p: string, body: unknown) => fetch(`${t.httpUrl}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    let res = await api('/api/topics', { name: 'bench', partitions: 6 });
    if (!res.ok) throw new Error(`create topic: ${await res.text()}`);
    if (opts.via === 'ingest') {
      res = await api('/api/connectors', { name: 'ingest', config: { connector: 'http-ingest', topics: ['bench'], tokens: { [token]: 'User:bench' }, maxBodyBytes: 16 * 1024 * 1024, maxRecordsPerRequest: 10_000, maxInFlightRecords: 1_000_000 } });
      if (!res.ok) throw new Error(`create connector: ${await res.text()}`);
    }
    const url = new URL(opts.via === 'ingest' ? `${t.httpUrl}/ingest/bench` : `${t.httpUrl}/api/topics/bench/records`);
    const pad = 'x'.repeat(opts.payload);
    const bodyFor = (r: number) => {
      const records = Array.from({ length: opts.batch }, (_, i) => ({ key: `k${(r * opts.batch + i) % 1000}`, value: opts.via === 'ingest' ? { n: r * opts.batch + i, pad } : JSON.stringify({ n: r * opts.batch + i, pad }) }));
      return JSON.stringify(opts.batch === 1 && opts.via === 'ingest' ? records[0] : { records });
    };
    const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
    // Warm-up: a few requests, not counted.
    for (let i = 0; i < 20; i++) await post(agent, url, bodyFor(0), token);
    const warm = 20 * opts.batch;
    const latencies: number[] = [];
    let next = 0;
    let refused = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        for (;;) {
          const r = next++;
          if (r >= opts.requests) return;
          const body = bodyFor(r);
          for (;;) {
            const t0 = process.hrtime.bigint();
            const res = await post(agent, url, body, token);
            if (res.status === 429) {
              refused++;
              await new Promise((x) => setTimeout(x, 10));
              continue;
            }
            if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.text.slice(0, 300)}`);
            latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
            break;
          }
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    agent.destroy();
    const d = (await (await fetch(`${t.httpUrl}/api/topics/bench`)).json()) as { records: number };
    const expected = opts.requests * opts.batch + warm;
    if (d.records !== expected) throw new Error(`topic holds ${d.records} records, expected ${expected}`);
    return {
      recordsPerSec: (opts.requests * opts.batch) / seconds,
      requestsPerSec: opts.requests / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      refused,
    };
  } finally {
    await t.stop();
  }
}

// ---- PostgreSQL sink vs COPY ----------------------------------------------------------------------

const TABLE_DDL = (name: string) => `CREATE TABLE ${name} (id bigint, name text, amount double precision, tags jsonb)`;

function rowOf(i: number) {
  return { id: i, name: `customer ${i % 5000}`, amount: (i % 10_000) / 100, tags: { tier: i % 3, vip: i % 17 === 0 } };
}

async function sinkCase(rows: number): Promise<Metrics> {
  const pgs = await startPostgres();
  const dir = makeWorkDir('connect-sink');
  try {
    await sql(pgs.url, TABLE_DDL('bench'));
    const bus = await openEmbeddedBus({ dataDir: path.join(dir, 'data') });
    try {
      await bus.admin().createTopic('rows', { partitions: 3 });
      const p = bus.producer({ lingerMs: 2 });
      for (let i = 0; i < rows; i += 5000) {
        await p.send('rows', Array.from({ length: Math.min(5000, rows - i) }, (_, j) => ({ key: Buffer.from(String(i + j)), value: Buffer.from(JSON.stringify(rowOf(i + j))) })));
      }
      await p.close();
      const runtime = new ConnectRuntime({ bus, governance: new Governance(), logger: quiet, plugins: builtinPlugins(new IngestRouter()) });
      await runtime.start();
      const started = process.hrtime.bigint();
      await runtime.create('sink', { connector: 'postgres-sink', url: pgs.url, topics: ['rows'], table: 'bench', batchSize: 5000, tasksMax: 1 });
      const deadline = Date.now() + 600_000;
      for (;;) {
        const [{ n }] = await sql<{ n: number }>(pgs.url, 'SELECT count(*)::int AS n FROM bench');
        if (n >= rows) break;
        if (Date.now() > deadline) throw new Error(`sink wrote ${n} of ${rows} rows in 10 minutes`);
        const st = runtime.status('sink');
        const failed = st.tasks.find((x) => x.state === 'FAILED');
        if (failed) throw new Error(`sink failed: ${failed.trace}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      await runtime.stop();
      const [{ n, d }] = await sql<{ n: number; d: number }>(pgs.url, 'SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM bench');
      if (n !== rows || d !== rows) throw new Error(`table holds ${n} rows (${d} distinct), expected ${rows}`);
      return { rowsPerSec: rows / seconds, seconds };
    } finally {
      await bus.close();
    }
  } finally {
    await pgs.stop();
    removeWorkDir(dir);
  }
}

async function copyCase(rows: number): Promise<Metrics> {
  const pgs = await startPostgres();
  const dir = makeWorkDir('connect-copy');
  try {
    await sql(pgs.url, TABLE_DDL('bench'));
    const file = path.join(dir, 'rows.csv');
    const lines: string[] = [];
    for (let i = 0; i < rows; i++) {
      const r = rowOf(i);
      lines.push(`${r.id},"${r.name}",${r.amount},"${JSON.stringify(r.tags).replace(/"/g, '""')}"`);
    }
    writeFileSync(file, lines.join('\n') + '\n');
    const started = process.hrtime.bigint();
    execFileSync(`${PG_BIN}/psql`, ['-q', '-h', '127.0.0.1', '-p', String(pgs.port), '-U', 'postgres', '-d', 'postgres', '-c', `\\copy bench FROM '${file}' WITH (FORMAT csv)`], { stdio: 'pipe' });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const [{ n }] = await sql<{ n: number }>(pgs.url, 'SELECT count(*)::int AS n FROM bench');
    if (n !== rows) throw new Error(`COPY loaded ${n} rows, expected ${rows}`);
    return { rowsPerSec: rows / seconds, seconds };
  } finally {
    await pgs.stop();
    removeWorkDir(dir);
  }
}

// ---- CDC lag ------------------------------------------------------------------------------------

async function cdcCase(opts: { rate: number; seconds: number }): Promise<Metrics> {
  const pgs = await startPostgres();
  const dir = makeWorkDir('connect-cdc');
  try {
    await sql(pgs.url, 'CREATE TABLE events (id bigserial PRIMARY KEY, payload text, at timestamptz DEFAULT clock_timestamp())');
    const bus = await openEmbeddedBus({ dataDir: path.join(dir, 'data') });
    const runtime = new ConnectRuntime({ bus, governance: new Governance(), logger: quiet, plugins: builtinPlugins(new IngestRouter()) });
    try {
      await runtime.start();
      await runtime.create('cdc', { connector: 'postgres-source', url: pgs.url, mode: 'cdc', tables: ['events'], topicCreation: { partitions: 1 } });
      const consumer = bus.consumer({ fromBeginning: true });
      // Wait for the connector to stream (the snapshot is empty).
      const deadline = Date.now() + 30_000;
      while (!(await bus.admin().listTopics()).some((t) => t.name === 'pg.events') && Date.now() < deadline) {
        await sql(pgs.url, `INSERT INTO events (payload) VALUES ('warm-up')`);
        await new Promise((r) => setTimeout(r, 200));
      }
      if (!(await bus.admin().listTopics()).some((t) => t.name === 'pg.events')) throw new Error(`the CDC connector wrote nothing in 30 s: ${JSON.stringify(runtime.status('cdc'))}`);
      const d = await bus.admin().describeTopic('pg.events');
      consumer.assign(d.partitions.map((p) => ({ topic: 'pg.events', partition: p.partition, offset: p.highWatermark })));

      const writer = new pg.Client({ connectionString: pgs.url });
      await writer.connect();
      const tickMs = 10;
      const perTick = Math.max(1, Math.round((opts.rate * tickMs) / 1000));
      let written = 0;
      let stop = false;
      const writing = (async () => {
        const start = Date.now();
        while (!stop && Date.now() - start < opts.seconds * 1000) {
          const due = Math.floor(((Date.now() - start) / tickMs) * perTick);
          if (written < due) {
            const n = Math.min(due - written, perTick * 10);
            await writer.query(`INSERT INTO events (payload) SELECT 'p' || g FROM generate_series(1, ${n}) g`);
            written += n;
          } else await new Promise((r) => setTimeout(r, 1));
        }
      })();
      const lags: number[] = [];
      let seen = 0;
      const readUntil = Date.now() + opts.seconds * 1000 + 60_000;
      let writerDone = false;
      void writing.then(() => (writerDone = true));
      while (Date.now() < readUntil) {
        const batch = await consumer.poll({ timeoutMs: 100 });
        const now = Date.now();
        for (const r of batch) {
          const v = JSON.parse(r.value!.toString()) as { op: string; after: { payload: string } | null; tsMs: number };
          if (v.op !== 'c' || v.after?.payload === 'warm-up') continue;
          lags.push(now - v.tsMs);
          seen++;
        }
        if (writerDone && seen >= written) break;
      }
      stop = true;
      await writing;
      await writer.end();
      await consumer.close();
      if (seen !== written) throw new Error(`CDC delivered ${seen} of ${written} inserted rows`);
      return { writeRowsPerSec: written / opts.seconds, lagP50Ms: percentile(lags, 50), lagP99Ms: percentile(lags, 99), lagMaxMs: Math.max(...lags) };
    } finally {
      await runtime.stop();
      await bus.close();
    }
  } finally {
    await pgs.stop();
    removeWorkDir(dir);
  }
}

// ---- the suite ----------------------------------------------------------------------------------

const INGEST_TABLE: TableSpec = {
  columns: [
    { key: 'recordsPerSec', label: 'records/s', digits: 0 },
    { key: 'requestsPerSec', label: 'requests/s', digits: 0 },
    { key: 'p50Ms', label: 'p50 (ms)', digits: 2 },
    { key: 'p99Ms', label: 'p99 (ms)', digits: 2 },
  ],
  ratios: [{ key: 'recordsPerSec', label: 'records/s' }],
};
const SINK_TABLE: TableSpec = { columns: [{ key: 'rowsPerSec', label: 'rows/s', digits: 0 }, { key: 'seconds', label: 'seconds', digits: 2 }], ratios: [{ key: 'rowsPerSec', label: 'rows/s' }] };
const CDC_TABLE: TableSpec = {
  columns: [
    { key: 'writeRowsPerSec', label: 'rows written/s', digits: 0 },
    { key: 'lagP50Ms', label: 'lag p50 (ms)', digits: 1 },
    { key: 'lagP99Ms', label: 'lag p99 (ms)', digits: 1 },
    { key: 'lagMaxMs', label: 'lag max (ms)', digits: 1 },
  ],
  ratios: [],
};

const suite: Suite = {
  title: 'connectors: HTTP ingest, PostgreSQL sink vs COPY, CDC lag',
  description:
    'HTTP ingest: a keep-alive load generator in the bench process POSTs to `tributary up` (its own process) on loopback — ' +
    'through the http-ingest connector (`POST /ingest/<topic>`) and, as the reference, the plain produce API (`POST /api/topics/<topic>/records`) — ' +
    'with batches of 1 and 500 records (~100 B values), latency per request until all its records are fsynced. ' +
    'PostgreSQL sink: rows/s of the postgres-sink connector (exactly once: offsets in the same transaction, batches of 5 000) into an empty table, ' +
    'against PostgreSQL’s own COPY (psql \\copy of the same rows as CSV). CDC: rows inserted at a steady rate in small transactions, ' +
    'lag from commit to the change being readable in the topic.',
  subject: 'tributary',
  columns: INGEST_TABLE.columns,
  ratios: INGEST_TABLE.ratios,
  tableFor(workload) {
    if (workload.startsWith('HTTP')) return INGEST_TABLE;
    if (workload.startsWith('PostgreSQL sink')) return SINK_TABLE;
    return CDC_TABLE;
  },
  optionsHelp: '  --cases a,b   any of ingest,sink,cdc (default: all)',
  async prepare({ quick, extra }) {
    const unknown = Object.keys(extra).filter((k) => k !== 'cases');
    if (unknown.length) throw new Error(`connect suite: unknown option(s) ${unknown.map((k) => `--${k}`).join(', ')}; see --help`);
    const which = (extra['cases'] ?? 'ingest,sink,cdc').split(',').map((s) => s.trim());
    const cases: BenchCase[] = [];
    const fsync = 'topic ackPolicy fsync: answered after fsync (group commit)';
    const ingest = {
      1: { requests: quick ? 2000 : 10_000, concurrency: 32 },
      500: { requests: quick ? 40 : 400, concurrency: 8 },
    } as const;
    if (which.includes('ingest')) {
      for (const batch of [1, 500] as const) {
        const w = `HTTP ingest, batches of ${batch} (${ingest[batch].requests * batch} records, ${ingest[batch].concurrency} connections)`;
        cases.push({ id: `ingest-b${batch}`, workload: w, system: 'tributary', durability: fsync, run: () => ingestCase({ via: 'ingest', batch, payload: 80, ...ingest[batch] }) });
        cases.push({ id: `produce-b${batch}`, workload: w, system: 'tributary REST produce (no connector)', durability: fsync, run: () => ingestCase({ via: 'produce', batch, payload: 80, ...ingest[batch] }) });
      }
    }
    const rows = quick ? 10_000 : Number(process.env["BENCH_CONNECT_ROWS"] ?? 200_000);
    if (which.includes('sink')) {
      const w = `PostgreSQL sink, ${rows} rows`;
      cases.push({ id: 'pg-sink', workload: w, system: 'tributary', durability: 'PostgreSQL fsync on, synchronous_commit on; one transaction per batch with its offsets', run: () => sinkCase(rows) });
      cases.push({ id: 'pg-copy', workload: w, system: 'postgresql COPY', durability: 'PostgreSQL fsync on, synchronous_commit on; one COPY', run: () => copyCase(rows) });
    }
    if (which.includes('cdc')) {
      const rate = quick ? 500 : 2000;
      const seconds = quick ? 3 : 15;
      cases.push({
        id: 'cdc-lag',
        workload: `PostgreSQL CDC lag, ${rate} rows/s for ${seconds} s`,
        system: 'tributary',
        durability: `${fsync}; PostgreSQL fsync on`,
        run: () => cdcCase({ rate, seconds }),
      });
    }
    return {
      cases,
      settings: { ingest, rows, cases: which, pgBin: PG_BIN ?? null },
      notes: [
        'Tributary runs as `tributary up` in its own process for HTTP ingest; the sink and CDC cases run the connector runtime embedded in the bench process (embedded log, fsync).',
        'PostgreSQL 15: a fresh private cluster per case with default durability (fsync on, synchronous_commit on), wal_level=logical.',
      ],
    };
  },
};

export default suite;
