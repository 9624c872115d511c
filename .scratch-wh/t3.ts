import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create('/tmp/whx/w.duckdb', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
const c = await inst.connect(); await c.run("SET allowed_directories = ['/tmp/whx/lake']"); await c.run('SET enable_external_access = false');
const tryq = async (sql: string) => { try { const r = await c.runAndReadAll(sql); console.log('OK', sql.slice(0,70), JSON.stringify(r.getRowObjectsJson()).slice(0, 300)); } catch (e) { console.log('ERR', sql.slice(0,70), JSON.stringify((e as Error).message)); } };
await tryq(`COPY (SELECT range AS id FROM range(5)) TO '/tmp/whx/lake/a.parquet' (FORMAT parquet)`);
await tryq(`SELECT count(*) FROM read_parquet(['/tmp/whx/lake/a.parquet'])`);
await tryq(`SELECT * FROM read_csv('/etc/passwd')`);
await tryq(`COPY (SELECT 1) TO '/tmp/whx/x.csv'`);
await tryq(`ATTACH ':memory:' AS _asof_5`);
await tryq(`CREATE SCHEMA IF NOT EXISTS _asof_5.raw`);
await tryq(`CREATE OR REPLACE VIEW _asof_5.raw.orders AS SELECT * FROM read_parquet(['/tmp/whx/lake/a.parquet'])`);
await tryq(`SELECT orders.id, o2.id FROM _asof_5.raw.orders JOIN _asof_5.raw.orders o2 USING (id) LIMIT 2`);
await tryq(`SELECT current_database()`);
await tryq(`SELECT json_serialize_sql('DESCRIBE raw.orders') a, json_serialize_sql('SUMMARIZE SELECT 1') b`);
await tryq(`SELECT keyword_category, count(*) FROM duckdb_keywords() GROUP BY ALL`);
await tryq(`CREATE SCHEMA raw; CREATE VIEW raw.v AS SELECT 1 AS x; COMMENT ON VIEW raw.v IS 'tributary:lake 5'; SELECT schema_name, view_name, comment FROM duckdb_views() WHERE NOT internal`);
const ex = await c.extractStatements('EXPLAIN SELECT 1');
const p = await ex.prepare(0); console.log('stype', p.statementType);
for (const s of ['DESCRIBE raw.v', 'SHOW TABLES', 'SUMMARIZE raw.v', 'PRAGMA version', 'SET threads=1', 'WITH x AS (SELECT 1) SELECT * FROM x', 'FROM raw.v', 'VALUES (1)', 'CREATE TABLE t AS SELECT 1', 'COPY (SELECT 1) TO \'/tmp/whx/lake/q.csv\'']) {
  const e = await c.extractStatements(s); const ps = await e.prepare(0); console.log(s, '=>', ps.statementType);
}
