/**
 * The flow suite: how fast workflows hand off between tasks, and how many tasks per second the
 * PostgreSQL scale-out mode runs next to graphile-worker on the same PostgreSQL.
 *
 * - chain: 40 tasks in a line, each computing fib(10); fan: 1 → 1000 → 1 (a mapped task).
 *   Embedded mode (SQLite metadata in bench/.work, WAL, synchronous=NORMAL), the engine in this
 *   process with 4 worker slots, tasks in child processes (`process`, the default of
 *   `tributary up`) or in-process (`inline`). Hand-off = downstream start − upstream end, from
 *   the attempts' recorded times; in the fan-out a slot-bound queue is modelled (an item k ≥ 4
 *   is handed off when the (k−4)-th item ended), so waiting for a free slot is not counted.
 * - postgres: N no-op tasks on a private PostgreSQL 15 (fsync on): Tributary runs N/1000 runs of a
 *   DAG mapping a no-op over 1000 items, with one `tributary scheduler` and 4 `tributary worker`
 *   processes (inline, 16 slots each); graphile-worker gets N no-op jobs (addJobs, batches of
 *   10 000) and 4 worker processes (`run`, concurrency 16). Both clocks start when the work is
 *   enqueued and stop when the last task finished.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { FlowEngine } from '../../src/flow/engine/engine.ts';
import { DagRegistry } from '../../src/flow/engine/registry.ts';
import { ProcessExecutor } from '../../src/flow/exec/process-pool.ts';
import { InlineExecutor } from '../../src/flow/exec/inline-executor.ts';
import { loadDagsDir } from '../../src/flow/loader/load-dags.ts';
import { FlowStore, type TaskInstance } from '../../src/flow/store/flow-store.ts';
import { openPostgres, openSqlite } from '../../src/flow/store/sql.ts';
import { freshDatabaseOn, startPrivateCluster, type PrivateCluster } from '../../test/flow/helpers/postgres.ts';
import { percentile } from '../lib/stats.ts';
import type { BenchCase, CaseContext, Metrics, Suite } from '../lib/suite.ts';
import { makeWorkDir, removeWorkDir, repoRoot } from '../lib/workdir.ts';

const SLOTS = 4;
const FAN = 1000;

function dagSource(): string {
  const flow = path.join(repoRoot, 'src', 'flow', 'index.ts');
  return `import { defineDag } from ${JSON.stringify(flow)};
function fib(n: number): number { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
export const chain = defineDag({ id: 'bench_chain' }, (d) => {
  let prev = d.task('t0', () => fib(10));
  for (let i = 1; i < 40; i++) { const p = prev; prev = d.task('t' + i, { inputs: { p } }, (ctx, { p }) => fib(10) + p * 0); }
});
export const fan = defineDag({ id: 'bench_fan', maxActiveTasks: 64 }, (d) => {
  const list = d.task('root', () => Array.from({ length: ${FAN} }, (_, i) => i));
  const items = d.map('item', { over: list }, (ctx, i: number) => fib(10) + i * 0);
  d.task('sink', { inputs: { items } }, (ctx, { items }) => items.length);
});
export const noop = defineDag({ id: 'bench_noop', maxActiveRuns: 100000, maxActiveTasks: 100000 }, (d) => {
  const list = d.task('root', () => Array.from({ length: 1000 }, (_, i) => i));
  d.map('noop', { over: list }, () => null);
});
`;
}

function writeDags(dir: string): string {
  const dags = path.join(dir, 'dags');
  mkdirSync(dags, { recursive: true });
  writeFileSync(path.join(dags, 'bench.ts'), dagSource());
  return dags;
}

// ---------------------------------------------------------------------------------------------
// Embedded: chain and fan

async function runEmbedded(kind: 'chain' | 'fan', mode: 'process' | 'inline', ctx: CaseContext): Promise<Metrics> {
  const dir = makeWorkDir(`flow-${kind}-${mode}`);
  const dagsDir = writeDags(dir);
  const { dags } = await loadDagsDir(dagsDir);
  const registry = new DagRegistry(dags);
  const store = await FlowStore.open(await openSqlite(path.join(dir, 'flow.db')));
  const executor: import('../../src/flow/exec/types.ts').TaskExecutor = mode === 'process' ? new ProcessExecutor({ size: SLOTS }) : new InlineExecutor((id) => registry.get(id));
  const engine = new FlowEngine({ store, registry, executor, workerSlots: SLOTS, logger: pino({ level: 'silent' }) });
  try {
    await engine.start();
    await executor.warmUp?.();
    const dagId = kind === 'chain' ? 'bench_chain' : 'bench_fan';
    const done = new Promise<void>((resolve) => engine.events.on('run', () => resolve()));
    const t0 = performance.timeOrigin + performance.now();
    const run = await engine.trigger(dagId);
    await done;
    const totalMs = performance.timeOrigin + performance.now() - t0;
    const r = await store.getRun(dagId, run.runId);
    if (r?.state !== 'success') throw new Error(`run ${run.runId} ended ${r?.state}`);
    const tis = await store.runTasks(r.id);
    const handoffs = kind === 'chain' ? chainHandoffs(tis) : fanHandoffs(tis);
    ctx.log(`${tis.length} task instances, ${handoffs.length} hand-offs`);
    return { totalMs, handoffP50Ms: percentile(handoffs, 50), handoffP99Ms: percentile(handoffs, 99), tasks: tis.filter((t) => t.startedAt !== null).length };
  } finally {
    await engine.stop();
    await store.close();
    removeWorkDir(dir);
  }
}

function chainHandoffs(tis: TaskInstance[]): number[] {
  const by = new Map(tis.map((t) => [t.taskId, t]));
  const out: number[] = [];
  for (let i = 1; i < 40; i++) out.push(by.get(`t${i}`)!.startedAt! - by.get(`t${i - 1}`)!.endedAt!);
  return out;
}

function fanHandoffs(tis: TaskInstance[]): number[] {
  const root = tis.find((t) => t.taskId === 'root')!;
  const sink = tis.find((t) => t.taskId === 'sink')!;
  const items = tis.filter((t) => t.taskId === 'item' && t.mapIndex >= 0);
  const starts = items.map((t) => t.startedAt!).sort((a, b) => a - b);
  const ends = items.map((t) => t.endedAt!).sort((a, b) => a - b);
  const out: number[] = [];
  // Item k (in start order) could start when the root ended and, past the first SLOTS, when the
  // (k − SLOTS)-th item ended and freed a slot.
  starts.forEach((s, k) => out.push(s - Math.max(root.endedAt!, k >= SLOTS ? ends[k - SLOTS]! : 0)));
  out.push(sink.startedAt! - ends[ends.length - 1]!);
  return out;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: Tributary scheduler + 4 workers vs graphile-worker

let cluster: PrivateCluster | null = null;
async function server(): Promise<string> {
  cluster ??= await startPrivateClusterWithFsync();
  return cluster.url;
}

/** The test helper's cluster runs with fsync off; a benchmark states its durability: fsync on. */
async function startPrivateClusterWithFsync(): Promise<PrivateCluster> {
  const c = await startPrivateCluster();
  const client = new pg.Client({ connectionString: c.url });
  await client.connect();
  await client.query(`ALTER SYSTEM SET fsync = on`);
  await client.query(`ALTER SYSTEM SET synchronous_commit = on`);
  await client.end();
  c.restart();
  return c;
}

