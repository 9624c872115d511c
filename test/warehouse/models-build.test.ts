/**
 * Building and testing models against a real lake (Parquet files, SQLite manifest) through the
 * gateway: every materialization (view, table, incremental append / delete+insert / merge),
 * every test kind with severities and failing-row samples, tables committed to the lake's
 * curated zone where another engine reads them, and bad models (bad SQL, missing ref, cycle,
 * missing source) failing with clear errors while the last good build stays.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { Governance } from '../../src/govern/index.ts';
import type { Lake } from '../../src/lake/index.ts';
import { ModelRunner, WarehouseError, type SqlGateway } from '../../src/warehouse/index.ts';
import { tempDirUntilExit } from '../helpers/temp-dir.ts';
import { freshGateway, staged } from './helpers/lake.ts';

interface Ev {
  id: number;
  user_id: string;
  amount: number;
  day: string;
  status: string;
}

/** Deterministic events: ids from..to, users and days spread over the given ranges. */
function events(from: number, to: number, users: [number, number], days: string[]): Ev[] {
  const out: Ev[] = [];
  let x = from * 7919;
  const next = () => (x = (x * 1103515245 + 12345) % 2147483648);
  const statuses = ['paid', 'refunded', 'pending'];
  for (let id = from; id <= to; id++) {
    out.push({
      id,
      user_id: `u${users[0] + (next() % (users[1] - users[0] + 1))}`,
      amount: (next() % 101) - 5,
      day: days[next() % days.length]!,
      status: statuses[next() % 3]!,
    });
  }
  return out;
}

const selectOf = (evs: Ev[]) =>
  `SELECT id::BIGINT AS id, user_id::VARCHAR AS user_id, amount::BIGINT AS amount, day::DATE AS day, status::VARCHAR AS status FROM (VALUES ${evs
    .map((e) => `(${e.id}, '${e.user_id}', ${e.amount}, '${e.day}', '${e.status}')`)
    .join(', ')}) t(id, user_id, amount, day, status)`;

function writeModels(dir: string, files: Record<string, string>): void {
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), text);
  }
}

