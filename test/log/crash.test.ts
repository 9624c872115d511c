/**
 * Crash test: a child process produces with acknowledgements and commits group offsets, and is
 * killed with SIGKILL at random moments. After each kill, every acknowledged record is present
 * at its acknowledged offset, in order, exactly once, and committed offsets never move back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Log } from '../../src/log/log.ts';
import { OffsetStore } from '../../src/log/groups/offset-store.ts';

const KILLS = Number(process.env.CRASH_KILLS ?? 32);
const CHILD = new URL('./fixtures/crash-child.ts', import.meta.url).pathname;

interface RunResult {
  acked: Array<{ partition: number; offset: number; value: string }>;
  commits: Array<{ partition: number; offset: number }>;
}

function runAndKill(dataDir: string, runId: string, killAfterMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, runId], { stdio: ['ignore', 'pipe', 'pipe'] });
    const result: RunResult = { acked: [], commits: [] };
    let buffer = '';
    let stderr = '';
    let ready = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr += d));
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const [kind, a, b, c] = line.split(' ');
        if (kind === 'READY' && !ready) {
          ready = true;
          setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        } else if (kind === 'A') {
          c!.split(',').forEach((value, i) => result.acked.push({ partition: Number(a), offset: Number(b) + i, value }));
        } else if (kind === 'C') {
          result.commits.push({ partition: Number(a), offset: Number(b) });
        }
      }
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') return reject(new Error(`child exited on its own (code ${code}): ${stderr}`));
      if (!ready) return reject(new Error(`child was killed before it was ready: ${stderr}`));
      resolve(result);
    });
  });
}

test(`crash: acknowledged records and commits survive ${KILLS} SIGKILLs`, { timeout: 600_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tributary-crash-'));
  const acked = new Map<number, Map<number, string>>();
  const committed = new Map<number, number>();
  let totalAcked = 0;
  try {
    for (let i = 0; i < KILLS; i++) {
      const run = await runAndKill(dataDir, `r${i}`, 20 + Math.floor(Math.random() * 300));
      for (const a of run.acked) {
        const m = acked.get(a.partition) ?? new Map<number, string>();
        assert.ok(!m.has(a.offset) || m.get(a.offset) === a.value, `offset ${a.partition}@${a.offset} acknowledged twice with different values`);
        m.set(a.offset, a.value);
        acked.set(a.partition, m);
        totalAcked++;
      }
      for (const c of run.commits) committed.set(c.partition, Math.max(committed.get(c.partition) ?? 0, c.offset));

      const log = await Log.open({ dataDir, maintenanceIntervalMs: 0 });
      try {
        for (let p = 0; p < 3; p++) {
          const part = log.partition('crash', p);
          const seen = new Map<string, number>();
          let offset = part.logStartOffset;
          const present = new Map<number, string>();
          while (offset < part.highWatermark) {
            const r = part.readRecords(offset, 10_000, 1 << 20);
            for (const rec of r.records) {
              const v = rec.value!.toString();
              assert.ok(!seen.has(v), `kill ${i}: value ${v} stored twice in partition ${p} (offsets ${seen.get(v)} and ${rec.offset})`);
              seen.set(v, rec.offset);
              present.set(rec.offset, v);
            }
            offset = r.nextOffset;
          }
          for (const [off, v] of acked.get(p) ?? []) {
            assert.equal(present.get(off), v, `kill ${i}: acknowledged record ${p}@${off} (${v}) missing after restart`);
          }
        }
        const offsets = await OffsetStore.open(log);
        for (const [p, off] of committed) {
          const now = offsets.get('g', 'crash', p)?.offset ?? -1;
          assert.ok(now >= off, `kill ${i}: committed offset of partition ${p} moved back from ${off} to ${now}`);
        }
      } finally {
        await log.close();
      }
    }
    assert.ok(totalAcked > KILLS * 10, `too few acknowledged records to mean anything (${totalAcked})`);
    assert.ok(committed.size > 0, 'no commit was ever acknowledged');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
