/**
 * End to end: `tributary up` with a lake sink in its config (a real child process), records
 * produced over the CLI, then `tributary lake …` and `/api/lake` against it — tables, describe,
 * snapshots with time travel, compact with its progress output, expire, and errors.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import type { CliIo } from '../../src/cli/io.ts';
import { runCli } from '../../src/cli/program.ts';
import { runCliCaptured } from '../helpers/cli.ts';
import { tempDirUntilExit } from '../helpers/temp-dir.ts';
import { startTributary, type RunningTributary } from '../helpers/tributary-process.ts';

describe('tributary lake (CLI and HTTP API)', () => {
  let t: RunningTributary;
  const cli = (args: string[]) => runCliCaptured([...args, '--server', t.url]);

  before(async () => {
    const dir = await tempDirUntilExit('tributary-lake-cli-');
    const config = path.join(dir, 'tributary.config.ts');
    await writeFile(
      config,
      `export default {
        topics: { clicks: { partitions: 2 } },
        lake: {
          sinks: [{ topics: ['clicks'], table: 'clicks', zone: 'raw', rollMs: 100, eventTime: { field: 'at' }, partitionBy: 'hour' }],
          maintenanceIntervalMs: null,
        },
      };\n`,
    );
    t = await startTributary({ args: ['--config', config] });
  });
  after(async () => {
    await t?.stop('SIGKILL');
  });

  async function waitForRows(n: number): Promise<void> {
    for (let i = 0; i < 300; i++) {
      const r = await fetch(`${t.url}/api/lake/tables/raw.clicks`);
      if (r.ok && ((await r.json()) as { rows: number }).rows >= n) return;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.fail(`raw.clicks never reached ${n} rows`);
  }

  it('lands produced records in raw.clicks, hourly partitions from the event time', async () => {
    for (let batch = 0; batch < 3; batch++) {
      const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ user: `u${i}`, page: `/p${batch}`, at: `2024-05-01T0${i % 3}:0${batch}:0${i}Z` })).join('\n');
      const p = await t.cli(['produce', 'clicks'], { stdin: lines + '\n' });
      assert.equal(p.code, 0, p.stderr);
      await waitForRows((batch + 1) * 10);
    }
    const tables = await cli(['lake', 'tables']);
    assert.equal(tables.code, 0, tables.stderr);
    assert.match(tables.stdout, /^TABLE\s+COLUMNS\s+PARTITIONED BY\s+FILES\s+ROWS\s+SIZE$/m);
    assert.match(tables.stdout, /^raw\.clicks\s+3\s+dt, hr\s+\d+\s+30\s+/m);
    const described = await cli(['lake', 'describe', 'raw.clicks']);
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /^at\s+timestamp\s+yes$/m);
    assert.match(described.stdout, /^dt=2024-05-01\/hr=02\s+3\s+9\s+/m);
    const json = JSON.parse((await cli(['lake', 'describe', 'raw.clicks', '--json'])).stdout);
    assert.deepEqual(json.partitions.map((p: { partition: Record<string, string> }) => p.partition.hr), ['00', '01', '02']);
  });

  it('snapshots and time travel', async () => {
    const snaps = JSON.parse((await cli(['lake', 'snapshots', '--table', 'raw.clicks', '--json'])).stdout) as Array<{ id: number; kind: string; summary: { addedRows: number } }>;
    assert.ok(snaps.length >= 3);
    assert.ok(snaps.every((s) => s.kind === 'append'));
    const oldest = snaps[snaps.length - 1]!;
    const then = JSON.parse((await cli(['lake', 'tables', '--snapshot', String(oldest.id), '--json'])).stdout);
    assert.equal(then.tables[0].rows, oldest.summary.addedRows);
    const text = await cli(['lake', 'snapshots', '--limit', '2']);
    assert.match(text.stdout, /^SNAPSHOT\s+TIME\s+KIND\s+TABLE/m);
    assert.match(text.stdout, /append\s+raw\.clicks\s+3\s+0\s+10\s+0\s+sink:raw\.clicks$/m);
  });

  it('compact shows progress and keeps the rows; expire deletes the replaced files', async () => {
    const before = JSON.parse((await cli(['lake', 'tables', '--json'])).stdout).tables[0];
    const res = await cli(['lake', 'compact', '--table', 'raw.clicks']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /compacting raw\.clicks \|.*\| \d+\/\d+ merges/);
    assert.match(res.stdout, /^raw\.clicks\s+\d+\s+\d+\s+30\s+/m);
    const after = JSON.parse((await cli(['lake', 'tables', '--json'])).stdout).tables[0];
    assert.equal(after.rows, 30);
    assert.ok(after.files < before.files, `${after.files} < ${before.files}`);
    const exp = await cli(['lake', 'expire', '--older-than-ms', '0', '--file-grace-ms', '0', '--json']);
    assert.equal(exp.code, 0, exp.stderr);
    const e = JSON.parse(exp.stdout);
    assert.ok(e.deletedFiles >= before.files - after.files, JSON.stringify(e));
    const nothing = await cli(['lake', 'compact']);
    assert.equal(nothing.stdout, 'nothing to compact: no partition has enough small files\n');
  });

  it('expire: a progress bar on a terminal; piped, only the result line', async () => {
    const expire = ['lake', 'expire', '--older-than-ms', '0', '--file-grace-ms', '0', '--no-retention', '--server', t.url];
    const replaceFiles = async (batch: number) => {
      const lines = Array.from({ length: 6 }, (_, i) => JSON.stringify({ user: `e${i}`, page: `/e${batch}`, at: `2024-05-01T0${i % 3}:1${batch}:0${i}Z` })).join('\n');
      const p = await t.cli(['produce', 'clicks'], { stdin: lines + '\n' });
      assert.equal(p.code, 0, p.stderr);
      await waitForRows(30 + 6 * batch);
      const c = await cli(['lake', 'compact', '--table', 'raw.clicks', '--min-input-files', '2', '--json']);
      assert.equal(c.code, 0, c.stderr);
      assert.ok(JSON.parse(c.stdout).tables.length > 0, c.stdout);
    };
    await replaceFiles(1);
    let stdout = '';
    let stderr = '';
    const tty: CliIo = { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), stdin: Readable.from(['']), env: {}, cwd: process.cwd(), isTTY: true };
    assert.equal(await runCli(expire, tty), 0, stderr);
    assert.match(stderr, /expiring \|.*\| (\d+)\/\1 files deleted \(/);
    assert.match(stdout, /^expired \d+ snapshots; \d+ files scheduled for deletion; deleted [1-9]\d* files \(.+\)\n$/);

    await replaceFiles(2);
    const piped = await cli(['lake', 'expire', '--older-than-ms', '0', '--file-grace-ms', '0', '--no-retention']);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stderr, '');
    assert.match(piped.stdout, /^expired \d+ snapshots; \d+ files scheduled for deletion; deleted [1-9]\d* files \(.+\)\n$/);
    const asJson = await cli(['lake', 'expire', '--json']);
    assert.equal(asJson.stderr, '');
    assert.deepEqual(Object.keys(JSON.parse(asJson.stdout)).sort(), ['deletedBytes', 'deletedFiles', 'expiredSnapshots', 'retention', 'scheduledFiles']);
    // Without the JSON-lines Accept header the API still answers one JSON object.
    const plain = await fetch(`${t.url}/api/lake/expire`, { method: 'POST', body: '{"retention": false}', headers: { 'content-type': 'application/json' } });
    assert.match(plain.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(((await plain.json()) as { retention: unknown }).retention, null);
  });

  it('errors say what is wrong', async () => {
    const unknown = await cli(['lake', 'describe', 'raw.nope']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: no table raw\.nope; tables in raw: raw\.clicks/);
    const bad = await fetch(`${t.url}/api/lake/tables/raw.clicks?snapshot=999999`);
    assert.equal(bad.status, 404);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'LAKE_SNAPSHOT_UNKNOWN');
    const zone = await fetch(`${t.url}/api/lake/tables?zone=gold`);
    assert.equal(zone.status, 404);
    const typo = await fetch(`${t.url}/api/lake/tables?snapshto=1`);
    assert.equal(typo.status, 400);
    const body = await fetch(`${t.url}/api/lake/compact`, { method: 'POST', body: JSON.stringify({ targetFileBytes: 'big' }), headers: { 'content-type': 'application/json' } });
    assert.equal(body.status, 400);
    assert.match(((await body.json()) as { error: { message: string } }).error.message, /targetFileBytes: expected a whole number/);
    const sinks = (await (await fetch(`${t.url}/api/lake/sinks`)).json()) as { sinks: Array<{ name: string; state: string }> };
    assert.deepEqual(sinks.sinks.map((s) => [s.name, s.state]), [['raw.clicks', 'running']]);
  });
});
