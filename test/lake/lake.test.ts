/**
 * The lake against real Parquet files and both manifest backends (SQLite and a real
 * PostgreSQL): commits, time travel, schema evolution, overwrite by partition, atomic commits
 * under concurrent readers, compaction, expiry, zone retention and bad input.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LakeError, type Lake } from '../../src/lake/index.ts';
import { BACKENDS, count, freshLake, parquet, sqlOver } from './helpers/lake.ts';

const DAY = [{ name: 'dt', transform: 'day' as const, source: 'ts' }];

async function rejects(p: Promise<unknown>, code: string, text?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof LakeError, `expected a LakeError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (text) assert.match(err.message, text);
    return true;
  });
}

/** `n` rows with ids from `from`, on day `dt`. */
function rows(from: number, n: number, dt = '2024-05-01'): string {
  return `SELECT (${from} + range)::BIGINT AS id, TIMESTAMPTZ '${dt} 00:00:00+00' + range * INTERVAL 1 second AS ts, 'v' || (${from} + range) AS v FROM range(${n})`;
}

for (const backend of BACKENDS) {
  describe(`lake (${backend} manifest)`, () => {
    let lake: Lake;
    before(async () => {
      lake = await freshLake(backend);
      await lake.createTable('raw.events', {
        columns: [
          { name: 'id', type: 'int64', nullable: false },
          { name: 'ts', type: 'timestamp' },
          { name: 'v', type: 'string' },
        ],
        partitionBy: DAY,
      });
    });
    after(() => lake.close());

    test('appends files as snapshots, and time travel reads each one', async () => {
      const a = await lake.append('raw.events', [{ localPath: await parquet(lake, rows(0, 100)), partition: { dt: '2024-05-01' } }]);
      const t1 = a.snapshot.time;
      const b = await lake.append('raw.events', [
        { localPath: await parquet(lake, rows(100, 50, '2024-05-02')), partition: { dt: '2024-05-02' } },
        { localPath: await parquet(lake, rows(150, 25)), partition: { dt: '2024-05-01' } },
      ]);
      assert.equal(b.snapshot.id, a.snapshot.id + 1);
      assert.equal(b.files.length, 2);
      assert.match(b.files[0]!.key, /^raw\/events\/dt=2024-05-02\/part-[0-9a-f-]{36}\.parquet$/);
      assert.deepEqual(b.files[0]!.stats['id'], { min: '100', max: '149', nullCount: 0, valueCount: 50 });
      assert.ok(existsSync(path.join(lake.root, b.files[0]!.key)));

      assert.equal(await count(lake, 'raw.events'), 175);
      assert.equal(await count(lake, 'raw.events', { snapshot: a.snapshot.id }), 100);
      assert.equal(await count(lake, 'raw.events', { time: t1 }), 100);
      assert.equal(await count(lake, 'raw.events', { snapshot: a.snapshot.id - 1 }), 0);
      const perDay = await sqlOver(lake, 'raw.events', 'SELECT dt::VARCHAR AS dt, count(*) AS n FROM t GROUP BY dt ORDER BY dt');
      assert.deepEqual(perDay, [
        { dt: '2024-05-01', n: '125' },
        { dt: '2024-05-02', n: '50' },
      ]);
      const parts = await lake.partitions('raw.events');
      assert.deepEqual(
        parts.map((p) => [p.partition['dt'], p.files, p.rows]),
        [
          ['2024-05-01', 2, 125],
          ['2024-05-02', 1, 50],
        ],
      );
      const info = await lake.table('raw.events');
      assert.equal(info.rows, 175);
      assert.equal(info.files, 3);
      const snaps = await lake.snapshots({ table: 'raw.events', limit: 2 });
      assert.deepEqual(
        snaps.map((s) => [s.id, s.kind, s.summary.addedRows]),
        [
          [b.snapshot.id, 'append', 75],
          [a.snapshot.id, 'append', 100],
        ],
      );
    });

    test('unknown and future snapshots are clear errors', async () => {
      const cur = await lake.snapshot();
      await rejects(lake.scan('raw.events', { asOf: { snapshot: cur.id + 5 } }), 'LAKE_SNAPSHOT_UNKNOWN', /current snapshot is/);
      await rejects(lake.scan('raw.events', { asOf: { time: Date.UTC(2000, 0, 1) } }), 'LAKE_SNAPSHOT_UNKNOWN', /first snapshot/);
      await rejects(lake.scan('raw.nope'), 'LAKE_TABLE_UNKNOWN', /tables in raw: raw\.events/);
      await rejects(lake.scan('nozone'), 'LAKE_NAME_INVALID', /raw\.nozone/);
      await rejects(lake.scan('lake.events'), 'LAKE_ZONE_UNKNOWN');
    });

    test('bad partition values and mismatched files are rejected and leave nothing behind', async () => {
      const before = await lake.snapshot();
      const f1 = await parquet(lake, rows(0, 3));
      await rejects(lake.append('raw.events', [{ localPath: f1, partition: { dt: '2024/05/01' } }]), 'LAKE_PARTITION_INVALID', /dt="2024\/05\/01" is not a valid path segment/);
      await rejects(lake.append('raw.events', [{ localPath: f1, partition: {} }]), 'LAKE_PARTITION_INVALID', /missing partition value for dt/);
      await rejects(lake.append('raw.events', [{ localPath: f1, partition: { dt: 'x', hr: '1' } }]), 'LAKE_PARTITION_INVALID', /"hr" is not a partition field/);
      const f2 = await parquet(lake, `SELECT 'not a number' AS id, now() AS ts`);
      await rejects(lake.append('raw.events', [{ localPath: f2, partition: { dt: '2024-05-01' } }]), 'LAKE_DATA_INVALID', /column "id" is string in the file but int64 in the table/);
      const f3 = await parquet(lake, `SELECT now() AS ts`);
      await rejects(lake.append('raw.events', [{ localPath: f3, partition: { dt: '2024-05-01' } }]), 'LAKE_DATA_INVALID', /NOT NULL column "id" is missing/);
      const f4 = await parquet(lake, `SELECT 1::BIGINT AS id, 5 AS extra`);
      await rejects(lake.append('raw.events', [{ localPath: f4, partition: { dt: '2024-05-01' } }]), 'LAKE_DATA_INVALID', /column "extra" \(int32\) is not in the table \(commit with evolveSchema/);
      assert.equal((await lake.snapshot()).id, before.id, 'no snapshot was added');
      assert.deepEqual(await lake.verify(), []);
    });

    test('schema evolution: add columns and widen types; narrowing and type changes are refused naming the column', async () => {
      await lake.createTable('clean.metrics', { columns: [{ name: 'n', type: 'int32' }, { name: 'x', type: 'float32' }] });
      const s1 = await lake.append('clean.metrics', [{ localPath: await parquet(lake, `SELECT range::INTEGER AS n, 1.5::FLOAT AS x FROM range(3)`) }]);
      // A file with a wider n, a double x and a new column evolves the table.
      const s2 = await lake.append('clean.metrics', [{ localPath: await parquet(lake, `SELECT 5000000000::BIGINT AS n, 2.25::DOUBLE AS x, 'hello' AS note`) }], {
        evolveSchema: true,
      });
      const now = await lake.table('clean.metrics');
      assert.equal(now.schema.version, 2);
      assert.deepEqual(
        now.schema.columns.map((c) => [c.name, c.type]),
        [
          ['n', 'int64'],
          ['x', 'float64'],
          ['note', 'string'],
        ],
      );
      const then = await lake.table('clean.metrics', { asOf: { snapshot: s1.snapshot.id } });
      assert.equal(then.schema.version, 1);
      assert.deepEqual(then.schema.columns.map((c) => c.type), ['int32', 'float32']);
      const all = await sqlOver(lake, 'clean.metrics', 'SELECT n, x, note FROM t ORDER BY n');
      assert.deepEqual(all, [
        { n: '0', x: 1.5, note: null },
        { n: '1', x: 1.5, note: null },
        { n: '2', x: 1.5, note: null },
        { n: '5000000000', x: 2.25, note: 'hello' },
      ]);
      assert.equal(s2.snapshot.kind, 'append');
      await rejects(lake.evolveSchema('clean.metrics', [{ name: 'n', type: 'int32' }]), 'LAKE_SCHEMA_INCOMPATIBLE', /column "n": cannot change int64 to int32 \(that narrows/);
      await rejects(lake.evolveSchema('clean.metrics', [{ name: 'note', type: 'int64' }]), 'LAKE_SCHEMA_INCOMPATIBLE', /column "note": cannot change string to int64/);
      await rejects(lake.evolveSchema('clean.metrics', [{ name: 'x', type: 'float64', nullable: false }]), 'LAKE_SCHEMA_INCOMPATIBLE', /column "x": cannot make a nullable column NOT NULL/);
      await rejects(lake.evolveSchema('clean.metrics', [{ name: 'req', type: 'string', nullable: false }]), 'LAKE_SCHEMA_INCOMPATIBLE', /column "req": a column added to a table that has rows must be nullable/);
      await rejects(
        lake.append('clean.metrics', [{ localPath: await parquet(lake, `SELECT 'a' AS n`) }], { evolveSchema: true }),
        'LAKE_SCHEMA_INCOMPATIBLE',
        /column "n": cannot change int64 to string/,
      );
      const evolved = await lake.evolveSchema('clean.metrics', [{ name: 'flag', type: 'boolean' }]);
      assert.equal(evolved.schema.version, 3);
      const withFlag = await sqlOver(lake, 'clean.metrics', 'SELECT count(*) AS n, count(flag) AS f FROM t');
      assert.deepEqual(withFlag, [{ n: '4', f: '0' }]);
    });

    test('overwrite replaces only the named partitions', async () => {
      await lake.createTable('curated.daily', { columns: [{ name: 'id', type: 'int64' }, { name: 'ts', type: 'timestamp' }, { name: 'v', type: 'string' }], partitionBy: DAY });
      await lake.append('curated.daily', [
        { localPath: await parquet(lake, rows(0, 10)), partition: { dt: '2024-05-01' } },
        { localPath: await parquet(lake, rows(10, 10, '2024-05-02')), partition: { dt: '2024-05-02' } },
      ]);
      const res = await lake.overwrite('curated.daily', [{ localPath: await parquet(lake, rows(100, 3, '2024-05-02')), partition: { dt: '2024-05-02' } }], {
        partitions: [{ dt: '2024-05-02' }],
      });
      assert.equal(res.snapshot.kind, 'overwrite');
      assert.equal(res.snapshot.summary.removedRows, 10);
      const byDay = await sqlOver(lake, 'curated.daily', 'SELECT dt::VARCHAR AS dt, count(*) AS n, min(id) AS lo FROM t GROUP BY dt ORDER BY dt');
      assert.deepEqual(byDay, [
        { dt: '2024-05-01', n: '10', lo: '0' },
        { dt: '2024-05-02', n: '3', lo: '100' },
      ]);
      await lake.overwrite('curated.daily', [{ localPath: await parquet(lake, rows(7, 1)), partition: { dt: '2024-05-01' } }]);
      assert.equal(await count(lake, 'curated.daily'), 1);
    });

    test('a missing table can be created from the files (warehouse models)', async () => {
      const res = await lake.overwrite('curated.top_terms', [{ localPath: await parquet(lake, `SELECT 'pizza' AS term, 42::BIGINT AS n`) }], {
        createTable: true,
        writer: 'warehouse',
      });
      assert.equal(res.snapshot.summary.writer, 'warehouse');
      const t = await lake.table('curated.top_terms');
      assert.deepEqual(t.schema.columns.map((c) => [c.name, c.type]), [['term', 'string'], ['n', 'int64']]);
      await rejects(lake.append('curated.nothing', [{ localPath: await parquet(lake, `SELECT 1 AS a`) }]), 'LAKE_TABLE_UNKNOWN', /create it first/);
    });

    test('a reader running during commits sees one snapshot or the next, never a mix', async () => {
      await lake.createTable('raw.atomic', { columns: [{ name: 'batch', type: 'int64' }, { name: 'i', type: 'int64' }] });
      const commits = 15;
      let done = false;
      const seen: Array<{ snapshot: number; rows: number; batches: number; min: number }> = [];
      const reader = (async () => {
        while (!done) {
          const scan = await lake.scan('raw.atomic');
          const { scanSql } = await import('../../src/lake/index.ts');
          const r = (await lake.duck.query(`SELECT count(*) AS n, count(DISTINCT batch) AS b, coalesce(min(c), 0) AS m FROM (SELECT batch, count(*) AS c FROM (${scanSql(scan)}) GROUP BY batch)`))[0]!;
          const rows = Number((await lake.duck.query(`SELECT count(*) AS n FROM (${scanSql(scan)})`))[0]!['n']);
          seen.push({ snapshot: scan.snapshot.id, rows, batches: Number(r['b']), min: Number(r['m']) });
        }
      })();
      const sizes: number[] = [];
      for (let k = 0; k < commits; k++) {
        // Each commit adds three files that together hold 100 rows of one batch.
        const files = [];
        for (let j = 0; j < 3; j++) files.push({ localPath: await parquet(lake, `SELECT ${k}::BIGINT AS batch, range::BIGINT AS i FROM range(${j === 2 ? 34 : 33})`) });
        await lake.append('raw.atomic', files);
        sizes.push((k + 1) * 100);
      }
      done = true;
      await reader;
      assert.ok(seen.length > 0);
      for (const s of seen) {
        assert.equal(s.rows % 100, 0, `snapshot ${s.snapshot} showed ${s.rows} rows: a partial commit`);
        assert.equal(s.rows, s.batches * 100);
        if (s.batches > 0) assert.equal(s.min, 100, 'every batch is whole');
      }
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.rows >= seen[i - 1]!.rows, 'readers never go back in time');
    });

    test('compaction merges small files per partition with the same rows and results; expiry then deletes the old files', async () => {
      await lake.createTable('raw.small', { columns: [{ name: 'id', type: 'int64' }, { name: 'ts', type: 'timestamp' }, { name: 'v', type: 'string' }], partitionBy: DAY });
      for (let k = 0; k < 6; k++) {
        await lake.append('raw.small', [
          { localPath: await parquet(lake, rows(k * 10, 10)), partition: { dt: '2024-05-01' } },
          { localPath: await parquet(lake, rows(1000 + k * 10, 10, '2024-05-02')), partition: { dt: '2024-05-02' } },
        ]);
      }
      // One file written before a column was added: compaction writes the current schema.
      await lake.evolveSchema('raw.small', [{ name: 'extra', type: 'int64' }]);
      const before = await lake.snapshot();
      const expected = await sqlOver(lake, 'raw.small', 'SELECT * FROM t ORDER BY id');
      const oldFiles = await lake.files('raw.small');
      assert.equal(oldFiles.length, 12);
      const progress: number[] = [];
      const res = await lake.compact({ table: 'raw.small', targetFileBytes: 1 << 20, onProgress: (p) => progress.push(p.done) });
      assert.equal(res.snapshots.length, 1);
      assert.equal(res.snapshots[0]!.kind, 'compact');
      assert.deepEqual(res.tables[0]!.inputFiles, 12);
      assert.deepEqual(progress, [1, 2]);
      const files = await lake.files('raw.small');
      assert.equal(files.length, 2);
      assert.deepEqual(files.map((f) => [f.partition['dt'], f.rows]).sort(), [['2024-05-01', 60], ['2024-05-02', 60]]);
      assert.deepEqual(await sqlOver(lake, 'raw.small', 'SELECT * FROM t ORDER BY id'), expected);
      // The old snapshot still reads through the old files until they expire.
      assert.equal(await count(lake, 'raw.small', { snapshot: before.id }), 120);
      const again = await lake.compact({ table: 'raw.small', targetFileBytes: 1 << 20 });
      assert.equal(again.snapshots.length, 0, 'nothing left to merge');

      const exp = await lake.expire({ olderThanMs: 0, keepLast: 1, fileGraceMs: 0 });
      assert.ok(exp.expiredSnapshots > 0);
      assert.ok(exp.deletedFiles >= 12);
      for (const f of oldFiles) assert.ok(!existsSync(path.join(lake.root, f.key)), `${f.key} was deleted`);
      await rejects(lake.scan('raw.small', { asOf: { snapshot: before.id } }), 'LAKE_SNAPSHOT_EXPIRED');
      assert.deepEqual(await sqlOver(lake, 'raw.small', 'SELECT * FROM t ORDER BY id'), expected);
      assert.deepEqual(await lake.verify(), []);
    });

    test('zone retention removes partitions older than the zone keeps', async () => {
      const l = await freshLake(backend, { zones: { raw: { retentionMs: 2 * 24 * 3600_000 } } });
      try {
        await l.createTable('raw.pings', { columns: [{ name: 'id', type: 'int64' }, { name: 'ts', type: 'timestamp' }, { name: 'v', type: 'string' }], partitionBy: DAY });
        await l.createTable('clean.pings', { columns: [{ name: 'id', type: 'int64' }, { name: 'ts', type: 'timestamp' }, { name: 'v', type: 'string' }], partitionBy: DAY });
        for (const t of ['raw.pings', 'clean.pings']) {
          await l.append(t, [
            { localPath: await parquet(l, rows(0, 5, '2024-05-01')), partition: { dt: '2024-05-01' } },
            { localPath: await parquet(l, rows(5, 5, '2024-05-09')), partition: { dt: '2024-05-09' } },
          ]);
        }
        const res = await l.applyRetention({ now: Date.UTC(2024, 4, 10, 12) });
        assert.equal(res.removedFiles, 1);
        assert.equal(res.snapshots[0]!.kind, 'retention');
        assert.deepEqual((await l.partitions('raw.pings')).map((p) => p.partition['dt']), ['2024-05-09']);
        assert.equal(await count(l, 'clean.pings'), 10, 'clean keeps everything (no retention set)');
      } finally {
        await l.close();
      }
    });

    test('files of a writer that crashed before its commit are collected without listing the store', async () => {
      const f = await parquet(lake, rows(0, 1));
      await lake.manifest.registerPending(['raw/events/dt=2024-05-01/part-crashed.parquet'], 'sink:gone');
      await lake.store.putFile(f, 'raw/events/dt=2024-05-01/part-crashed.parquet');
      assert.ok(existsSync(path.join(lake.root, 'raw/events/dt=2024-05-01/part-crashed.parquet')));
      assert.equal(await lake.abandonPending('sink:gone'), 1);
      assert.ok(!existsSync(path.join(lake.root, 'raw/events/dt=2024-05-01/part-crashed.parquet')));
    });

    test('dropping a table keeps it readable by time travel until expiry', async () => {
      await lake.createTable('clean.gone', { columns: [{ name: 'a', type: 'int32' }] });
      const s = await lake.append('clean.gone', [{ localPath: await parquet(lake, 'SELECT 1 AS a') }]);
      await lake.dropTable('clean.gone');
      await rejects(lake.table('clean.gone'), 'LAKE_TABLE_UNKNOWN');
      assert.equal(await count(lake, 'clean.gone', { snapshot: s.snapshot.id }), 1);
      await lake.createTable('clean.gone', { columns: [{ name: 'b', type: 'string' }] });
      assert.equal((await lake.table('clean.gone')).schema.columns[0]!.name, 'b');
    });
  });
}
