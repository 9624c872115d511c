/**
 * Scale-out on a real PostgreSQL: one `tributary scheduler` and three `tributary worker`
 * processes; one worker is SIGKILLed while it runs a task. Its lease expires, the task is queued
 * again, and every task of every run finishes exactly once.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { FlowEngine } from '../../src/flow/engine/engine.ts';
import { DagRegistry } from '../../src/flow/engine/registry.ts';
import { loadDagsDir } from '../../src/flow/loader/load-dags.ts';
import { FlowStore, type RunRow } from '../../src/flow/store/flow-store.ts';
import { openPostgres } from '../../src/flow/store/sql.ts';
import { BIN, REPO_ROOT } from '../helpers/tributary-process.ts';
import { freshDatabase, type TestDatabase } from './helpers/postgres.ts';

const DAGS = path.join(import.meta.dirname, 'fixtures', 'mp-dags');
const RUNS = 6;

interface Proc {
  child: ChildProcess;
  out: string;
  ready: Promise<void>;
  exited: Promise<void>;
}

function start(args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = { child, out: '', ready: Promise.resolve(), exited: new Promise((r) => child.once('exit', () => r())) };
  p.ready = new Promise((resolve, reject) => {
    const on = (d: Buffer) => {
      p.out += d.toString();
      if (/ready/.test(p.out)) resolve();
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', (d: Buffer) => (p.out += d.toString()));
    child.once('exit', (code) => reject(new Error(`${args[0]} exited (${code}) before ready:\n${p.out}`)));
  });
  return p;
}

describe('several workers on PostgreSQL', () => {
  let db: TestDatabase;
  let effects: pg.Client;
  const procs: Proc[] = [];

  before(async () => {
    db = await freshDatabase('flow_mp');
    effects = new pg.Client({ connectionString: db.url });
    await effects.connect();
    await effects.query('CREATE TABLE effects (id serial PRIMARY KEY, run_id text, task text, phase text, pid int)');
  });

  after(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await effects?.end();
    await db?.drop();
  });

  it('a worker SIGKILLed mid-task: its task runs again elsewhere; every task of every run finishes exactly once', async () => {
    const env = { TRIBUTARY_TEST_EFFECTS_URL: db.url };
    const common = ['--postgres', db.url, '--dags-dir', DAGS, '--task-lease-ms', '5000', '--log-level', 'warn'];
    procs.push(start(['scheduler', ...common], env));
    for (let i = 0; i < 3; i++) procs.push(start(['worker', ...common, '--slots', '2', '--mode', 'inline'], env));
    await Promise.all(procs.map((p) => p.ready));
    const workers = procs.slice(1);

    const store = await FlowStore.open(await openPostgres(db.url));
    const registry = new DagRegistry((await loadDagsDir(DAGS)).dags);
    const client = new FlowEngine({ store, registry, scheduler: false, workerSlots: 0, logger: pino({ level: 'silent' }) });
    try {
      await client.init();
      const runs = [];
      for (let i = 0; i < RUNS; i++) runs.push(await client.trigger('mp'));

      // Kill a worker that is in the middle of a task (started, not ended).
      let victim: Proc | undefined;
      let victimTask = '';
      const deadline = Date.now() + 60_000;
      while (!victim) {
        assert.ok(Date.now() < deadline, 'no task started within 60 s');
        const { rows } = await effects.query<{ run_id: string; task: string; pid: number }>(
          `SELECT s.run_id, s.task, s.pid FROM effects s WHERE s.phase = 'start' AND s.task LIKE 'b[%'
             AND NOT EXISTS (SELECT 1 FROM effects e WHERE e.phase = 'end' AND e.run_id = s.run_id AND e.task = s.task)`,
        );
        for (const r of rows) {
          victim = workers.find((w) => w.child.pid === r.pid);
          if (victim) {
            victimTask = `${r.run_id} ${r.task}`;
            break;
          }
        }
        if (!victim) await new Promise((r) => setTimeout(r, 20));
      }
      victim.child.kill('SIGKILL');
      await victim.exited;

      const until = Date.now() + 90_000;
      for (;;) {
        const states: Array<RunRow | undefined> = await Promise.all(runs.map((r) => store.getRun('mp', r.runId)));
        if (states.every((s) => s!.state === 'success' || s!.state === 'failed')) break;
        if (Date.now() > until) {
          const open = states.filter((s) => s!.state === 'running');
          const detail = await Promise.all(open.map(async (s) => `${s!.runId}: ${(await store.runTasks(s!.id)).map((t) => `${t.taskId}[${t.mapIndex}]=${t.state}/try${t.tryNumber}/lost${t.lostCount}`).join(' ')}`));
          assert.fail(`runs did not finish:\n${detail.join('\n')}\n${procs.map((p) => p.out).join('\n')}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }

      const expected = ['a', 'b[0]', 'b[1]', 'b[2]', 'b[3]', 'c'];
      const { rows: ends } = await effects.query<{ run_id: string; task: string; n: number }>(`SELECT run_id, task, COUNT(*)::int AS n FROM effects WHERE phase = 'end' GROUP BY run_id, task`);
      const count = new Map(ends.map((e) => [`${e.run_id} ${e.task}`, e.n]));
      for (const r of runs) {
        const run = await store.getRun('mp', r.runId);
        assert.equal(run!.state, 'success', `run ${r.runId}`);
        for (const t of expected) assert.equal(count.get(`${r.runId} ${t}`), 1, `${r.runId} ${t} finished exactly once`);
        for (const ti of await store.runTasks(run!.id)) {
          if (ti.taskId === 'b' && ti.mapIndex === -1) continue; // the mapped task itself: its items ran
          const attempts = await store.attempts({ runId: run!.id, taskId: ti.taskId, mapIndex: ti.mapIndex });
          assert.equal(attempts.filter((a) => a.outcome === 'success').length, 1, `${r.runId} ${ti.taskId}[${ti.mapIndex}]: one successful attempt`);
        }
      }
      assert.equal(ends.length, RUNS * expected.length, 'no extra task finished');

      // The task the victim was running was lost with it and ran again on another worker.
      const [runId, task] = victimTask.split(' ');
      const run = await store.getRun('mp', runId!);
      const mapIndex = Number(/\[(\d+)\]/.exec(task!)![1]);
      const attempts = await store.attempts({ runId: run!.id, taskId: 'b', mapIndex });
      assert.deepEqual(attempts.map((a) => a.outcome), ['lost', 'success']);
      const { rows: starts } = await effects.query<{ pid: number }>(`SELECT pid FROM effects WHERE run_id = $1 AND task = $2 AND phase = 'start' ORDER BY id`, [runId, task]);
      assert.equal(starts.length, 2);
      assert.notEqual(starts[1]!.pid, victim.child.pid);
    } finally {
      await store.close();
    }
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    for (const p of procs.filter((x) => x !== procs[0] && x.child.signalCode !== 'SIGKILL')) assert.equal(p.child.exitCode, 0, `clean exit:\n${p.out}`);
  });
});