function spawnNode(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; ready: Promise<void>; exited: Promise<void>; out: () => string } {
  const child = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/ready/.test(out)) resolve();
    });
    child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}) before ready:\n${out.slice(-2000)}`)));
  });
  return { child, ready, exited, out: () => out };
}

async function stopAll(procs: Array<{ child: ChildProcess; exited: Promise<void> }>): Promise<void> {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  const t = setTimeout(() => procs.forEach((p) => p.child.kill('SIGKILL')), 10_000);
  await Promise.all(procs.map((p) => p.exited));
  clearTimeout(t);
}

async function runFlowPg(tasks: number, ctx: CaseContext): Promise<Metrics> {
  const db = await freshDatabaseOn(await server(), 'bench_flow');
  const dir = makeWorkDir('flow-pg');
  const dagsDir = writeDags(dir);
  const bin = path.join(repoRoot, 'bin', 'tributary.js');
  const common = ['--postgres', db.url, '--dags-dir', dagsDir, '--log-level', 'warn'];
  const procs = [spawnNode([bin, 'scheduler', ...common])];
  for (let i = 0; i < 4; i++) procs.push(spawnNode([bin, 'worker', ...common, '--mode', 'inline', '--slots', '16']));
  const store = await FlowStore.open(await openPostgres(db.url));
  try {
    await Promise.all(procs.map((p) => p.ready));
    const registry = new DagRegistry((await loadDagsDir(dagsDir)).dags);
    const client = new FlowEngine({ store, registry, scheduler: false, workerSlots: 0, logger: pino({ level: 'silent' }) });
    await client.init();
    const runs = Math.ceil(tasks / 1000);
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await client.trigger('bench_noop');
    ctx.log(`${runs} runs triggered in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (;;) {
      const r = await store.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM flow_run WHERE state IN ('queued', 'running')`);
      if (Number(r!.n) === 0) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const sec = (performance.now() - t0) / 1000;
    const failed = await store.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM flow_task WHERE map_index >= 0 AND state <> 'success'`);
    const ok = await store.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM flow_task WHERE map_index >= 0 AND state = 'success'`);
    if (Number(failed!.n) !== 0 || Number(ok!.n) !== runs * 1000) throw new Error(`${ok!.n} tasks succeeded, ${failed!.n} did not; expected ${runs * 1000}`);
    return { tasksPerSec: Math.round((runs * 1000) / sec), totalSec: sec };
  } finally {
    await store.close();
    await stopAll(procs);
    await db.drop();
    removeWorkDir(dir);
  }
}

function graphileWorkerScript(): string {
  return `import { run } from 'graphile-worker';
