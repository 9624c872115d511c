/**
 * Tasks that run SQL and build models through the warehouse's one gateway (`ctx.sql`,
 * `ctx.models`), against a real lake (Parquet files, SQLite manifest) and a real DuckDB gateway:
 * inline and in child processes (the child calls back to the host over IPC), audited as
 * via `task` with the DAG, task and run ids; bad SQL fails the task with its position in the log;
 * a process without a warehouse fails with WAREHOUSE_UNAVAILABLE.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Governance, type AuditEvent } from '../../src/govern/index.ts';
import type { Lake } from '../../src/lake/index.ts';
import { ModelRunner, type SqlGateway } from '../../src/warehouse/index.ts';
import { ProcessExecutor } from '../../src/flow/exec/process-pool.ts';
import { loadDagsDir } from '../../src/flow/loader/load-dags.ts';
import { systemClock } from '../../src/flow/engine/clock.ts';
import { bindParams, type WarehouseHandle } from '../../src/flow/engine/host-warehouse.ts';
import { defineDag, runDag, FlowError, type Dag } from '../../src/flow/index.ts';
import { freshGateway, staged } from '../warehouse/helpers/lake.ts';
import { testEngine } from './helpers/engine.ts';

interface Order {
  id: number;
  user_id: string;
  amount: number;
  status: string;
}

const ORDERS: Order[] = Array.from({ length: 60 }, (_, i) => ({
  id: i + 1,
  user_id: `u${(i * 7) % 5}`,
  amount: ((i * 37) % 90) + 10,
  status: ['paid', 'refunded', 'pending'][(i * 11) % 3]!,
}));

const selectOf = (rows: Order[]) =>
  `SELECT id::BIGINT AS id, user_id::VARCHAR AS user_id, amount::BIGINT AS amount, status::VARCHAR AS status FROM (VALUES ${rows
    .map((o) => `(${o.id}, '${o.user_id}', ${o.amount}, '${o.status}')`)
    .join(', ')}) t(id, user_id, amount, status)`;

function expectedByStatus(status: string) {
  const m = new Map<string, { n: number; total: number }>();
  for (const o of ORDERS.filter((o) => o.status === status)) {
    const e = m.get(o.user_id) ?? m.set(o.user_id, { n: 0, total: 0 }).get(o.user_id)!;
    e.n++;
    e.total += o.amount;
  }
  return [...m].sort((a, b) => a[0].localeCompare(b[0])).map(([user_id, e]) => ({ user_id, ...e }));
}

function expectedTotals() {
  const m = new Map<string, number>();
  for (const o of ORDERS.filter((o) => o.status === 'paid')) m.set(o.user_id, (m.get(o.user_id) ?? 0) + o.amount);
  return [...m].sort((a, b) => a[0].localeCompare(b[0])).map(([user_id, total]) => ({ user_id, total }));
}

let lake: Lake;
let gateway: SqlGateway;
let governance: Governance;
let runner: ModelRunner;
let warehouse: WarehouseHandle;
let fileDags: Map<string, Dag>;

before(async () => {
  const g = await freshGateway();
  lake = g.lake;
  gateway = g.gateway;
  governance = g.governance;
  await lake.append('raw.orders', [await staged(lake, selectOf(ORDERS))], { createTable: true });
  await gateway.views.idle();
  const modelsDir = path.join(g.dir, 'models');
  mkdirSync(path.join(modelsDir, 'marts'), { recursive: true });
  writeFileSync(
    path.join(modelsDir, 'marts', 'user_totals.sql'),
    "{{ config(materialized='table') }}\nselect user_id, sum(amount)::INTEGER as total\nfrom {{ source('raw', 'orders') }}\nwhere status = 'paid'\ngroup by user_id\n",
  );
  writeFileSync(path.join(modelsDir, 'marts', 'broken_mart.sql'), "{{ config(materialized='table') }}\nselect user_id,\n  nosuch_column\nfrom {{ source('raw', 'orders') }}\n");
  writeFileSync(path.join(modelsDir, 'marts', 'schema.yml'), 'models:\n  - name: user_totals\n    columns:\n      - name: user_id\n        tests: [unique, not_null]\n');
  writeFileSync(
    path.join(modelsDir, 'marts', 'user_totals_at_least.test.sql'),
    "{{ config(severity='error') }}\nselect * from {{ ref('user_totals') }} where total < {{ var('min_total', 0) }}\n",
  );
  runner = new ModelRunner({ gateway, lake, modelsDir, governance });
  warehouse = { gateway, runner };
  const loaded = await loadDagsDir(path.join(import.meta.dirname, 'fixtures', 'warehouse-dags'));
  assert.deepEqual(loaded.errors, []);
  fileDags = new Map(loaded.dags.map((d) => [d.id, d]));
});

after(async () => {
  await gateway?.close();
  await lake?.close();
});

const taskAudits = (since: number) => governance.recent(10_000).filter((e: AuditEvent) => e.time >= since && e.via === 'task');

describe('ctx.sql and ctx.models, inline', () => {
  it('a task queries a lake table with params; rows are plain objects; the read is audited as the task', async () => {
    const since = Date.now();
    const r = await runDag(fileDags.get('wh_query')!, { warehouse, params: { status: 'refunded' } });
    assert.equal(r.state, 'success', JSON.stringify(r.tasks));
    const out = r.tasks['by_status']!.output as { pid: number; rows: unknown[] };
    assert.equal(out.pid, process.pid);
    assert.deepEqual(out.rows, expectedByStatus('refunded'));
    assert.match(r.tasks['by_status']!.log, /sql: \d+ rows? in \d+ ms: SELECT user_id/);
    const reads = taskAudits(since).filter((e) => e.resource.type === 'table' && e.resource.name === 'raw.orders');
    assert.equal(reads.length, 1);
    assert.equal(reads[0]!.principal, 'Service:flow');
    assert.equal(reads[0]!.action, 'read');
    assert.deepEqual(reads[0]!.detail, { dagId: 'wh_query', taskId: 'by_status', runId: r.runId, mapIndex: -1, attempt: 1 });
  });

  it('a task builds a model into the curated zone, and the next task reads the mart', async () => {
    const since = Date.now();
    const before = (await lake.snapshot()).id;
    const r = await runDag(fileDags.get('wh_build')!, { warehouse });
    assert.equal(r.state, 'success', JSON.stringify(r.tasks));
    const built = r.tasks['build_marts']!.output as Array<{ model: string; status: string; rows: number; snapshot: number }>;
    assert.equal(built.length, 1);
    assert.equal(built[0]!.model, 'user_totals');
    assert.equal(built[0]!.status, 'success');
    assert.equal(built[0]!.rows, expectedTotals().length);
    assert.ok(built[0]!.snapshot > before, 'the build committed a new lake snapshot');
    assert.deepEqual(r.tasks['read_mart']!.output, expectedTotals());
    assert.match(r.tasks['build_marts']!.log, /model user_totals \(table curated\.user_totals\): success/);
    const exec = taskAudits(since).filter((e) => e.action === 'execute' && e.resource.type === 'model');
    assert.equal(exec.length, 1);
    assert.equal(exec[0]!.resource.name, 'user_totals');
    assert.equal(exec[0]!.detail?.['taskId'], 'build_marts');
  });

  it('bad SQL fails the task with the error code and the position (line, column) in its log', async () => {
    const r = await runDag(fileDags.get('wh_bad_sql')!, { warehouse });
    assert.equal(r.state, 'failed');
    const t = r.tasks['bad']!;
    assert.equal(t.state, 'failed');
    // `statuss` is on line 4, column 8 of the SQL the task wrote (after the $1 binding).
    assert.match(t.log, /statuss/);
    assert.match(t.log, /line 4, column 8/);
    assert.match(t.log, /\^/);
  });

  it('a failing model fails the task with MODELS_BUILD_FAILED (model, code, position) unless allowFailures; an unknown model names itself', async () => {
    const dag = defineDag({ id: 'wh_build_failing', schedule: null }, (d) => {
      d.task('strict', async (ctx) => ctx.models.build({ select: ['broken_mart'] }));
      d.task('allowed', async (ctx) => {
        const r = await ctx.models.build({ select: ['broken_mart'], allowFailures: true });
        return { ok: r.ok, status: r.results.map((m) => `${m.model}:${m.status}:${m.error?.code}`) };
      });
      d.task('unknown', async (ctx) => ctx.models.build({ select: ['no_such_model'] }));
    });
    const r = await runDag(dag, { warehouse, workerSlots: 1 });
    assert.equal(r.state, 'failed');
    assert.equal(r.tasks['strict']!.state, 'failed');
    assert.match(r.tasks['strict']!.error ?? '', /models build failed: broken_mart error — broken_mart: WAREHOUSE_SQL_INVALID: .*nosuch_column/s);
    assert.match(r.tasks['strict']!.log, /line 3, column 3/);
    assert.deepEqual(r.tasks['allowed']!.output, { ok: false, status: ['broken_mart:error:WAREHOUSE_SQL_INVALID'] });
    assert.equal(r.tasks['unknown']!.state, 'failed');
    assert.match(r.tasks['unknown']!.error ?? '', /no_such_model/);
  });

  it('a task runs the model tests: passing tests return results, an error-severity failure fails the task with MODELS_TEST_FAILED', async () => {
    const dag = defineDag({ id: 'wh_models_test', schedule: null }, (d) => {
      const build = d.task('build', async (ctx) => (await ctx.models.build({ select: ['user_totals'] })).ok);
      d.task('test_ok', { inputs: { build } }, async (ctx) => {
        const r = await ctx.models.test({ select: ['user_totals'], vars: { min_total: 0 } });
        return { ok: r.ok, results: r.results.map((t) => `${t.test}:${t.status}`).sort() };
      });
      d.task('test_fail', { inputs: { build } }, async (ctx) => ctx.models.test({ select: ['user_totals'], vars: { min_total: 1_000_000 } }));
      d.task('test_allowed', { inputs: { build } }, async (ctx) => {
        const r = await ctx.models.test({ select: ['user_totals'], vars: { min_total: 1_000_000 }, allowFailures: true });
        return { ok: r.ok, failures: r.results.filter((t) => t.status === 'fail').map((t) => t.failures) };
      });
    });
    const r = await runDag(dag, { warehouse, workerSlots: 1 });
    const okOut = r.tasks['test_ok']!.output as { ok: boolean; results: string[] };
    assert.equal(okOut.ok, true);
    assert.equal(okOut.results.length, 3);
    assert.ok(okOut.results.every((x) => x.endsWith(':pass')), okOut.results.join());
    assert.equal(r.tasks['test_fail']!.state, 'failed');
    assert.match(r.tasks['test_fail']!.error ?? '', /model tests failed: .*user_totals_at_least \(fail, \d+ rows\)/);
    assert.match(r.tasks['test_fail']!.log, /ERROR test user_totals_at_least: fail/);
    assert.deepEqual(r.tasks['test_allowed']!.output, { ok: false, failures: [expectedTotals().length] });
  });

  it('SQL_TOO_MANY_ROWS when a result exceeds maxRows; params bind to the SQL the task wrote', async () => {
    const dag = defineDag({ id: 'wh_limits', schedule: null }, (d) => {
      d.task('too_many', async (ctx) => ctx.sql('SELECT * FROM raw.orders', undefined, { maxRows: 10 }));
      d.task('named', async (ctx) =>
        ctx.sql("SELECT count(*)::INTEGER AS n, '$u' AS literal FROM raw.orders WHERE user_id = $u AND amount >= $min", { u: 'u1', min: 50 }),
      );
    });
    const r = await runDag(dag, { warehouse });
    assert.equal(r.tasks['too_many']!.state, 'failed');
    assert.match(r.tasks['too_many']!.error ?? '', /more than 10 rows/);
    assert.match(r.tasks['too_many']!.log, /SQL_TOO_MANY_ROWS|maxRows/);
    assert.equal(r.tasks['named']!.state, 'success');
    assert.deepEqual(r.tasks['named']!.output, [{ n: ORDERS.filter((o) => o.user_id === 'u1' && o.amount >= 50).length, literal: '$u' }]);
  });

  it("the task's timeout cancels its running query in the gateway", async () => {
    const dag = defineDag({ id: 'wh_timeout', schedule: null }, (d) => {
      d.task('slow', { timeoutMs: 1500 }, async (ctx) => ctx.sql('SELECT count(*) AS n FROM range(100000000000) t(x) WHERE x % 7 = 3'));
    });
    const r = await runDag(dag, { warehouse });
    assert.equal(r.tasks['slow']!.state, 'failed');
    // The query does not outlive its task (it would run for minutes).
    const deadline = Date.now() + 30_000;
    while (gateway.running().length > 0) {
      assert.ok(Date.now() < deadline, `still running: ${JSON.stringify(gateway.running())}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  });

  it('without a warehouse the task fails with WAREHOUSE_UNAVAILABLE saying what to do', async () => {
    const r = await runDag(fileDags.get('wh_query')!);
    assert.equal(r.state, 'failed');
    const t = r.tasks['by_status']!;
    assert.match(t.error ?? '', /warehouse is not running/);
    assert.match(t.log, /tributary up/);
    const rows = await gateway.all('SELECT 1 AS one');
    assert.deepEqual(rows, [{ one: 1 }], 'the gateway itself is fine: the task had no warehouse');
  });
});

describe('ctx.sql and ctx.models, in child processes', () => {
  const executors: ProcessExecutor[] = [];
  after(async () => {
    for (const e of executors) await e.close();
  });

  async function runToEnd(t: Awaited<ReturnType<typeof testEngine>>, dagId: string) {
    const run = await t.engine.trigger(dagId);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const r = await t.engine.getRun(dagId, run.runId);
      if (r.state === 'success' || r.state === 'failed') return r;
      if (Date.now() > deadline) throw new Error(`run of ${dagId} did not finish: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 25));
    }
  }

  it('query, model build and bad SQL work through the host over IPC, audited with the ids of the dispatched attempt', async () => {
    const ex = new ProcessExecutor({ size: 1 });
    executors.push(ex);
    const t = await testEngine([...fileDags.values()], { executor: ex, clock: systemClock as never, workerSlots: 1, governance, warehouse: () => warehouse });
    try {
      await t.engine.start();
      const since = Date.now();
      const q = await runToEnd(t, 'wh_query');
      assert.equal(q.state, 'success');
      const out = q.tasks.find((x) => x.taskId === 'by_status')!.output as { pid: number; rows: unknown[] };
      assert.ok(out.pid > 0 && out.pid !== process.pid, 'the task ran in a child process');
      assert.deepEqual(out.rows, expectedByStatus('paid'));
      const read = taskAudits(since).find((e) => e.resource.name === 'raw.orders' && e.detail?.['dagId'] === 'wh_query');
      assert.ok(read, 'the child query was audited');
      assert.equal(read.detail?.['runId'], q.runId);
      assert.equal(read.detail?.['taskId'], 'by_status');

      const b = await runToEnd(t, 'wh_build');
      assert.equal(b.state, 'success');
      assert.deepEqual(b.tasks.find((x) => x.taskId === 'read_mart')!.output, expectedTotals());

      const bad = await runToEnd(t, 'wh_bad_sql');
      assert.equal(bad.state, 'failed');
      const log = (await t.engine.readLogs('wh_bad_sql', bad.runId, 'bad')).lines.map((l) => l.text).join('');
      assert.match(log, /line 4, column 8/);
      assert.match(log, /statuss/);
    } finally {
      await t.close();
    }
  });

  it('a child task fails with WAREHOUSE_UNAVAILABLE when the warehouse is not running', async () => {
    const ex = new ProcessExecutor({ size: 1 });
    executors.push(ex);
    const t = await testEngine([fileDags.get('wh_query')!], { executor: ex, clock: systemClock as never, workerSlots: 1, warehouse: () => null });
    try {
      await t.engine.start();
      const r = await runToEnd(t, 'wh_query');
      assert.equal(r.state, 'failed');
      const task = r.tasks.find((x) => x.taskId === 'by_status')!;
      assert.match(JSON.stringify(task), /WAREHOUSE_UNAVAILABLE|warehouse is not running/);
    } finally {
      await t.close();
    }
  });
});

describe('bindParams', () => {
  it('binds $n, ? and $name outside strings, quoted names and comments', async () => {
    assert.equal((await bindParams('SELECT $1, $2', ['a', 2])).text, "SELECT 'a', 2");
    assert.equal((await bindParams("SELECT ?, '?', \"?\" -- ?\n, ?", [1, "it's"])).text, "SELECT 1, '?', \"?\" -- ?\n, 'it''s'");
    assert.equal((await bindParams('SELECT $a + $a, $b', { a: 1.5, b: null })).text, 'SELECT 1.5::DOUBLE + 1.5::DOUBLE, NULL');
    assert.equal((await bindParams('SELECT $1', [new Date('2026-01-02T03:04:05Z')])).text, "SELECT '2026-01-02T03:04:05.000Z'::TIMESTAMPTZ");
    assert.equal((await bindParams('SELECT $1', [[1, 'x', true]])).text, "SELECT [1, 'x', TRUE]");
    assert.equal((await bindParams('SELECT $$x$$, $1', [1])).text, 'SELECT $$x$$, 1');
    assert.equal((await bindParams('SELECT 1', undefined)).text, 'SELECT 1');
  });

  it('rejects params that do not match the placeholders, with SQL_PARAMS_INVALID and where', async () => {
    const code = (fn: () => Promise<unknown>, re: RegExp) =>
      assert.rejects(fn, (e: unknown) => e instanceof FlowError && e.code === 'SQL_PARAMS_INVALID' && re.test(e.message));
    await code(() => bindParams('SELECT $1,\n $2', ['a']), /\$2 at line 2, column 2 has no value/);
    await code(() => bindParams('SELECT $1', ['a', 'b']), /param 2 has no placeholder/);
    await code(() => bindParams('SELECT $1, ?', [1, 2]), /mixes placeholder styles/);
    await code(() => bindParams('SELECT $x', { y: 1 }), /\$x at line 1, column 8 has no value/);
    await code(() => bindParams('SELECT $x', { x: 1, y: 2 }), /\$y is not used/);
    await code(() => bindParams('SELECT $1', [{ a: 1 } as never]), /is an object/);
    await code(() => bindParams('SELECT $1', [Number.NaN]), /NaN/);
  });

  it('maps an error position after a bound param back into the SQL the task wrote', async () => {
    const bound = await bindParams("SELECT $1 AS a, nosuchcol FROM raw.orders", ['a much longer value than $1']);
    await assert.rejects(
      gateway.query(bound.text, { origin: { text: "SELECT $1 AS a, nosuchcol FROM raw.orders", map: bound.map } }),
      (e: { position?: { line: number; column: number } }) => e.position?.line === 1 && e.position.column === 17,
    );
  });
});
