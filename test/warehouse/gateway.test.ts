/**
 * The SQL gateway over real lake tables (real Parquet files, the SQLite manifest, DuckDB):
 * views that follow commits, time travel, positioned errors, read-only enforcement,
 * governance, cancellation, streaming and Arrow.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tableFromIPC } from 'apache-arrow';
import { AccessDeniedError, Governance } from '../../src/govern/index.ts';
import type { Lake } from '../../src/lake/index.ts';
import { ArrowEncoder, SqlGateway, WarehouseError } from '../../src/warehouse/index.ts';
import { freshGateway, freshLake, staged } from './helpers/lake.ts';

async function rejects(p: Promise<unknown>, code: string, text?: RegExp): Promise<WarehouseError> {
  let caught: WarehouseError | undefined;
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof WarehouseError, `expected a WarehouseError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (text) assert.match(err.message, text);
    caught = err;
    return true;
  });
  return caught!;
}

const rows = (from: number, n: number) => `SELECT (${from} + range)::BIGINT AS id, 'v' || (${from} + range) AS v, TIMESTAMPTZ '2024-05-01 00:00:00+00' + range * INTERVAL 1 minute AS ts FROM range(${n})`;

describe('gateway over lake tables', () => {
  let lake: Lake;
  let gateway: SqlGateway;
  let governance: Governance;
  let first: number;
  let firstTime: number;
  before(async () => {
    ({ lake, gateway, governance } = await freshGateway());
    const a = await lake.append('raw.orders', [await staged(lake, rows(0, 100))], { createTable: true });
    first = a.snapshot.id;
    firstTime = a.snapshot.time;
    await new Promise((r) => setTimeout(r, 5));
    await lake.append('raw.orders', [await staged(lake, rows(100, 50))]);
    await gateway.views.idle();
  });
  after(async () => {
    await gateway.close();
    await lake.close();
  });

  test('a lake table is zone.table at its current snapshot, and follows new commits', async () => {
    assert.deepEqual(await gateway.all('SELECT count(*) AS n, max(id) AS top FROM raw.orders'), [{ n: 150, top: 149 }]);
    await lake.append('raw.orders', [await staged(lake, rows(150, 10))]);
    await gateway.views.idle();
    assert.deepEqual(await gateway.all('SELECT count(*) AS n FROM raw.orders'), [{ n: 160 }]);
    await lake.createTable('clean.empty', { columns: [{ name: 'x', type: 'int32' }] });
    await gateway.views.idle();
    assert.deepEqual(await gateway.all('SELECT count(*) AS n FROM clean.empty'), [{ n: 0 }]);
    await lake.dropTable('clean.empty');
    await gateway.views.idle();
    await rejects(gateway.all('SELECT * FROM clean.empty'), 'WAREHOUSE_SQL_INVALID', /does not exist/);
  });

  test('time travel: AT (VERSION => n), AT (TIMESTAMP => t) and a whole query asOf', async () => {
    const q = `SELECT (SELECT count(*) FROM raw.orders AT (VERSION => ${first}) o WHERE o.id >= 0) AS then_, (SELECT count(*) FROM raw.orders) AS now_`;
    const [r] = await gateway.all(q);
    assert.equal(r!['then_'], 100);
    assert.ok(Number(r!['now_']) >= 150);
    const iso = new Date(firstTime).toISOString();
    assert.deepEqual(await gateway.all(`SELECT count(*) AS n FROM raw.orders AT (TIMESTAMP => '${iso}')`), [{ n: 100 }]);
    assert.deepEqual(await gateway.all('SELECT count(*) AS n, max(orders.id) AS top FROM raw.orders', { asOf: { snapshot: first } }), [{ n: 100, top: 99 }]);
    assert.deepEqual(await gateway.all('SELECT count(*) AS n FROM raw.orders', { asOf: { time: firstTime } }), [{ n: 100 }]);
    const err = await rejects(gateway.all('SELECT *\nFROM raw.orders AT (VERSION => 9999)'), 'WAREHOUSE_AS_OF_INVALID', /snapshot 9999/);
    assert.deepEqual(err.position, { line: 2, column: 6, offset: 14 });
    await rejects(gateway.all('SELECT * FROM raw.orders AT (VERSION => 0)'), 'WAREHOUSE_SQL_INVALID', /raw\.orders does not exist at snapshot 0/);
  });

  test('errors point at the position in the SQL the caller wrote', async () => {
    let e = await rejects(gateway.all('SELECT id,\n  nope FROM raw.orders'), 'WAREHOUSE_SQL_INVALID', /Referenced column "nope" not found/);
    assert.deepEqual(e.position, { line: 2, column: 3, offset: 13 });
    assert.match(e.message, /at line 2, column 3:\n {4}2 \| {3}nope FROM raw\.orders\n {4} {2}\| {3}\^/);
    e = await rejects(gateway.all('SELECT * FORM raw.orders'), 'WAREHOUSE_SQL_SYNTAX', /syntax error at or near "raw"/);
    assert.deepEqual(e.position, { line: 1, column: 15, offset: 14 });
    // Through the time-travel rewrite: the rewritten text is longer, the position is still the user's.
    e = await rejects(gateway.all(`SELECT o.id\nFROM raw.orders AT (VERSION => ${first}) o\nWHERE o.nope = 1`), 'WAREHOUSE_SQL_INVALID', /nope/);
    assert.equal(e.position?.line, 3);
    assert.equal(e.position?.column, 7);
    e = await rejects(gateway.all('SELECT * FROM raw.nothere'), 'WAREHOUSE_SQL_INVALID', /nothere does not exist/);
    assert.equal(e.position?.column, 15);
    assert.match(e.message, /Did you mean "orders"/);
    // A zone without a close match: no suggestion of DuckDB's internal catalogs, a pointer to the lake's tables.
    e = await rejects(gateway.all('SELECT * FROM clean.nothing_here'), 'WAREHOUSE_SQL_INVALID', /nothing_here does not exist/);
    assert.doesNotMatch(e.message, /information_schema|pg_catalog/);
    assert.match(e.message, /tributary lake tables/);
    await rejects(gateway.all("SELECT 'x'::INTEGER"), 'WAREHOUSE_SQL_INVALID', /Could not convert string 'x'/);
    await rejects(gateway.all('   '), 'WAREHOUSE_SQL_SYNTAX', /empty/);
  });

  test('only one read-only statement runs from users; files outside the lake are off limits', async () => {
    await rejects(gateway.all('CREATE TABLE t AS SELECT 1'), 'WAREHOUSE_STATEMENT_NOT_ALLOWED', /only queries/);
    await rejects(gateway.all('DROP VIEW raw.orders'), 'WAREHOUSE_STATEMENT_NOT_ALLOWED');
    await rejects(gateway.all('SELECT 1; SELECT 2'), 'WAREHOUSE_STATEMENT_NOT_ALLOWED', /2 statements/);
    await rejects(gateway.all("SELECT * FROM read_csv('/etc/passwd')"), 'WAREHOUSE_STATEMENT_NOT_ALLOWED', /disabled by configuration/);
    assert.deepEqual(await gateway.all('DESCRIBE raw.orders').then((r) => r.map((c) => c['column_name'])), ['id', 'v', 'ts']);
    assert.equal((await gateway.all('EXPLAIN SELECT count(*) FROM raw.orders')).length, 1);
    assert.deepEqual(await gateway.all('SELECT count(*) AS n FROM raw.orders'), [{ n: 160 }]);
  });

  test('every lake table a query names is authorized and audited for its principal', async () => {
    const before = governance.recent(1000).length;
    await gateway.all('SELECT count(*) FROM raw.orders a JOIN raw.orders b USING (id)', { principal: { name: 'User:ann' } });
    const events = governance.recent(1000).slice(before);
    assert.deepEqual(events.map((e) => [e.principal, e.action, e.resource.type, e.resource.name, e.via, e.allowed]), [['User:ann', 'read', 'table', 'raw.orders', 'sql', true]]);
  });

  test('results stream: a large result arrives in batches as the consumer pulls', async () => {
    const total = 1_000_000;
    const cursor = await gateway.query(`SELECT range AS n, range % 7 AS k FROM range(${total})`);
    assert.deepEqual(cursor.columns, [{ name: 'n', type: 'BIGINT' }, { name: 'k', type: 'BIGINT' }]);
    let batches = 0;
    let seen = 0;
    let sum = 0;
    let fetchedAfterFirst = 0;
    for await (const batch of cursor.batches()) {
      if (batches === 0) fetchedAfterFirst = cursor.rows;
      batches++;
      seen += batch.length;
      for (const r of batch) sum += r[1] as number;
    }
    assert.equal(seen, total);
    assert.ok(batches > 100, `${batches} batches`);
    assert.ok(fetchedAfterFirst < total / 10, `the first batch came before the rest was fetched (${fetchedAfterFirst} rows fetched)`);
    let expected = 0;
    for (let i = 0; i < total; i++) expected += i % 7;
    assert.equal(sum, expected);
    assert.equal(gateway.running().length, 0);
  });

  test('a running query is cancelled with cancel(id) or its AbortSignal', async () => {
    const slow = 'SELECT sum(range) FROM range(100000000000)';
    const p = gateway.query(slow, { id: 'slow-1' });
    while (!gateway.running().some((q) => q.id === 'slow-1')) await new Promise((r) => setImmediate(r));
    assert.equal(gateway.running()[0]!.sql, slow);
    assert.equal(gateway.cancel('slow-1'), true);
    await rejects(p.then((c) => c.all()), 'WAREHOUSE_QUERY_CANCELLED');
    assert.equal(gateway.cancel('slow-1'), false);

    const ac = new AbortController();
    const q = gateway.query(slow, { signal: ac.signal });
    while (gateway.running().length === 0) await new Promise((r) => setImmediate(r));
    ac.abort();
    await rejects(q.then((c) => c.all()), 'WAREHOUSE_QUERY_CANCELLED');
    assert.equal(gateway.running().length, 0);
    // The gateway is fine afterwards.
    assert.deepEqual(await gateway.all('SELECT 1 AS one'), [{ one: 1 }]);
  });

  test('JSON values: exact integers and decimals, parsed JSON, timestamps as text', async () => {
    const [r] = await gateway.all(
      `SELECT 9007199254740993::BIGINT AS big, 42::HUGEINT AS h, 12.50::DECIMAL(10,2) AS d, 0.1::DECIMAL(38,20) + 0.2::DECIMAL(38,20) AS d2, '{"a":[1,2]}'::JSON AS j, TIMESTAMPTZ '2024-05-01 07:00:00+00' AS t, DATE '2024-05-01' AS dt, [1, 2] AS l`,
    );
    assert.deepEqual(r, { big: '9007199254740993', h: 42, d: 12.5, d2: 0.3, j: { a: [1, 2] }, t: '2024-05-01 07:00:00+00', dt: '2024-05-01', l: [1, 2] });
  });

  test('Arrow IPC: chunks encode to a stream Arrow reads back with types and nulls', async () => {
    const cursor = await gateway.query(`SELECT id, v, ts, CASE WHEN id % 10 = 0 THEN NULL ELSE id * 1.5 END AS x, id % 2 = 0 AS even, DATE '2024-05-01' + id::INTEGER AS day FROM raw.orders ORDER BY id`);
    const enc = new ArrowEncoder(cursor.columns.map((c) => c.name), cursor.types);
    const parts: Uint8Array[] = [];
    for await (const chunk of cursor.chunks()) parts.push(enc.write(chunk));
    parts.push(enc.finish());
    const table = tableFromIPC(Buffer.concat(parts));
    assert.equal(table.numRows, 160);
    assert.deepEqual(table.schema.fields.map((f) => [f.name, String(f.type)]), [
      ['id', 'Int64'],
      ['v', 'Utf8'],
      ['ts', 'Timestamp<MICROSECOND, UTC>'],
      ['x', 'Utf8'],
      ['even', 'Bool'],
      ['day', 'Date32<DAY>'],
    ]);
    const row = table.get(11)!.toJSON() as Record<string, unknown>;
    assert.equal(row['id'], 11n);
    assert.equal(row['v'], 'v11');
    assert.equal(Number(table.getChild('ts')!.get(11)), Date.UTC(2024, 4, 1, 0, 11));
    assert.equal(row['x'], '16.5');
    assert.equal(table.getChild('x')!.get(10), null);
    assert.equal(row['even'], false);
    // An empty result is a valid stream with the schema.
    const empty = await gateway.query('SELECT id FROM raw.orders WHERE false');
    const e2 = new ArrowEncoder(['id'], empty.types);
    for await (const _ of empty.chunks()) assert.fail('no chunks expected');
    assert.equal(tableFromIPC(e2.finish()).numRows, 0);
  });
});

describe('gateway governance and its database file', () => {
  test('a principal without a grant on a table gets ACCESS_DENIED, and nothing runs', async () => {
    const governance = new Governance((p, _a, r) => !(p.name === 'User:eve' && r.name === 'raw.secret'));
    const { lake, gateway } = await freshGateway({ governance });
    try {
      await lake.append('raw.secret', [await staged(lake, 'SELECT 1 AS x')], { createTable: true });
      await gateway.views.idle();
      await assert.rejects(gateway.all('SELECT * FROM raw.secret', { principal: { name: 'User:eve' } }), AccessDeniedError);
      assert.deepEqual(await gateway.all('SELECT * FROM raw.secret', { principal: { name: 'User:bob' } }), [{ x: 1 }]);
      const denied = governance.recent().filter((e) => !e.allowed);
      assert.deepEqual(denied.map((e) => [e.principal, e.resource.name]), [['User:eve', 'raw.secret']]);
    } finally {
      await gateway.close();
      await lake.close();
    }
  });

  test('the database file keeps user-invisible state across restarts; views follow the lake at open', async () => {
    const { lake, dir } = await freshLake();
    const database = path.join(dir, 'wh', 'warehouse.duckdb');
    try {
      await lake.append('raw.a', [await staged(lake, 'SELECT 1 AS x')], { createTable: true });
      await lake.append('raw.b', [await staged(lake, 'SELECT 2 AS y')], { createTable: true });
      let gw = await SqlGateway.open({ lake, database });
      assert.deepEqual(await gw.all('SELECT * FROM raw.b'), [{ y: 2 }]);
      await gw.close();
      await lake.dropTable('raw.b'); // while no gateway listens
      await lake.append('raw.a', [await staged(lake, 'SELECT 3 AS x')]);
      await rejects(SqlGateway.open({ lake, database: path.join(dir, 'wh') }), 'WAREHOUSE_UNAVAILABLE', /cannot open the warehouse database/);
      gw = await SqlGateway.open({ lake, database });
      assert.deepEqual(await gw.all('SELECT x FROM raw.a ORDER BY x'), [{ x: 1 }, { x: 3 }]);
      await rejects(gw.all('SELECT * FROM raw.b'), 'WAREHOUSE_SQL_INVALID', /does not exist/);
      await gw.close();
    } finally {
      await lake.close();
    }
  });
});
