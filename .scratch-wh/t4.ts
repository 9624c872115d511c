import { openLake } from '../src/lake/index.ts';
import { SqlGateway } from '../src/warehouse/gateway/gateway.ts';
import { rmSync } from 'node:fs';
rmSync('/tmp/whx2', { recursive: true, force: true });
const lake = await openLake({ root: '/tmp/whx2/lake' });
const f = lake.stagingPath();
await lake.duck.query(`COPY (SELECT range AS id, 'v' || range AS v FROM range(100)) TO '${f}' (FORMAT parquet)`);
const r1 = await lake.append('raw.orders', [{ localPath: f }], { createTable: true });
const gw = await SqlGateway.open({ lake, database: '/tmp/whx2/wh/warehouse.duckdb' });
console.log(await gw.all('SELECT count(*) AS n, max(id) AS m FROM raw.orders'));
const f2 = lake.stagingPath();
await lake.duck.query(`COPY (SELECT range + 100 AS id, 'w' AS v FROM range(50)) TO '${f2}' (FORMAT parquet)`);
await lake.append('raw.orders', [{ localPath: f2 }]);
await gw.views.idle();
console.log(await gw.all('SELECT count(*) AS n FROM raw.orders'));
console.log(await gw.all(`SELECT count(*) AS n, (SELECT count(*) FROM raw.orders) AS now FROM raw.orders AT (VERSION => ${r1.snapshot.id}) o`));
console.log(await gw.all(`SELECT count(*) AS n FROM raw.orders`, { asOf: { snapshot: r1.snapshot.id } }));
for (const q of ['SELECT id,\n  nope FROM raw.orders', 'SELECT * FORM raw.orders', `SELECT * FROM raw.orders AT (VERSION => 999)`, 'CREATE TABLE x AS SELECT 1', `SELECT * FROM read_csv('/etc/passwd')`, `SELECT o.nope FROM raw.orders AT (VERSION => ${r1.snapshot.id}) o`]) {
  try { await gw.all(q); } catch (e) { console.log((e as any).code, (e as Error).message, JSON.stringify((e as any).position)); }
}
const p = gw.query("SELECT sum(range) FROM range(100000000000)"); setTimeout(() => { const r = gw.running(); console.log(r.length); gw.cancel(r[0]!.id); }, 200);

try { await (await p).all(); } catch (e) { console.log('cancel:', (e as any).code, (e as Error).message); }
console.log(gw.running());
await gw.close(); await lake.close();
