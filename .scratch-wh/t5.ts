import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
const mode = process.argv[2];
const c = await inst.connect();
const t0 = Date.now();
setTimeout(() => { console.log('interrupt at', Date.now() - t0); c.interrupt(); }, 300);
try {
  if (mode === 'run') await c.run('SELECT sum(range) FROM range(100000000000)');
  else if (mode === 'stream') { const r = await c.stream('SELECT sum(range) FROM range(100000000000)'); console.log('streamed', Date.now()-t0); await r.fetchChunk(); }
  else if (mode === 'pending') { const p = await c.startStream('SELECT sum(range) FROM range(100000000000)'); 
     while (true) { const st = p.runTask(); if (st === 0) break; await new Promise(r => setImmediate(r)); } console.log('ready'); }
} catch (e) { console.log('err', Date.now() - t0, (e as Error).message); }
