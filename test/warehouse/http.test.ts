/**
 * `POST /api/sql` and `/api/models` over a real lake: the result formats (JSON lines, JSON, CSV,
 * Arrow IPC), errors with their position, cancelling a running query, and builds/tests that
 * stream their progress.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tableFromIPC } from 'apache-arrow';
import { Hono } from 'hono';
import { Governance } from '../../src/govern/index.ts';
import type { Lake } from '../../src/lake/index.ts';
import { ModelRunner, type SqlGateway } from '../../src/warehouse/index.ts';
import { modelRoutes, sqlRoutes } from '../../src/warehouse/http/routes.ts';
import { tempDirUntilExit } from '../helpers/temp-dir.ts';
import { freshGateway, staged } from './helpers/lake.ts';

describe('warehouse HTTP', () => {
  let lake: Lake;
  let gateway: SqlGateway;
  let app: Hono;
  before(async () => {
    ({ lake, gateway } = await freshGateway());
    await lake.append('raw.orders', [await staged(lake, `SELECT range::BIGINT AS id, CASE WHEN range % 3 = 0 THEN NULL ELSE 'item, "' || range || '"' END AS item, '{"k":' || range || '}' AS meta FROM range(5000)`)], { createTable: true });
    await gateway.views.idle();
    const dir = path.join(await tempDirUntilExit('tributary-wh-http-'), 'models');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'order_count.sql'), "select count(*) as n from {{ source('raw', 'orders') }}\n");
    writeFileSync(path.join(dir, 'schema.yml'), 'models:\n  - name: order_count\n    columns:\n      - name: n\n        tests: [not_null]\n');
    const runner = new ModelRunner({ gateway, lake, modelsDir: dir, governance: new Governance() });
    app = new Hono();
    app.route('/api/sql', sqlRoutes({ gateway: () => gateway }));
    app.route('/api/models', modelRoutes({ runner: () => runner, gateway: () => gateway }));
  });
  after(async () => {
    await gateway.close();
    await lake.close();
  });

  const post = (p: string, body: unknown, init: RequestInit = {}) => app.request(p, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, ...init });
  const lines = async (res: Response) => (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);

  test('JSON lines: columns first, one array per row, then done', async () => {
    const res = await post('/api/sql', { sql: 'SELECT id, item, meta::JSON AS meta FROM raw.orders ORDER BY id' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const out = await lines(res);
    const head = out[0] as { queryId: string; columns: unknown };
    assert.equal(head.queryId, res.headers.get('x-tributary-query-id'));
    assert.deepEqual(head.columns, [{ name: 'id', type: 'BIGINT' }, { name: 'item', type: 'VARCHAR' }, { name: 'meta', type: 'JSON' }]);
    assert.equal(out.length, 5002);
    assert.deepEqual(out[1], [0, null, { k: 0 }]);
    assert.deepEqual(out[2], [1, 'item, "1"', { k: 1 }]);
    assert.deepEqual((out.at(-1) as { done: { rows: number } }).done.rows, 5000);
  });

  test('JSON, CSV and Arrow IPC hold the same rows', async () => {
    const sql = 'SELECT id, item FROM raw.orders WHERE id < 4 ORDER BY id';
    const json = (await (await post('/api/sql', { sql, format: 'json' })).json()) as { rows: unknown[]; rowCount: number };
    assert.deepEqual(json.rows, [{ id: 0, item: null }, { id: 1, item: 'item, "1"' }, { id: 2, item: 'item, "2"' }, { id: 3, item: null }]);
    const csv = await (await post('/api/sql', { sql, format: 'csv' })).text();
    assert.equal(csv, 'id,item\n0,\n1,"item, ""1"""\n2,"item, ""2"""\n3,\n');
    const res = await post('/api/sql', { sql: 'SELECT id, item FROM raw.orders ORDER BY id', format: 'arrow' });
    assert.equal(res.headers.get('content-type'), 'application/vnd.apache.arrow.stream');
    const t = tableFromIPC(new Uint8Array(await res.arrayBuffer()));
    assert.equal(t.numRows, 5000);
    assert.equal(t.getChild('id')!.get(4999), 4999n);
    assert.equal(t.getChild('item')!.get(1), 'item, "1"');
    assert.equal(t.getChild('item')!.get(3), null);
  });

  test('errors answer 4xx with a code and the position; only queries run', async () => {
    let res = await post('/api/sql', { sql: 'SELECT id,\n  nope FROM raw.orders' });
    assert.equal(res.status, 400);
    const e = ((await res.json()) as { error: { code: string; position: unknown; message: string } }).error;
    assert.equal(e.code, 'WAREHOUSE_SQL_INVALID');
    assert.deepEqual(e.position, { line: 2, column: 3, offset: 13 });
    res = await post('/api/sql', { sql: 'DROP VIEW raw.orders' });
    assert.equal(res.status, 403);
    res = await post('/api/sql', { sql: 'SELECT 1', format: 'xml' });
    assert.equal(res.status, 400);
    assert.match(JSON.stringify(await res.json()), /format/);
  });

  test('a running query shows in /queries and DELETE cancels it', async () => {
    const pending = post('/api/sql', { sql: 'SELECT sum(range) FROM range(100000000000)', queryId: 'long-1' });
    for (const deadline = Date.now() + 120_000; ; ) {
      const q = (await (await app.request('/api/sql/queries')).json()) as { queries: Array<{ id: string }> };
      if (q.queries.some((x) => x.id === 'long-1')) break;
      assert.ok(Date.now() < deadline, 'the query never showed in /api/sql/queries');
      await new Promise((r) => setTimeout(r, 10));
    }
    const del = await app.request('/api/sql/queries/long-1', { method: 'DELETE' });
    assert.deepEqual(await del.json(), { cancelled: 'long-1' });
    const res = await pending;
    const body = await res.text();
    assert.match(body, /WAREHOUSE_QUERY_CANCELLED/);
    assert.equal((await app.request('/api/sql/queries/long-1', { method: 'DELETE' })).status, 404);
  });

  test('models: list, build and test stream their progress and end with the result', async () => {
    const list = (await (await app.request('/api/models')).json()) as { models: Array<{ name: string; relation: string; sources: string[] }> };
    assert.deepEqual(list.models.map((m) => [m.name, m.relation, m.sources]), [['order_count', 'curated.order_count', ['raw.orders']]]);
    const built = await lines(await post('/api/models/build', {}));
    assert.deepEqual(Object.keys(built[0] as object), ['start']);
    const result = (built.at(-1) as { result: { ok: boolean; results: Array<{ rows: number }> } }).result;
    assert.equal(result.ok, true);
    assert.deepEqual(await gateway.all('SELECT n FROM curated.order_count'), [{ n: 5000 }]);
    const tested = await lines(await post('/api/models/test', {}));
    assert.equal((tested.at(-1) as { result: { ok: boolean } }).result.ok, true);
    const bad = await post('/api/models/build', { select: 'order_count' });
    assert.equal(bad.status, 400);
  });
});
