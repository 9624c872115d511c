/**
 * Power-loss test for lake commits on the simulated file system (test/helpers/sim-fs.ts): data
 * files go through the FileSystem interface, which forgets every byte, new file and rename that
 * was not fsynced when the power is cut. The manifest (SQLite, synchronous=FULL) is the
 * durable record of what was committed. After a cut at a seeded random operation, every file
 * any committed snapshot references is present with its recorded size and reads back as a
 * Parquet file with its recorded row count; and the lake keeps working on the recovered disk.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openLake, type Lake } from '../../src/lake/index.ts';
import { PowerCutError, SimFileSystem, seededRng } from '../helpers/sim-fs.ts';

const SEEDS = Number(process.env['LAKE_POWER_SEEDS'] ?? 40);
const COMMITS = 6;

async function writeCommits(lake: Lake, from: number, commits: number): Promise<void> {
  for (let k = from; k < from + commits; k++) {
    const files = [];
    for (const dt of ['2024-05-01', '2024-05-02']) {
      const file = lake.stagingPath();
      await lake.duck.query(`COPY (SELECT ${k}::BIGINT AS k, range::BIGINT AS i, repeat('x', 50) AS pad FROM range(${200 + k})) TO '${file}' (FORMAT parquet)`);
      files.push({ localPath: file, partition: { dt } });
    }
    await lake.append('raw.t', files);
  }
}

async function checkAll(lake: Lake, sim: SimFileSystem, scratch: string): Promise<number> {
  assert.deepEqual(await lake.verify(), [], 'every referenced file survived the cut with its size');
  let checked = 0;
  for (const f of await lake.files('raw.t')) {
    const copy = path.join(scratch, `check-${checked}.parquet`);
    writeFileSync(copy, sim.readFile(path.join(lake.root, f.key)));
    const [r] = await lake.duck.query(`SELECT count(*) AS n FROM read_parquet('${copy}')`);
    assert.equal(Number(r!['n']), f.rows, `${f.key} reads back whole`);
    checked++;
  }
  return checked;
}

test(`lake commits survive ${SEEDS} seeded power cuts`, { timeout: 600_000 }, async () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'tributary-lake-power-'));
  try {
    // A dry run counts the file-system operations of the workload.
    const dry = new SimFileSystem();
    const root = path.join(scratch, 'lake');
    let lake = await openLake({ root, fs: dry, manifest: { sqlite: path.join(scratch, 'dry.sqlite') } });
    await lake.createTable('raw.t', { columns: [{ name: 'k', type: 'int64' }, { name: 'i', type: 'int64' }, { name: 'pad', type: 'string' }], partitionBy: [{ name: 'dt', transform: 'day' }] });
    const start = dry.ops;
    await writeCommits(lake, 0, COMMITS);
    const totalOps = dry.ops - start;
    await lake.close();

    let cutsInsideCommits = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rng = seededRng(seed);
      const sim = new SimFileSystem();
      const manifest = path.join(scratch, `m-${seed}.sqlite`);
      lake = await openLake({ root, fs: sim, manifest: { sqlite: manifest } });
      await lake.createTable('raw.t', { columns: [{ name: 'k', type: 'int64' }, { name: 'i', type: 'int64' }, { name: 'pad', type: 'string' }], partitionBy: [{ name: 'dt', transform: 'day' }] });
      sim.cutAfterOps = sim.ops + 1 + Math.floor(rng() * totalOps);
      try {
        await writeCommits(lake, 0, COMMITS);
        assert.fail(`seed ${seed}: the cut at op ${sim.cutAfterOps} never happened`);
      } catch (err) {
        if (!(err instanceof PowerCutError) && !(err as { cause?: unknown }).cause) throw err;
        const cause = err instanceof PowerCutError ? err : (err as { cause?: unknown }).cause;
        assert.ok(cause instanceof PowerCutError, `seed ${seed}: expected a power cut, got ${String(err)}`);
      }
      const committed = (await lake.snapshot()).id;
      await lake.close().catch(() => {});
      if (committed > 1 && committed < COMMITS + 1) cutsInsideCommits++;

      const after = sim.powerCut(rng);
      lake = await openLake({ root, fs: after, manifest: { sqlite: manifest } });
      try {
        assert.equal((await lake.snapshot()).id, committed, 'the manifest keeps what was committed');
        const files = await checkAll(lake, after, scratch);
        assert.equal(files, (committed - 1) * 2, `seed ${seed}: two files per committed append`);
        // The recovered lake takes new commits, and collects what the crashed writer left.
        await writeCommits(lake, 100, 1);
        await lake.expire({ fileGraceMs: 0, olderThanMs: 3600_000 });
        assert.equal(await checkAll(lake, after, scratch), committed * 2);
      } finally {
        await lake.close();
      }
    }
    assert.ok(cutsInsideCommits >= SEEDS / 4, `most cuts fell between commits (${cutsInsideCommits} of ${SEEDS})`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
