/**
 * Exactly-once under SIGKILL: a child process runs a stream app (a repartitioned running count
 * and windowed sums with emit-final) on the embedded log and is killed at random moments, ≥ 20
 * times; then a last run finishes the input. Outputs are read read_committed and must equal the
 * oracle exactly: per group the running counts are 1…n with no repeat and no gap, and every
 * window appears once with DuckDB's count and sum. (At-least-once would repeat counts; a lost
 * commit would leave gaps.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { openEmbeddedBus } from '../../src/bus/index.ts';
import type { Windowed } from '../../src/streams/index.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { readTopic } from './helpers/bus.ts';
import { Oracle, canonical } from './helpers/duckdb-oracle.ts';
import { rng } from './helpers/events.ts';
import type { CrashEvent } from './fixtures/eos-app.ts';

const KILLS = Number(process.env.STREAMS_CRASH_KILLS ?? 20);
const EVENTS = 24_000;
const CHILD = path.join(import.meta.dirname, 'fixtures', 'eos-child.ts');

function runChild(dir: string, opts: { killAfterMs?: number; final?: boolean }): Promise<{ processedAtKill: number; killed: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, ...(opts.final ? ['final'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let processed = 0;
    let processedAtKill = -1;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const line of lines) {
        if (line === 'READY' && opts.killAfterMs !== undefined) {
          setTimeout(() => {
            processedAtKill = processed;
            child.kill('SIGKILL');
          }, opts.killAfterMs);
        } else if (line.startsWith('P ')) processed = Number(line.slice(2));
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const guard = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (opts.final) {
        if (code === 0) resolve({ processedAtKill: -1, killed: false, stderr });
        else reject(new Error(`final run exited with ${code ?? signal}: ${stderr}`));
        return;
      }
      if (signal !== 'SIGKILL') return reject(new Error(`child exited on its own (${code}): ${stderr}`));
      resolve({ processedAtKill, killed: true, stderr });
    });
  });
}

test(`exactly-once: outputs equal the oracle after ${KILLS} SIGKILLs during processing`, { timeout: 1_200_000 }, async () => {
  const tmp = tempDir('tributary-eos-crash-');
  try {
    const r = rng(99);
    const evs: CrashEvent[] = [];
    let t = 5_000_000;
    for (let i = 0; i < EVENTS; i++) {
      t += Math.floor(r() * 4);
      evs.push({ k: `k${Math.floor(r() * 10)}`, g: `g${Math.floor(r() * 5)}`, ts: t - Math.floor(r() * 500), v: Math.floor(r() * 100) });
    }
    const bus = await openEmbeddedBus({ dataDir: path.join(tmp.dir, 'data'), log: { maintenanceIntervalMs: 0 } });
    await bus.admin().createTopic('in', { partitions: 3 });
    const p = bus.producer({ lingerMs: 2 });
    for (let i = 0; i < evs.length; i += 2_000) {
      await p.send('in', evs.slice(i, i + 2_000).map((e) => ({ key: Buffer.from(e.k), value: Buffer.from(JSON.stringify(e)), timestamp: e.ts })));
    }
    await bus.close();

    let midway = 0;
    for (let i = 0; i < KILLS; i++) {
      const run = await runChild(tmp.dir, { killAfterMs: Math.floor(Math.random() * 700) });
      if (run.processedAtKill > 0) midway++;
    }
    await runChild(tmp.dir, { final: true });

    const check = await openEmbeddedBus({ dataDir: path.join(tmp.dir, 'data'), log: { maintenanceIntervalMs: 0 } });
    try {
      const running = new Map<string, number[]>();
      for (const rec of await readTopic(check, 'running')) {
        const g = rec.key!.toString();
        running.set(g, [...(running.get(g) ?? []), Number(rec.value!.toString())]);
      }
      const perGroup = new Map<string, number>();
      for (const e of evs) perGroup.set(e.g, (perGroup.get(e.g) ?? 0) + 1);
      for (const [g, n] of perGroup) {
        const seq = (running.get(g) ?? []).sort((a, b) => a - b);
        assert.equal(seq.length, n, `group ${g}: ${seq.length} updates for ${n} records (duplicates or loss)`);
        assert.ok(seq.every((c, i) => c === i + 1), `group ${g}: counts are not exactly 1…${n}`);
      }
      const oracle = await Oracle.open();
      await oracle.load('e', { k: 'VARCHAR', ts: 'BIGINT', v: 'BIGINT' }, evs as never);
      const expected = canonical(await oracle.rows('SELECT k, ts - ts % 1000 AS ws, count(*) AS c, sum(v) AS s FROM e GROUP BY ALL'));
      oracle.close();
      const windows = (await readTopic(check, 'windows')).map((rec) => {
        const w = JSON.parse(rec.key!.toString()) as Windowed<string>;
        const v = JSON.parse(rec.value!.toString()) as { c: number; s: number };
        return { k: w.key, ws: w.start, c: v.c, s: v.s };
      });
      if (process.env.EOS_DEBUG) {
        const seen = new Map<string, unknown[]>();
        for (const w of windows) seen.set(`${w.k}@${w.ws}`, [...(seen.get(`${w.k}@${w.ws}`) ?? []), [w.c, w.s]]);
        process.stderr.write(JSON.stringify([...seen].filter(([, v]) => v.length > 1).slice(0, 10)) + '\n');
      }
      assert.equal(windows.length, expected.length, 'every window exactly once');
      assert.deepEqual(canonical(windows), expected);
      // Aborted transactions left records in the log that read_committed consumers skip.
      const uncommitted = await readTopic(check, 'running', { isolation: 'read_uncommitted' });
      process.stderr.write(`eos-crash: ${KILLS} kills (${midway} after processing began), ${uncommitted.length - EVENTS} aborted output records skipped\n`);
    } finally {
      await check.close();
    }
  } finally {
    tmp.cleanup();
  }
});