const runner = await run({ connectionString: process.env.GW_URL, concurrency: 16, noHandleSignals: true, pollInterval: 1000, taskList: { noop: async () => {} } });
process.stdout.write('graphile-worker ready\\n');
const stop = () => runner.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
await runner.promise;
`;
}

async function runGraphile(tasks: number, ctx: CaseContext): Promise<Metrics> {
  const db = await freshDatabaseOn(await server(), 'bench_gw');
  const dir = makeWorkDir('flow-gw');
  const script = path.join(dir, 'gw-worker.mjs');
  writeFileSync(script, graphileWorkerScript());
  const { makeWorkerUtils } = await import('graphile-worker');
  const utils = await makeWorkerUtils({ connectionString: db.url });
  const procs: ReturnType<typeof spawnNode>[] = [];
  try {
    await utils.migrate();
    // bench/.work is inside the repository: the script resolves graphile-worker from its node_modules.
    for (let i = 0; i < 4; i++) procs.push(spawnNode([script], { GW_URL: db.url }));
    await Promise.all(procs.map((p) => p.ready));
    const t0 = performance.now();
    for (let i = 0; i < tasks; i += 10_000) {
      const n = Math.min(10_000, tasks - i);
      await utils.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: {} })));
    }
    ctx.log(`${tasks} jobs added in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      for (;;) {
        const r = await client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM graphile_worker._private_jobs`);
        if (Number(r.rows[0]!.n) === 0) break;
        await new Promise((res) => setTimeout(res, 50));
      }
    } finally {
      await client.end();
    }
    const sec = (performance.now() - t0) / 1000;
    return { tasksPerSec: Math.round(tasks / sec), totalSec: sec };
  } finally {
    await utils.release();
    await stopAll(procs);
    await db.drop();
    removeWorkDir(dir);
  }
}

function graphileVersion(): string {
  try {
    return JSON.parse(execFileSync('node', ['-p', 'JSON.stringify(require("graphile-worker/package.json").version)'], { cwd: repoRoot, encoding: 'utf8' }));
  } catch {
    return 'unknown';
  }
}

const suite: Suite = {
  title: 'workflows: hand-off latency and PostgreSQL throughput vs graphile-worker',
  description:
    'A chain of 40 tasks each computing fib(10), and a 1 → 1000 → 1 fan-out/fan-in, on the embedded engine (SQLite metadata, 4 worker slots): total time and hand-off latency (downstream start − upstream end; in the fan-out an item counts from when a slot was free). Then N no-op tasks on PostgreSQL with one scheduler and 4 worker processes, next to graphile-worker running N no-op jobs with 4 worker processes on the same PostgreSQL. Published anchors: Airflow ≈ 2.9 s per task, Windmill 4.4 s for the 40-chain, Temporal ≈ 100 ms minimum per workflow.',
  subject: 'tributary',
  columns: [
    { key: 'totalMs', label: 'total (ms)', digits: 0 },
    { key: 'handoffP50Ms', label: 'hand-off p50 (ms)', digits: 2 },
    { key: 'handoffP99Ms', label: 'hand-off p99 (ms)', digits: 2 },
  ],
  ratios: [],
  optionsHelp: '  --pg-tasks N   no-op tasks in the PostgreSQL workload (default 200000; --quick 10000)',
  tableFor(workload) {
    if (workload.includes('PostgreSQL')) {
      return { columns: [{ key: 'tasksPerSec', label: 'tasks/s', digits: 0 }, { key: 'totalSec', label: 'total (s)', digits: 1 }], ratios: [{ key: 'tasksPerSec', label: 'tasks/s' }] };
    }
    return undefined;
  },
  summary(cases) {
    const m = (id: string, k: string) => cases.find((c) => c.id === id)?.medians[k];
    const lines: string[] = [];
    const p50 = m('chain-process', 'handoffP50Ms');
    const chain = m('chain-process', 'totalMs');
    const ours = cases.find((c) => c.id === 'pg-tributary')?.medians['tasksPerSec'];
    const gw = cases.find((c) => c.id === 'pg-graphile')?.medians['tasksPerSec'];
    if (p50 !== undefined) lines.push(`Goal hand-off p50 ≤ 5 ms (embedded, process mode): ${p50.toFixed(2)} ms — ${p50 <= 5 ? 'met' : 'not met'}.`);
    if (chain !== undefined) lines.push(`Goal 40-chain ≤ 1 s: ${(chain / 1000).toFixed(2)} s — ${chain <= 1000 ? 'met' : 'not met'}.`);
    if (ours !== undefined && gw !== undefined) lines.push(`Goal PostgreSQL throughput ≥ 0.5× graphile-worker: ${(ours / gw).toFixed(2)}× — ${ours / gw >= 0.5 ? 'met' : 'not met'}.`);
    return lines;
  },
  async prepare({ quick, extra, log }) {
    const pgTasks = extra['pg-tasks'] !== undefined ? Number(extra['pg-tasks']) : quick ? 10_000 : 200_000;
    if (!Number.isInteger(pgTasks) || pgTasks < 1000) throw new Error(`--pg-tasks needs a whole number ≥ 1000, got ${extra['pg-tasks']}`);
    const unknown = Object.keys(extra).filter((k) => k !== 'pg-tasks');
    if (unknown.length) throw new Error(`unknown option(s) ${unknown.map((k) => `--${k}`).join(', ')}; see --help`);
    const embedded = 'SQLite WAL, synchronous=NORMAL (a commit survives a process crash, not a power cut)';
    const pgDur = 'PostgreSQL 15, fsync on, synchronous_commit on';
    const cases: BenchCase[] = [];
    for (const kind of ['chain', 'fan'] as const) {
      for (const mode of ['process', 'inline'] as const) {
        cases.push({
          id: `${kind}-${mode}`,
          workload: kind === 'chain' ? '40-task chain of fib(10)' : `1 → ${FAN} → 1 fan-out/fan-in of fib(10)`,
          system: mode === 'process' ? 'tributary' : 'tributary (inline)',
          durability: embedded,
          run: (ctx) => runEmbedded(kind, mode, ctx),
        });
      }
    }
    const label = `${pgTasks >= 1000 && pgTasks % 1000 === 0 ? `${pgTasks / 1000}k` : pgTasks} no-op tasks on PostgreSQL, 4 workers`;
    cases.push({ id: 'pg-tributary', workload: label, system: 'tributary', durability: pgDur, run: (ctx) => runFlowPg(pgTasks, ctx) });
    cases.push({ id: 'pg-graphile', workload: label, system: 'graphile-worker', durability: pgDur, run: (ctx) => runGraphile(pgTasks, ctx) });
    log(`flow: pg tasks ${pgTasks}`);
    return {
      cases,
      settings: { slots: SLOTS, fan: FAN, pgTasks, pgWorkers: 4, pgWorkerSlots: 16, graphileWorker: graphileVersion(), graphileConcurrency: 16 },
      notes: [
        `Embedded cases: the engine runs in the benchmark process (scheduler + worker with ${SLOTS} slots); \`tributary\` runs tasks in ${SLOTS} child processes (what \`tributary up\` does), \`tributary (inline)\` in-process. ${embedded}.`,
        `PostgreSQL cases: a private PostgreSQL 15 cluster on loopback (${pgDur}). Tributary: 1 \`tributary scheduler\` + 4 \`tributary worker --mode inline --slots 16\` processes; graphile-worker ${graphileVersion()}: 4 processes with \`run({ concurrency: 16 })\`; work enqueued by the benchmark (runs triggered / jobs added in batches of 10 000) inside the timed span.`,
      ],
      async cleanup() {
        cluster?.stop();
        cluster = null;
      },
    };
  },
};

export default suite;
