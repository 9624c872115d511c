/**
 * A manifest left mid-commit by a crash: a child process is SIGKILLed inside the manifest
 * transaction of an append (after its data file row was written, before COMMIT), on SQLite and
 * on PostgreSQL. Afterwards the lake opens at the previous snapshot with the previous rows, every
 * referenced file is present, new commits work and take the next snapshot id, and the file the
 * crashed writer had already put in place is found through its pending row (no listing) and
 * deleted.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { openLake, type LakeOptions } from '../../src/lake/index.ts';
import { tempDirUntilExit } from '../helpers/temp-dir.ts';
import { BACKENDS, count, manifestFor, parquet } from './helpers/lake.ts';

const CHILD = new URL('./fixtures/mid-commit-child.ts', import.meta.url).pathname;

function runChild(opts: LakeOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal === 'SIGKILL' && out.includes('KILLING')) resolve(out);
      else reject(new Error(`the child was to die inside the commit, but exited with ${code ?? signal}: ${out} ${err}`));
    });
  });
}

for (const backend of BACKENDS) {
  describe(`a manifest left mid-commit (${backend})`, () => {
    test('is rolled back: the previous snapshot stays, the lake keeps committing, the orphan file is collected', { timeout: 300_000 }, async () => {
      const root = path.join(await tempDirUntilExit('tributary-lake-mid-'), 'lake');
      const opts: LakeOptions = { root, ...(await manifestFor(backend)), duckdb: { threads: 1 } };
      let lake = await openLake(opts);
      try {
        await lake.createTable('raw.mid', { columns: [{ name: 'k', type: 'int64' }, { name: 'i', type: 'int64' }], partitionBy: [{ name: 'dt', transform: 'day' }] });
        await lake.append('raw.mid', [{ localPath: await parquet(lake, 'SELECT 1::BIGINT AS k, range::BIGINT AS i FROM range(10)'), partition: { dt: '2024-05-01' } }]);
      } finally {
        await lake.close();
      }
      const before = { snapshot: 2, rows: 10 };

      await runChild(opts);

      lake = await openLake(opts);
      try {
        assert.equal((await lake.snapshot()).id, before.snapshot, 'the half-done commit is not a snapshot');
        assert.equal(await count(lake, 'raw.mid'), before.rows);
        assert.deepEqual((await lake.files('raw.mid')).map((f) => f.partition['dt']), ['2024-05-01']);
        assert.deepEqual(await lake.verify(), []);
        // The crashed writer had put its file under its final key: pending, not referenced.
        const pending = await lake.manifest.store.transaction((tx) => tx.query<{ path: string; writer: string }>('SELECT path, writer FROM lake_pending_file'));
        assert.deepEqual(pending.map((p) => p.writer), ['crashy'], 'the crashed commit left its pending row');
        const orphanKey = pending[0]!.path;
        assert.ok(orphanKey.startsWith('raw/mid/dt=2024-05-02/'), orphanKey);
        assert.ok(existsSync(path.join(root, orphanKey)), 'the orphan is on disk until collected');

        const next = await lake.append('raw.mid', [{ localPath: await parquet(lake, 'SELECT 2::BIGINT AS k, range::BIGINT AS i FROM range(5)'), partition: { dt: '2024-05-03' } }]);
        assert.equal(next.snapshot.id, before.snapshot + 1, 'the next commit takes the next id');
        assert.equal(await count(lake, 'raw.mid'), before.rows + 5);

        assert.equal(await lake.abandonPending('crashy'), 1);
        assert.ok(!existsSync(path.join(root, orphanKey)), 'the orphan was deleted');
        assert.deepEqual(await lake.verify(), []);
        assert.equal(await count(lake, 'raw.mid'), before.rows + 5);
      } finally {
        await lake.close();
      }
    });
  });
}
