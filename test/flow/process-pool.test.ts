/**
 * Tasks in child processes: a task that exits its process or ignores its timeout cannot take
 * the engine down; logs (console output included) are captured per attempt; leaking children
 * are replaced; tasks reach topics through the host's bus.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openEmbeddedBus } from '../../src/bus/index.ts';
import { ProcessExecutor } from '../../src/flow/exec/process-pool.ts';
import { loadDagsDir } from '../../src/flow/loader/load-dags.ts';
import type { Dag } from '../../src/flow/define/dag.ts';
import { systemClock } from '../../src/flow/engine/clock.ts';
import { tempDirUntilExit } from '../helpers/temp-dir.ts';
import { testEngine } from './helpers/engine.ts';

let dags: Dag[] = [];
before(async () => {
  dags = (await loadDagsDir(path.join(import.meta.dirname, 'fixtures', 'dags'))).dags;
});

async function runToEnd(t: Awaited<ReturnType<typeof testEngine>>, dagId: string) {
  const run = await t.engine.trigger(dagId);
  for (;;) {
    const r = await t.engine.getRun(dagId, run.runId);
    if (r.state === 'success' || r.state === 'failed') return r;
    await new Promise((res) => setTimeout(res, 20));
  }
}

describe('process executor', () => {
  const executors: ProcessExecutor[] = [];
  after(async () => {
    for (const e of executors) await e.close();
  });

  it('runs tasks in child processes and captures their console output in the attempt log', async () => {
    const ex = new ProcessExecutor({ size: 2 });
    executors.push(ex);
    const t = await testEngine(dags, { executor: ex, clock: systemClock as never, workerSlots: 2 });
    try {
      await t.engine.start();
      const r = await runToEnd(t, 'fixture_good');
      assert.equal(r.state, 'success');
      assert.equal(r.tasks.find((x) => x.taskId === 'sum')!.output, 12);
      const log = (await t.engine.readLogs('fixture_good', r.runId, 'a')).lines.map((l) => l.text).join('');
      const pid = Number(/child pid (\d+)/.exec(log)?.[1]);
      assert.ok(pid > 0 && pid !== process.pid, 'the task ran in another process');
      assert.match(log, /INFO hello from a/);
    } finally {
      await t.close();
    }
  });

  it('a task that exits its process fails that attempt (TASK_CRASHED); the retry runs in a fresh process', async () => {
    const ex = new ProcessExecutor({ size: 1 });
    executors.push(ex);
    const t = await testEngine(dags, { executor: ex, clock: systemClock as never, workerSlots: 1 });
    try {
      await t.engine.start();
      const r = await runToEnd(t, 'fixture_crash');
      assert.equal(r.state, 'success');
      assert.match(String(r.tasks[0]!.output), /survived on attempt 2/);
      const attempts = await t.engine.taskAttempts('fixture_crash', r.runId, 'exit');
      assert.equal(attempts.attempts[0]!.outcome, 'TASK_CRASHED');
      assert.match(attempts.attempts[0]!.error!, /TASK_CRASHED: the task's process exited \(code 3\) while running it/);
      assert.equal((ex.status() as { crashes: number }).crashes, 1);
    } finally {
      await t.close();
    }
  });

  it('a task that ignores its timeout and blocks its process is killed; the engine carries on', async () => {
    const ex = new ProcessExecutor({ size: 1, abortGraceMs: 200 });
    executors.push(ex);
    const t = await testEngine(dags, { executor: ex, clock: systemClock as never, workerSlots: 1 });
    try {
      await t.engine.start();
      const r = await runToEnd(t, 'fixture_stubborn');
      assert.equal(r.state, 'failed');
      assert.match(r.tasks[0]!.error!, /TASK_TIMEOUT: the attempt did not finish within 300 ms/);
      // The blocked child was killed and replaced: the next task runs.
      const next = await runToEnd(t, 'fixture_pids');
      assert.equal(next.state, 'success');
    } finally {
      await t.close();
    }
  });

  it('a child is replaced after maxTasksPerChild attempts (bounded leaks)', async () => {
    const ex = new ProcessExecutor({ size: 1, maxTasksPerChild: 1 });
    executors.push(ex);
    const t = await testEngine(dags, { executor: ex, clock: systemClock as never, workerSlots: 1 });
    try {
      await t.engine.start();
      const a = await runToEnd(t, 'fixture_pids');
      const b = await runToEnd(t, 'fixture_pids');
      assert.notEqual(a.tasks[0]!.output, b.tasks[0]!.output, 'each attempt got a fresh process');
    } finally {
      await t.close();
    }
  });

  it('tasks in child processes read and write topics through the host bus', async () => {
    const bus = await openEmbeddedBus({ dataDir: path.join(await tempDirUntilExit(), 'data') });
    await bus.admin().createTopic('flow.fixture', { partitions: 2 });
    const ex = new ProcessExecutor({ size: 1 });
    executors.push(ex);
    const t = await testEngine(dags, { executor: ex, clock: systemClock as never, workerSlots: 1, bus });
    try {
      await t.engine.start();
      const r = await runToEnd(t, 'fixture_topics');
      assert.equal(r.state, 'success', JSON.stringify(r.tasks));
      assert.equal(r.tasks.find((x) => x.taskId === 'write')!.output, 2);
      assert.deepEqual(r.tasks.find((x) => x.taskId === 'read')!.output, [JSON.stringify({ hello: r.runId }), 'plain']);
    } finally {
      await t.close();
      await bus.close();
    }
  });
});
