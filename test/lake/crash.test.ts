/**
 * Crash test for the lake sink: a child process produces records and runs the sink, and is
 * killed with SIGKILL at random moments. After every kill the table holds every record of the
 * offsets the manifest says were drained — each exactly once, with its own value — and none
 * beyond them; records that are not JSON are never in the table; every committed file exists.
 * A final clean run drains the topic to its end.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openEmbeddedBus } from '../../src/bus/index.ts';
import { openLake, scanSql } from '../../src/lake/index.ts';

const KILLS = Number(process.env['LAKE_CRASH_KILLS'] ?? 24);
const CHILD = new URL('./fixtures/sink-child.ts', import.meta.url).pathname;

function run(dir: string, runId: string, killAfterMs: number | null): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', CHILD, dir, runId, ...(killAfterMs === null ? ['drain'] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let ready = false;
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (!ready && d.includes('READY')) {
        ready = true;
        if (killAfterMs !== null) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (killAfterMs === null) return code === 0 ? resolve() : reject(new Error(`drain run failed (${code ?? signal}): ${stderr}`));
      if (signal !== 'SIGKILL') return reject(new Error(`child exited on its own (code ${code}): ${stderr}`));
      if (!ready) return reject(new Error(`child was killed before it was ready: ${stderr}`));
      resolve();
    });
  });
}

/** Checks the invariant; returns the drained positions. */
async function check(dir: string): Promise<Map<number, number>> {
  const lake = await openLake({ root: `${dir}/lake`, duckdb: { threads: 1 } });
  const bus = await openEmbeddedBus({ dataDir: `${dir}/bus`, log: { maintenanceIntervalMs: 0 } });
  try {
    const positions = new Map((await lake.sinkPositions('raw.events')).map((p) => [p.partition, p.offset]));
    assert.deepEqual(await lake.verify(), [], 'every committed file exists with its size');
    // What the log holds below each drained position.
    const expected = new Map<string, string>();
    for (const [partition, end] of positions) {
      const consumer = bus.consumer();
      consumer.assign([{ topic: 'events', partition, offset: 0 }]);
      let next = 0;
      while (next < end) {
        const batch = await consumer.poll({ timeoutMs: 1000, maxRecords: 5000 });
        assert.ok(batch.length > 0, `the log has records up to ${end} in partition ${partition}`);
        for (const r of batch) {
          if (r.offset >= end) break;
          const text = r.value!.toString();
          if (text.startsWith('{')) expected.set(`${partition}/${r.offset}`, (JSON.parse(text) as { id: string }).id);
          next = r.offset + 1;
        }
      }
      await consumer.close();
    }
    let tableRows: Array<Record<string, unknown>> = [];
    try {
      const scan = await lake.scan('raw.events');
      tableRows = await lake.duck.query(`SELECT _partition AS p, _offset AS o, id FROM (${scanSql(scan)})`);
    } catch (err) {
      if ((err as { code?: string }).code !== 'LAKE_TABLE_UNKNOWN') throw err;
    }
    const seen = new Set<string>();
    for (const r of tableRows) {
      const k = `${r['p']}/${r['o']}`;
      assert.ok(!seen.has(k), `record ${k} is in the table twice`);
      seen.add(k);
      assert.equal(r['id'], expected.get(k), `record ${k} holds its own value and lies below the drained position`);
    }
    assert.equal(seen.size, expected.size, 'every drained record is in the table');
    return positions;
  } finally {
    await bus.close();
    await lake.close();
  }
}

test(`lake sink: exactly once across ${KILLS} SIGKILLs`, { timeout: 900_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-lake-crash-'));
  try {
    let progressed = 0;
    let last = 0;
    for (let i = 0; i < KILLS; i++) {
      await run(dir, `r${i}`, 150 + Math.floor(Math.random() * 900));
      const positions = await check(dir);
      const total = [...positions.values()].reduce((s, o) => s + o, 0);
      assert.ok(total >= last, 'drained positions never move back');
      if (total > last) progressed++;
      last = total;
    }
    assert.ok(progressed >= KILLS / 3, `the sink made progress in most runs (${progressed} of ${KILLS})`);
    await run(dir, 'final', null);
    const positions = await check(dir);
    const bus = await openEmbeddedBus({ dataDir: `${dir}/bus`, log: { maintenanceIntervalMs: 0 } });
    try {
      for (const p of (await bus.admin().describeTopic('events')).partitions) assert.equal(positions.get(p.partition), p.highWatermark);
      const dlq = (await bus.admin().describeTopic('raw.events.dlq')).partitions.reduce((s, p) => s + p.highWatermark, 0);
      assert.ok(dlq > 0, 'records that are not JSON went to the dead-letter topic');
    } finally {
      await bus.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