const sortBy = <T>(rows: T[], key: (r: T) => string | number) => [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

function expectedDaily(evs: Ev[]) {
  const m = new Map<string, { n: number; total: number; users: Set<string> }>();
  for (const e of evs.filter((e) => e.amount >= 0)) {
    const d = m.get(e.day) ?? m.set(e.day, { n: 0, total: 0, users: new Set() }).get(e.day)!;
    d.n++;
    d.total += e.amount;
    d.users.add(e.user_id);
  }
  return sortBy([...m], (x) => x[0]).map(([day, d]) => ({ day, n: d.n, total: d.total, users: d.users.size }));
}

function expectedLatest(evs: Ev[]) {
  const m = new Map<string, Ev>();
  for (const e of evs.filter((e) => e.amount >= 0)) if (!m.has(e.user_id) || m.get(e.user_id)!.id < e.id) m.set(e.user_id, e);
  return sortBy([...m.values()], (e) => e.user_id).map((e) => ({ user_id: e.user_id, last_id: e.id, last_status: e.status, last_amount: e.amount }));
}

const MODELS = {
  'staging/stg_events.sql': `-- only sane amounts
{{ config(materialized='view') }}
select id, user_id, amount, day, status
from {{ source('raw', 'events') }}
where amount >= 0
`,
  'marts/daily_totals.sql': `{{ config(materialized='table') }}
select strftime(day, '%Y-%m-%d') as day, count(*) as n, sum(amount) as total, count(distinct user_id) as users
from {{ ref('stg_events') }}
group by all
`,
  'marts/best_day.sql': `select day, total from {{ ref('daily_totals') }} order by total desc, day limit 1
`,
  'marts/events_log.sql': `{{ config(materialized='incremental') }}
select id, user_id, amount from {{ ref('stg_events') }}
{% if is_incremental() %}
where id > (select max(id) from {{ this }})
{% endif %}
`,
  'marts/day_stats.sql': `{{ config(materialized='incremental', incremental_strategy='delete+insert', partition_by='day_key') }}
select strftime(day, '%Y-%m-%d') as day_key, count(*) as n, sum(amount) as total, count(distinct user_id) as users
from {{ ref('stg_events') }}
{% if is_incremental() %}
where strftime(day, '%Y-%m-%d') >= (select max(day_key) from {{ this }})
{% endif %}
group by all
`,
  'marts/user_latest.sql': `{{ config(materialized='incremental', incremental_strategy='merge', unique_key='user_id') }}
select user_id, max(id) as last_id, arg_max(status, id) as last_status, arg_max(amount, id) as last_amount
from {{ ref('stg_events') }}
{% if is_incremental() %}
where id > (select max(last_id) from {{ this }})
{% endif %}
group by user_id
`,
};

describe('materializations', () => {
  let lake: Lake;
  let gateway: SqlGateway;
  let runner: ModelRunner;
  let dir: string;
  const batch1 = events(1, 200, [0, 19], ['2024-05-01', '2024-05-02', '2024-05-03', '2024-05-04', '2024-05-05']);
  const batch2 = events(201, 300, [10, 29], ['2024-05-05', '2024-05-06', '2024-05-07']);
  before(async () => {
    ({ lake, gateway } = await freshGateway());
    dir = path.join(await tempDirUntilExit('tributary-models-'), 'models');
    writeModels(dir, MODELS);
    runner = new ModelRunner({ gateway, lake, modelsDir: dir, governance: new Governance() });
    await lake.append('raw.events', [await staged(lake, selectOf(batch1))], { createTable: true });
    await gateway.views.idle();
  });
  after(async () => {
    await gateway.close();
    await lake.close();
  });

  const daily = () => gateway.all('SELECT day, n, total, users FROM curated.daily_totals ORDER BY day');
  const dayStats = () => gateway.all('SELECT day_key AS day, n, total, users FROM curated.day_stats ORDER BY day_key');
  const latest = () => gateway.all('SELECT user_id, last_id, last_status, last_amount FROM curated.user_latest ORDER BY user_id');
  const log = () => gateway.all('SELECT id, user_id, amount FROM curated.events_log ORDER BY id');
  const expectedLog = (evs: Ev[]) => evs.filter((e) => e.amount >= 0).map((e) => ({ id: e.id, user_id: e.user_id, amount: e.amount }));

  test('the first build: views in the warehouse, tables in the lake, in dependency order', async () => {
    const events: string[] = [];
    const built = await runner.build({ onEvent: (e) => events.push(e.type === 'start' ? `start ${e.model}` : `done ${e.result.model}`) });
    assert.equal(built.ok, true, JSON.stringify(built.results.filter((r) => r.status !== 'success')));
    const order = built.results.map((r) => r.model);
    assert.ok(order.indexOf('stg_events') < order.indexOf('daily_totals') && order.indexOf('daily_totals') < order.indexOf('best_day'), order.join(' '));
    assert.equal(events.length, 2 * order.length);
    assert.deepEqual(
      sortBy(built.results, (r) => r.model).map((r) => [r.model, r.materialized, r.strategy]),
      [
        ['best_day', 'table', null],
        ['daily_totals', 'table', null],
        ['day_stats', 'incremental', 'delete+insert'],
        ['events_log', 'incremental', 'append'],
        ['stg_events', 'view', null],
        ['user_latest', 'incremental', 'merge'],
      ],
    );
    // The view is not a lake table; every other model is, each committed with its own snapshot.
    const tables = (await lake.tables({ zone: 'curated' })).map((t) => t.fullName).sort();
    assert.deepEqual(tables, ['curated.best_day', 'curated.daily_totals', 'curated.day_stats', 'curated.events_log', 'curated.user_latest']);
    const snaps = built.results.filter((r) => r.materialized !== 'view').map((r) => r.snapshot);
    assert.equal(new Set(snaps).size, snaps.length);

    assert.deepEqual(await daily(), expectedDaily(batch1));
    assert.deepEqual(await dayStats(), expectedDaily(batch1));
    assert.deepEqual(await latest(), expectedLatest(batch1));
    assert.deepEqual(await log(), expectedLog(batch1));
    const best = sortBy(expectedDaily(batch1), (d) => -d.total)[0]!;
    assert.deepEqual(await gateway.all('SELECT * FROM curated.best_day'), [{ day: best.day, total: best.total }]);
    assert.equal((await gateway.all('SELECT count(*) AS n FROM curated.stg_events'))[0]!['n'], batch1.filter((e) => e.amount >= 0).length);
  });

  test('another engine reads the built tables from the lake files (Hive partitions included)', async () => {
    const files = await lake.files('curated.day_stats');
    assert.deepEqual([...new Set(files.map((f) => f.partition['day_key']))].sort(), expectedDaily(batch1).map((d) => d.day));
    const paths = files.map((f) => `'${path.join(lake.root, f.key)}'`);
    assert.ok(files.every((f) => f.key.startsWith('curated/day_stats/day_key=')), files.map((f) => f.key).join(' '));
    const other = await DuckDBInstance.create(':memory:');
    const c = await other.connect();
    try {
      const r = await c.runAndReadAll(`SELECT day_key AS day, n::BIGINT AS n, total::BIGINT AS total, users::BIGINT AS users FROM read_parquet([${paths.join(', ')}], hive_partitioning = true) ORDER BY day_key`);
      assert.deepEqual(r.getRowObjectsJson().map((x) => ({ ...x, n: Number(x['n']), total: Number(x['total']), users: Number(x['users']) })), expectedDaily(batch1));
    } finally {
      c.closeSync();
      other.closeSync();
    }
  });

  test('incremental runs: append adds only new rows, delete+insert replaces touched partitions, merge replaces by key', async () => {
    const dayFiles = new Map((await lake.files('curated.day_stats')).map((f) => [f.key, f.partition['day_key']]));
    await lake.append('raw.events', [await staged(lake, selectOf(batch2))]);
    await gateway.views.idle();
    const all = [...batch1, ...batch2];
    // A view needs no build.
    assert.equal((await gateway.all('SELECT count(*) AS n FROM curated.stg_events'))[0]!['n'], all.filter((e) => e.amount >= 0).length);

    const built = await runner.build({ select: ['events_log', 'day_stats', 'user_latest'] });
    assert.equal(built.ok, true, JSON.stringify(built.results));
    const rows = Object.fromEntries(built.results.map((r) => [r.model, r.rows]));
    assert.equal(rows['events_log'], batch2.filter((e) => e.amount >= 0).length, 'append: only the new rows were produced');
    assert.equal(rows['day_stats'], 3, 'delete+insert: the newest existing day and the two new ones');
    assert.equal(rows['user_latest'], expectedLatest(batch2).length);

    assert.deepEqual(await log(), expectedLog(all));
    assert.deepEqual(await dayStats(), expectedDaily(all));
    assert.deepEqual(await latest(), expectedLatest(all));
    const after = await lake.files('curated.day_stats');
    const kept = [...new Set(after.filter((f) => dayFiles.has(f.key)).map((f) => f.partition['day_key']))].sort();
    assert.deepEqual(kept, ['2024-05-01', '2024-05-02', '2024-05-03', '2024-05-04'], 'partitions the run did not touch keep their files');
    // Not rebuilt: the plain table still shows the first batch.
    assert.deepEqual(await daily(), expectedDaily(batch1));

    // An incremental run with nothing new commits nothing.
    const before = (await lake.snapshot()).id;
    const idle = await runner.build({ select: ['events_log', 'user_latest'] });
    assert.deepEqual(idle.results.map((r) => [r.status, r.rows, r.snapshot]), [['success', 0, null], ['success', 0, null]]);
    assert.equal((await lake.snapshot()).id, before);
  });

  test('--select with +upstream, and --full-refresh rebuilds incremental models from scratch', async () => {
    const all = [...batch1, ...batch2];
    const up = await runner.build({ select: ['+best_day'] });
    assert.deepEqual(up.results.map((r) => r.model), ['stg_events', 'daily_totals', 'best_day']);
    assert.deepEqual(await daily(), expectedDaily(all));
    const full = await runner.build({ select: ['events_log', 'user_latest'], fullRefresh: true });
    assert.deepEqual(full.results.map((r) => [r.model, r.rows]), [['events_log', all.filter((e) => e.amount >= 0).length], ['user_latest', expectedLatest(all).length]]);
    assert.deepEqual(await log(), expectedLog(all));
    assert.deepEqual(await latest(), expectedLatest(all));
    await assert.rejects(runner.build({ select: ['nothing_like_this'] }), (e: unknown) => e instanceof WarehouseError && e.code === 'WAREHOUSE_MODEL_UNKNOWN');
  });

  test('a model that fails leaves its last good table and snapshot; its descendants are skipped', async () => {
    const good = await daily();
    const tableSnapshot = (await lake.files('curated.daily_totals')).map((f) => f.snapshotId);
    writeModels(dir, { 'marts/daily_totals.sql': `{{ config(materialized='table') }}\nselect day, count(*) as n,\n  sum(amont) as total\nfrom {{ ref('stg_events') }}\ngroup by all\n` });
    try {
      const r = await runner.build({ select: ['daily_totals+'] });
      assert.equal(r.ok, false);
      assert.deepEqual(r.results.map((x) => [x.model, x.status, x.skippedBecause]), [['daily_totals', 'error', undefined], ['best_day', 'skipped', 'daily_totals']]);
      const err = r.results[0]!.error!;
      assert.equal(err.code, 'WAREHOUSE_SQL_INVALID');
      assert.match(err.message, /amont/);
      assert.deepEqual(err.position && { line: err.position.line, column: err.position.column, file: err.position.file }, { line: 3, column: 7, file: 'models/marts/daily_totals.sql' });
      assert.deepEqual(await daily(), good);
      assert.deepEqual((await lake.files('curated.daily_totals')).map((f) => f.snapshotId), tableSnapshot);
    } finally {
      writeModels(dir, { 'marts/daily_totals.sql': MODELS['marts/daily_totals.sql'] });
    }
  });

  test('one build at a time', async () => {
    const first = runner.build({ select: ['daily_totals'] });
    await assert.rejects(runner.build(), (e: unknown) => e instanceof WarehouseError && e.code === 'WAREHOUSE_BUSY');
    assert.equal((await first).ok, true);
  });
});

describe('model tests', () => {
  let lake: Lake;
  let gateway: SqlGateway;
  let runner: ModelRunner;
  before(async () => {
    ({ lake, gateway } = await freshGateway());
    const dir = path.join(await tempDirUntilExit('tributary-models-'), 'models');
    writeModels(dir, {
      'people.sql': `select * from {{ source('raw', 'people') }}\n`,
      'schema.yml': `
models:
  - name: people
    columns:
      - name: id
        tests: [unique, not_null]
      - name: email
        tests:
          - unique
          - not_null: { config: { severity: warn } }
      - name: country
        tests:
          - accepted_values: { values: [KR, US, JP] }
      - name: manager_id
        tests:
          - relationships: { to: "ref('people')", field: id }
      - name: team
        tests:
          - accepted_values: { values: [a, b], severity: warn }
    tests:
      - expression_is_true: { expression: "id > 0" }
`,
      'no_self_manager.test.sql': `-- nobody manages themselves\nselect id, manager_id from {{ ref('people') }} where manager_id = id\n`,
      'people_sane.test.sql': `{{ config(severity='warn') }}\nselect * from {{ ref('people') }} where id > 1000\n`,
    });
    runner = new ModelRunner({ gateway, lake, modelsDir: dir, governance: new Governance() });
    const people = [
      [1, 'a@x', 'KR', null, 'a'],
      [2, 'b@x', 'US', 1, 'a'],
      [3, 'b@x', 'JP', 1, 'b'],
      [4, null, 'KR', 999, 'a'],
      [5, null, 'XX', 2, 'a'],
      [6, 'f@x', 'US', 6, 'c'],
    ];
    const values = people.map((p) => `(${p.map((v) => (v === null ? 'NULL' : typeof v === 'number' ? v : `'${v}'`)).join(', ')})`).join(', ');
    await lake.append('raw.people', [await staged(lake, `SELECT id::BIGINT AS id, email::VARCHAR AS email, country::VARCHAR AS country, manager_id::BIGINT AS manager_id, team::VARCHAR AS team FROM (VALUES ${values}) t(id, email, country, manager_id, team)`)], { createTable: true });
    await gateway.views.idle();
    assert.equal((await runner.build()).ok, true);
  });
  after(async () => {
    await gateway.close();
    await lake.close();
  });

  test('every kind runs; failures carry counts and samples; severity decides fail or warn', async () => {
    const seen: string[] = [];
    const r = await runner.test({ onResult: (t) => seen.push(t.test) });
    const by = Object.fromEntries(r.results.map((t) => [t.test, t]));
    assert.deepEqual(seen, r.results.map((t) => t.test));
    assert.deepEqual(
      sortBy(r.results, (t) => t.test).map((t) => [t.test, t.kind, t.severity, t.status, t.failures]),
      [
        ['accepted_values_people_country', 'accepted_values', 'error', 'fail', 1],
        ['accepted_values_people_team', 'accepted_values', 'warn', 'warn', 1],
        ['expression_is_true_people_1', 'expression_is_true', 'error', 'pass', 0],
        ['no_self_manager', 'sql', 'error', 'fail', 1],
        ['not_null_people_email', 'not_null', 'warn', 'warn', 2],
        ['not_null_people_id', 'not_null', 'error', 'pass', 0],
        ['people_sane', 'sql', 'warn', 'pass', 0],
        ['relationships_people_manager_id', 'relationships', 'error', 'fail', 1],
        ['unique_people_email', 'unique', 'error', 'fail', 1],
        ['unique_people_id', 'unique', 'error', 'pass', 0],
      ],
    );
    assert.equal(r.ok, false);
    assert.deepEqual(by['unique_people_email']!.samples, [{ email: 'b@x', n_records: 2 }]);
    assert.deepEqual(by['no_self_manager']!.samples, [{ id: 6, manager_id: 6 }]);
    assert.deepEqual(by['not_null_people_email']!.samples.map((s) => s['id']).sort(), [4, 5]);
    assert.ok(JSON.stringify(by['relationships_people_manager_id']!.samples).includes('999'));
    assert.ok(JSON.stringify(by['accepted_values_people_country']!.samples).includes('XX'));
    assert.equal(by['unique_people_id']!.samples.length, 0);
  });

  test('only warnings left: the run is ok', async () => {
    await lake.overwrite('curated.people', [await staged(lake, `SELECT id::BIGINT AS id, 'e' || id AS email, 'KR' AS country, NULL::BIGINT AS manager_id, CASE WHEN id = 3 THEN 'z' ELSE 'a' END AS team FROM range(1, 5) r(id)`)]);
    await gateway.views.idle();
    const r = await runner.test({ select: ['people'] });
    assert.deepEqual(r.results.filter((t) => t.status !== 'pass').map((t) => [t.test, t.status]), [['accepted_values_people_team', 'warn']]);
    assert.equal(r.ok, true);
  });
});

describe('bad models', () => {
  let lake: Lake;
  let gateway: SqlGateway;
  let root: string;
  before(async () => {
    ({ lake, gateway } = await freshGateway());
    root = await tempDirUntilExit('tributary-models-bad-');
    await lake.append('raw.t', [await staged(lake, 'SELECT 1::BIGINT AS id')], { createTable: true });
    await gateway.views.idle();
  });
  after(async () => {
    await gateway.close();
    await lake.close();
  });
  const project = (name: string, files: Record<string, string>) => {
    const dir = path.join(root, name, 'models');
    rmSync(dir, { recursive: true, force: true });
    writeModels(dir, files);
    return new ModelRunner({ gateway, lake, modelsDir: dir, governance: new Governance() });
  };
  const rejectsCode = (p: Promise<unknown>, code: string, text: RegExp) =>
    assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof WarehouseError, String(e));
      assert.equal(e.code, code, e.message);
      assert.match(e.message, text);
      return true;
    });

  test('a ref to a missing model fails the whole build before anything runs, naming the file', async () => {
    const r = project('missing', { 'a.sql': 'select * from {{ source("raw", "t") }}\n', 'b.sql': "select *\nfrom {{ ref('nope') }}\n" });
    const before = (await lake.snapshot()).id;
    await rejectsCode(r.build(), 'WAREHOUSE_MODEL_UNKNOWN', /models\/b\.sql:2:.*nope/);
    assert.equal((await lake.snapshot()).id, before);
    await rejectsCode(r.test(), 'WAREHOUSE_MODEL_UNKNOWN', /nope/);
  });

  test('a cycle of models is an error naming the models in it', async () => {
    const r = project('cycle', { 'a.sql': "select * from {{ ref('c') }}\n", 'b.sql': "select * from {{ ref('a') }}\n", 'c.sql': "select * from {{ ref('b') }}\n", 'd.sql': 'select 1 as x\n' });
    await rejectsCode(r.build(), 'WAREHOUSE_MODEL_CYCLE', /a.*b.*c|cycle/);
    assert.deepEqual(await lake.tables({ zone: 'curated' }), []);
  });

  test('bad SQL fails that model with its position in the model file; the others build', async () => {
    const r = project('syntax', { 'good.sql': 'select id from {{ source("raw", "t") }}\n', 'bad.sql': '-- oops\nselect id,\n  from from {{ source("raw", "t") }}\n', 'after_bad.sql': "select * from {{ ref('bad') }}\n", 'nosrc.sql': "select * from {{ source('raw', 'missing') }}\n" });
    const b = await r.build();
    const by = Object.fromEntries(b.results.map((x) => [x.model, x]));
    assert.equal(b.ok, false);
    assert.equal(by['good']!.status, 'success');
    assert.equal(by['bad']!.status, 'error');
    assert.equal(by['bad']!.error!.code, 'WAREHOUSE_SQL_SYNTAX');
    assert.equal(by['bad']!.error!.position?.line, 3);
    assert.equal(by['bad']!.error!.position?.file, 'models/bad.sql');
    assert.match(by['bad']!.error!.message, /syntax error/);
    assert.equal(by['after_bad']!.status, 'skipped');
    assert.equal(by['nosrc']!.status, 'error');
    assert.equal(by['nosrc']!.error!.code, 'WAREHOUSE_SOURCE_UNKNOWN');
    assert.match(by['nosrc']!.error!.message, /models\/nosrc\.sql:1:\d+: source\('raw', 'missing'\) is not a lake table/);
    assert.deepEqual((await lake.tables({ zone: 'curated' })).map((t) => t.fullName), ['curated.good']);
  });
});
