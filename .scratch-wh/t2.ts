import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
const c = await inst.connect();
try { await c.run('SELECT x FROM (SELECT 1 AS y)'); } catch (e) { console.log(Object.getOwnPropertyNames(e), (e as any).code, JSON.stringify(e)); }
const r = await c.runAndReadAll(`SELECT json_serialize_sql('SELECT * FROM raw.orders AT (VERSION => 5) o, read_parquet(''x'') p, (FROM clean.z) q WHERE 1 = (SELECT count(*) FROM curated.k)') AS j`);
console.log(JSON.stringify(JSON.parse(String(r.getRowObjectsJson()[0]!['j'])), null, 1).slice(0, 5000));
const r2 = await c.runAndReadAll(`SELECT json_serialize_sql('SELECT * FORM x') AS j, json_serialize_sql('INSERT INTO t VALUES (1)') AS k`);
console.log(r2.getRowObjectsJson());
