/**
 * Exactly-once PostgreSQL sink under SIGKILL: a child process runs the sink and is killed at a
 * random moment, again and again (≥ 20 times); at the end every record is in the table exactly
 * once. (Checked once: with the database-kept offsets disabled — no seek in open(), no skip of
 * already-written offsets — the table ends with duplicate rows and this test fails.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openEmbeddedBus } from '../../src/bus/index.ts';
import { freshDatabase, withClient } from '../helpers/postgres.ts';
import { tempDirUntilExit } from '../helpers/temp-dir.ts';

const CHILD = path.join(import.meta.dirname, 'fixtures', 'pg-sink-child.ts');
// Enough rows that kills land mid-way even when the sink is fast (batches of 37 records).
const N = 200_000;
const KILLS = 20;

function runChild(dir: string, url: string, killAfterMs: number | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('started') && killAfterMs !== null) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (signal === 'SIGKILL' || signal === 'SIGTERM') resolve();
      else reject(new Error(`child exited with ${code}: ${err}`));
    });
    if (killAfterMs === null) (child as unknown as { stopLater: () => void }).stopLater = () => child.kill('SIGTERM');
    (runChild as unknown as { last: typeof child }).last = child;
  });
}

describe('PostgreSQL sink exactly once under SIGKILL', () => {
  it(`writes ${N} records exactly once across ${KILLS} kills at random moments`, { timeout: 600_000 }, async () => {
    const db = await freshDatabase('crash');
    const dir = await tempDirUntilExit('tributary-pg-crash-');
    try {
      const bus = await openEmbeddedBus({ dataDir: path.join(dir, 'data') });
      await bus.admin().createTopic('crash', { partitions: 3 });
      const p = bus.producer();
      for (let i = 0; i < N; i += 500) {
        await p.send('crash', Array.from({ length: 500 }, (_, j) => ({ key: Buffer.from(`k${(i + j) % 17}`), value: Buffer.from(JSON.stringify({ i: i + j, pad: 'x'.repeat(50) })) })));
      }
      await p.close();
      await bus.close();

      const count = async () => (await withClient(db.url, (c) => c.query('SELECT count(*)::int AS n FROM crash').catch(() => ({ rows: [{ n: 0 }] })))).rows[0].n as number;
      let seed = 12345;
      const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
      const progress: number[] = [];
      for (let k = 0; k < KILLS; k++) {
        await runChild(dir, db.url, Math.floor(50 + random() * 700));
        progress.push(await count());
      }
      // A last run to the end.
      const done = runChild(dir, db.url, null);
      const deadline = Date.now() + 120_000;
      while ((await count()) < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      await new Promise((r) => setTimeout(r, 500));
      (runChild as unknown as { last: { kill(s: string): void } }).last.kill('SIGKILL');
      await done;
      const r = await withClient(db.url, (c) => c.query('SELECT count(*)::int AS n, count(DISTINCT i)::int AS d, min(i)::int AS lo, max(i)::int AS hi FROM crash'));
      assert.deepEqual(r.rows[0], { n: N, d: N, lo: 0, hi: N - 1 }, `progress after each kill: ${progress.join(', ')}`);
      assert.ok(progress.some((n) => n > 0 && n < N), `some kills happened mid-way: ${progress.join(', ')}`);
    } finally {
      await db.drop();
    }
  });
});
