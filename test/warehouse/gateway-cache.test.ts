/**
 * What the gateway keeps between queries (the lake views, pooled connections) never serves stale
 * or leftover state: a query after a lake commit sees the new rows without waiting for anything
 * (read-your-writes), time travel still sees the old snapshot, every query is audited, and a
 * connection reused after an error, an early close or a cancel answers correctly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Governance } from '../../src/govern/index.ts';
import type { Lake } from '../../src/lake/index.ts';
import { type SqlGateway, WarehouseError } from '../../src/warehouse/index.ts';
import { freshGateway, staged } from './helpers/lake.ts';

const rows = (from: number, n: number) => `SELECT (${from} + range)::BIGINT AS id, 'v' || (${from} + range) AS v FROM range(${n})`;

describe('gateway caches follow the lake', () => {
  let lake: Lake;
  let gateway: SqlGateway;
  let governance: Governance;
  before(async () => {
    ({ lake, gateway, governance } = await freshGateway());
  });
  after(async () => {
    await gateway.close();
    await lake.close();
  });

  test('a query right after a commit sees its rows; AS OF the older snapshot still sees the old ones', async () => {
    const first = (await lake.append('raw.items', [await staged(lake, rows(0, 100))], { createTable: true })).snapshot.id;
    // No views.idle(): the query itself must wait for the view of the table it names.
    assert.deepEqual(await gateway.all('SELECT count(*) AS n, max(id) AS top FROM raw.items'), [{ n: 100, top: 99 }]);
    for (let round = 1; round <= 5; round++) {
      const snap = (await lake.append('raw.items', [await staged(lake, rows(100 * round, 10))])).snapshot.id;
      const n = 100 + 10 * round;
      assert.deepEqual(await gateway.all('SELECT count(*) AS n, max(id) AS top FROM raw.items'), [{ n, top: 100 * round + 9 }], `after commit ${round}`);
      assert.deepEqual(await gateway.all('SELECT count(*) AS n FROM raw.items', { asOf: { snapshot: snap } }), [{ n }]);
      assert.deepEqual(await gateway.all(`SELECT count(*) AS n, max(id) AS top FROM raw.items AT (VERSION => ${first})`), [{ n: 100, top: 99 }]);
      assert.deepEqual(await gateway.all('SELECT count(*) AS n FROM raw.items', { asOf: { snapshot: first } }), [{ n: 100 }]);
    }
  });

  test('a repeated query (a cached prepared statement) follows views replaced by trusted SQL and sessions', async () => {
    await gateway.exec('CREATE OR REPLACE VIEW curated.answer AS SELECT 1 AS x');
    for (let i = 0; i < 3; i++) assert.deepEqual(await gateway.all('SELECT x FROM curated.answer'), [{ x: 1 }]);
    await gateway.exec('CREATE OR REPLACE VIEW curated.answer AS SELECT 2 AS x');
    for (let i = 0; i < 3; i++) assert.deepEqual(await gateway.all('SELECT x FROM curated.answer'), [{ x: 2 }]);
    const session = await gateway.session();
    try {
      await gateway.exec('CREATE OR REPLACE VIEW curated.answer AS SELECT 3 AS x', { session });
      assert.deepEqual(await gateway.all('SELECT x FROM curated.answer'), [{ x: 3 }]);
    } finally {
      session.close();
    }
    await gateway.views.ddl((c) => c.run('CREATE OR REPLACE VIEW curated.answer AS SELECT 4 AS x'));
    assert.deepEqual(await gateway.all('SELECT x FROM curated.answer'), [{ x: 4 }]);
    await gateway.exec('DROP VIEW curated.answer');
    await assert.rejects(gateway.all('SELECT x FROM curated.answer'), (e: unknown) => e instanceof WarehouseError && e.code === 'WAREHOUSE_SQL_INVALID');
  });

  test('every query is audited, also when it runs on a reused connection', async () => {
    const before = governance.recent(10_000).filter((e) => e.resource.name === 'raw.items').length;
    for (let i = 0; i < 12; i++) assert.deepEqual(await gateway.all('SELECT count(*) > 0 AS ok FROM raw.items', { via: 'test' }), [{ ok: true }]);
    const audited = governance.recent(10_000).filter((e) => e.resource.name === 'raw.items');
    assert.equal(audited.length - before, 12);
    assert.ok(audited.slice(-12).every((e) => e.via === 'test' && e.action === 'read' && e.allowed));
  });

  test('a connection reused after an error, an early close and a cancel answers correctly', async () => {
    await assert.rejects(gateway.all('SELECT nope FROM raw.items'), (e: unknown) => e instanceof WarehouseError && e.code === 'WAREHOUSE_SQL_INVALID');
    await assert.rejects(gateway.all('SELECT 1; SELECT 2'), (e: unknown) => e instanceof WarehouseError && e.code === 'WAREHOUSE_STATEMENT_NOT_ALLOWED' && /2 statements/.test(e.message));
    await assert.rejects(gateway.all('-- nothing'), (e: unknown) => e instanceof WarehouseError && e.code === 'WAREHOUSE_SQL_SYNTAX');
    await assert.rejects(gateway.all('CREATE TEMP TABLE t AS SELECT 1 AS x'), (e: unknown) => e instanceof WarehouseError && e.code === 'WAREHOUSE_STATEMENT_NOT_ALLOWED');
    // A big result closed after its first chunk.
    const cursor = await gateway.query('SELECT range AS x FROM range(1000000)');
    for await (const batch of cursor.batches()) {
      assert.ok(batch.length > 0);
      break;
    }
    assert.deepEqual(await gateway.all('SELECT count(*) AS n FROM raw.items'), [{ n: 150 }]);
    // A cancelled query.
    const reading = gateway.query('SELECT sum(range) AS n FROM range(100000000000)', { id: 'slow' }).then((c) => c.all());
    while (!gateway.running().some((q) => q.id === 'slow')) await new Promise((r) => setImmediate(r));
    assert.ok(gateway.cancel('slow'));
    await assert.rejects(reading, (e: unknown) => e instanceof WarehouseError && e.code === 'WAREHOUSE_QUERY_CANCELLED');
    for (let i = 0; i < 10; i++) assert.deepEqual(await gateway.all('SELECT count(*) AS n FROM raw.items'), [{ n: 150 }]);
    // Several at once (more than one pooled connection), each with its own answer.
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => gateway.all(`SELECT ${i} AS i, count(*) AS n FROM raw.items WHERE id < ${i * 10}`)));
    assert.deepEqual(
      answers,
      Array.from({ length: 12 }, (_, i) => [{ i, n: Math.min(150, i * 10) }]),
    );
    assert.deepEqual(gateway.running(), []);
  });
});
