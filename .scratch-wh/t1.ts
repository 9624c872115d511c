import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
const c = await inst.connect();
const tryq = async (sql: string) => { try { const r = await c.runAndReadAll(sql); console.log('OK', sql.slice(0,60), JSON.stringify(r.getRowObjectsJson()).slice(0, 400)); } catch (e) { console.log('ERR', sql.slice(0,60), JSON.stringify((e as Error).message)); } };
await tryq(`CREATE SCHEMA raw; CREATE TABLE raw.t0 AS SELECT range AS id FROM range(10); CREATE VIEW raw.orders AS SELECT * FROM raw.t0`);
await tryq(`SELECT * FORM raw.orders`);
await tryq(`SELECT id,\n  nope FROM raw.orders`);
await tryq(`SELECT * FROM raw.nothere`);
await tryq(`SELECT * FROM raw.orders AT (VERSION => 5)`);
await tryq(`SELECT json_serialize_sql('SELECT o.id FROM raw.orders o JOIN (WITH x AS (SELECT 1) SELECT * FROM x) y ON true, read_parquet(''a.parquet'') WHERE id IN (SELECT id FROM clean.t)')`);
await tryq(`SELECT json_serialize_sql('SELECT * FROM raw.orders AT (VERSION => 5)')`);
await tryq(`CREATE SCHEMA temp."raw@5"; CREATE VIEW temp."raw@5".orders AS SELECT 42 AS id; SELECT orders.id FROM temp."raw@5".orders`);
console.log(c.getTableNames('SELECT o.id FROM raw.orders o, main.x WITH y AS (select 1) ', true));
try { console.log(c.getTableNames('WITH y AS (select 1) SELECT * FROM raw.orders o, y, "cur"."x y"', true)); } catch (e) { console.log('gtn err', (e as Error).message); }
await tryq(`SELECT 1/0, 'a'::INT`);
await tryq(`SELECT 1;\nSELECT foo(`);
await tryq(`SELECT x FROM (SELECT 1 AS y) WHERE y = 1 AND very_long_column_name_here_that_is_long = 2 AND another_long_condition_here = 3 AND some_other_column_name_for_context = 4 OR zzz = 5`);
