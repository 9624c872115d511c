/**
 * `tributary sql` and `tributary models list|build|test` against a real HTTP server holding the
 * warehouse routes over a real lake: output formats, time travel, error exits, and build/test
 * exit codes.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { Governance } from '../../src/govern/index.ts';
import type { Lake } from '../../src/lake/index.ts';
import { ModelRunner, type SqlGateway } from '../../src/warehouse/index.ts';
import { modelRoutes, sqlRoutes } from '../../src/warehouse/http/routes.ts';
import { runCliCaptured } from '../helpers/cli.ts';
import { tempDirUntilExit } from '../helpers/temp-dir.ts';
import { freshGateway, staged } from './helpers/lake.ts';

describe('tributary sql and tributary models', () => {
  let lake: Lake;
  let gateway: SqlGateway;
  let server: ReturnType<typeof createAdaptorServer>;
  let url: string;
  let first: number;
  let modelsDir: string;
  before(async () => {
    ({ lake, gateway } = await freshGateway());
    first = (await lake.append('raw.orders', [await staged(lake, "SELECT range::BIGINT AS id, 'u' || (range % 3) AS user_id, (range * 10)::BIGINT AS amount FROM range(6)")], { createTable: true })).snapshot.id;
    await lake.append('raw.orders', [await staged(lake, "SELECT (6 + range)::BIGINT AS id, 'u9' AS user_id, 5::BIGINT AS amount FROM range(2)")]);
    await gateway.views.idle();
    modelsDir = path.join(await tempDirUntilExit('tributary-wh-cli-'), 'models');
    mkdirSync(modelsDir, { recursive: true });
    writeFileSync(path.join(modelsDir, 'spend.sql'), "select user_id, sum(amount) as total, count(*) as orders from {{ source('raw', 'orders') }} group by user_id\n");
    writeFileSync(path.join(modelsDir, 'big_spenders.sql'), "{{ config(materialized='view') }}\nselect * from {{ ref('spend') }} where total > {{ var('min', 20) }}\n");
    writeFileSync(path.join(modelsDir, 'schema.yml'), 'models:\n  - name: spend\n    columns:\n      - name: user_id\n        tests: [unique, not_null]\n      - name: orders\n        tests:\n          - accepted_values: { values: [2], severity: warn }\n');
    const runner = new ModelRunner({ gateway, lake, modelsDir, governance: new Governance() });
    const app = new Hono();
    app.route('/api/sql', sqlRoutes({ gateway: () => gateway }));
    app.route('/api/models', modelRoutes({ runner: () => runner, gateway: () => gateway }));
    server = createAdaptorServer({ fetch: app.fetch });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await gateway.close();
    await lake.close();
  });

  const cli = (...args: string[]) => runCliCaptured([...args, '--server', url]);

  test('sql prints JSON lines in a pipe, and csv, json or a table on request', async () => {
    let r = await cli('sql', 'SELECT id, user_id FROM raw.orders WHERE id < 2 ORDER BY id');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"id":0,"user_id":"u0"}\n{"id":1,"user_id":"u1"}\n');
    r = await cli('sql', '--format', 'csv', "SELECT id, 'a,b' AS s FROM raw.orders WHERE id = 0");
    assert.equal(r.stdout, 'id,s\n0,"a,b"\n');
    r = await cli('sql', '--format', 'json', 'SELECT count(*) AS n FROM raw.orders');
    assert.deepEqual(JSON.parse(r.stdout), { columns: [{ name: 'n', type: 'BIGINT' }], rows: [{ n: 8 }], rowCount: 1 });
    r = await cli('sql', '--format', 'table', 'SELECT user_id, count(*) AS n FROM raw.orders GROUP BY ALL ORDER BY user_id');
    assert.match(r.stdout, /^user_id\s+n\nu0\s+2\nu1\s+2\nu2\s+2\nu9\s+2\n$/);
    assert.match(r.stderr, /4 rows in \d+ ms/);
    r = await runCliCaptured(['sql', '-', '--server', url], { stdin: 'SELECT 41 + 1 AS answer' });
    assert.equal(r.stdout, '{"answer":42}\n');
  });

  test('sql --as-of and AT (VERSION => n) read an older snapshot', async () => {
    let r = await cli('sql', '--as-of', String(first), 'SELECT count(*) AS n FROM raw.orders');
    assert.equal(r.stdout, '{"n":6}\n');
    r = await cli('sql', `SELECT count(*) AS n FROM raw.orders AT (VERSION => ${first})`);
    assert.equal(r.stdout, '{"n":6}\n');
    r = await cli('sql', '--as-of', 'yesterday', 'SELECT 1');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--as-of: expected a snapshot id/);
  });

  test('bad SQL exits non-zero with the message and a caret at the spot', async () => {
    const r = await cli('sql', 'SELECT id,\n  nope FROM raw.orders');
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /Referenced column "nope" not found[\s\S]*line 2, column 3[\s\S]*\^/);
    const none = await runCliCaptured(['sql', 'SELECT 1', '--server', 'http://127.0.0.1:1']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /cannot reach http:\/\/127\.0\.0\.1:1.*tributary up/);
  });

  test('models list, build (with --select and --vars) and test', async () => {
    let r = await cli('models', 'list');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /spend\s+curated\.spend\s+table/);
    assert.match(r.stdout, /big_spenders\s+curated\.big_spenders\s+view\s+spend/);
    r = await cli('models', 'build');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /OK\s+curated\.spend \(table\) 4 rows, snapshot \d+/);
    assert.match(r.stderr, /2 built, 0 failed, 0 skipped/);
    r = await cli('sql', 'SELECT user_id FROM curated.big_spenders ORDER BY user_id');
    assert.equal(r.stdout, '{"user_id":"u0"}\n{"user_id":"u1"}\n{"user_id":"u2"}\n');
    r = await cli('models', 'build', '--select', 'big_spenders', '--vars', '{"min": 60}');
    assert.equal(r.code, 0, r.stderr);
    r = await cli('sql', 'SELECT user_id FROM curated.big_spenders ORDER BY user_id');
    assert.equal(r.stdout, '{"user_id":"u2"}\n');
    r = await cli('models', 'build', '--vars', '[1]');
    assert.equal(r.code, 2);

    // Every user has 2 orders: all pass. A third order for u0 trips the warn-severity test only.
    r = await cli('models', 'test');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /PASS\s+unique_spend_user_id/);
    await lake.append('raw.orders', [await staged(lake, "SELECT 100::BIGINT AS id, 'u0' AS user_id, 1::BIGINT AS amount")]);
    await gateway.views.idle();
    await cli('models', 'build', '--select', 'spend');
    r = await cli('models', 'test');
    assert.equal(r.code, 0, 'a warning does not fail the run');
    assert.match(r.stdout, /WARN  accepted_values_spend_orders \(1 failing row\)\n {4}value\s+n_records\n {4}3\s+1\n(?! )/, 'the failing value as a sample, indented under its test');
    writeFileSync(path.join(modelsDir, 'dup.test.sql'), "select user_id from {{ ref('spend') }} where orders > 1\n");
    r = await cli('models', 'test');
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /FAIL\s+dup \(4 failing rows\)/);
  });
});
