/**
 * The PostgreSQL store under concurrency, and the engine while PostgreSQL restarts under load.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { defineDag } from '../../src/flow/define/dag.ts';
import { FlowEngine } from '../../src/flow/engine/engine.ts';
import { DagRegistry } from '../../src/flow/engine/registry.ts';
import { FlowStore } from '../../src/flow/store/flow-store.ts';
import { openPostgres } from '../../src/flow/store/sql.ts';
import { freshDatabase, freshDatabaseOn, startPrivateCluster, type PrivateCluster, type TestDatabase } from './helpers/postgres.ts';

describe('PostgreSQL store', () => {
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase('flow_store');
  });
  after(async () => {
    await db?.drop();
  });

  it('concurrent claimers never get the same task instance (FOR UPDATE SKIP LOCKED); late results are fenced', async () => {
    const stores = await Promise.all(Array.from({ length: 4 }, async () => FlowStore.open(await openPostgres(db.url))));
    try {
      const s = stores[0]!;
      const tasks = Array.from({ length: 200 }, (_, i) => ({ taskId: `t${i}`, pool: 'default', priority: 1, host: 'worker' as const }));
      const run = (await s.tx((tx) => s.createRun(tx, { dagId: 'd', runId: 'r', kind: 'manual', state: 'running', interval: { start: 0, end: 0 }, intervalKey: null, params: {}, tasks }, 1)))!;
      await s.tx((tx) => s.applyRunActions(tx, run, tasks.map((t) => ({ type: 'transition' as const, taskId: t.taskId, mapIndex: -1, from: 'pending' as const, to: 'scheduled' as const })), 1));
      assert.equal((await s.admit({ pools: new Map([['default', 1000]]), maxActiveTasks: new Map(), parallelism: 1000 }, 2)).queued, 200);
      const claimed: string[][] = await Promise.all(
        stores.map(async (st, w) => {
          const mine: string[] = [];
          for (;;) {
            const got = await st.claim(`w${w}`, 7, 10_000, 3, { busTasks: true });
            if (got.length === 0) return mine;
            mine.push(...got.map((t) => t.taskId));
          }
        }),
      );
      const all = claimed.flat();
      assert.equal(all.length, 200);
      assert.equal(new Set(all).size, 200, 'no task instance was claimed twice');
      assert.ok(claimed.filter((c) => c.length > 0).length >= 2, 'the work was shared');

      // A result from a worker that no longer holds the task changes nothing.
      const owner = claimed.findIndex((c) => c.includes('t0'));
      const req = { runId: run.id, taskId: 't0', mapIndex: -1, tryNumber: 1, state: 'success' as const, outputJson: '1', outputLength: null, error: null, nextTryAt: null, resumePoke: false, startedAt: 3, endedAt: 4, outcome: 'success' };
      assert.deepEqual(await s.finish([{ ...req, workerId: `w${(owner + 1) % 4}` }], 5), [false]);
      assert.deepEqual(await s.finish([{ ...req, workerId: `w${owner}`, tryNumber: 2 }], 5), [false]);
      assert.deepEqual(await s.finish([{ ...req, workerId: `w${owner}` }, { ...req, taskId: 'nope', workerId: `w${owner}` }], 5), [true, false]);
      assert.equal((await s.taskInstance({ runId: run.id, taskId: 't0', mapIndex: -1 }))!.state, 'success');
    } finally {
      for (const st of stores) await st.close();
    }
  });
});

describe('PostgreSQL restarting under load', () => {
  let cluster: PrivateCluster;
  before(async () => {
    cluster = await startPrivateCluster();
  });
  after(() => cluster?.stop());

  it('runs in flight finish once the server is back: no run lost, no outcome recorded twice', async () => {
    const db = await freshDatabaseOn(cluster.url, 'flow_restart');
    const dag = defineDag({ id: 'busy', maxActiveRuns: 20, maxActiveTasks: 32 }, (d) => {
      const a = d.task('a', async () => new Promise((r) => setTimeout(() => r(1), 30)));
      const items = d.task('items', { after: a }, () => [1, 2, 3, 4, 5, 6]);
      const m = d.map('m', { over: items, retries: 5, retryDelayMs: 50 }, async (ctx, x: number) => new Promise((r) => setTimeout(() => r(x * 2), 40)));
      d.task('sum', { inputs: { m } }, (ctx, { m }) => (m as number[]).reduce((s, x) => s + x, 0));
    });
    const store = await FlowStore.open(await openPostgres(db.url));
    const engine = new FlowEngine({ store, registry: new DagRegistry([dag]), workerSlots: 8, taskLeaseMs: 2000, scanIntervalMs: 200, logger: pino({ level: 'silent' }) });
    try {
      await engine.start();
      const runs = [];
      for (let i = 0; i < 12; i++) runs.push(await engine.trigger('busy'));
      await new Promise((r) => setTimeout(r, 150));
      cluster.restart();
      await new Promise((r) => setTimeout(r, 400));
      cluster.restart();
      // A hang detector, generous for a loaded 2-core CI machine (PostgreSQL restarts meanwhile).
      const deadline = Date.now() + 180_000;
      for (;;) {
        let states: string[];
        try {
          states = await Promise.all(runs.map(async (r) => (await store.getRun('busy', r.runId))!.state));
        } catch {
          states = ['unknown'];
        }
        if (states.every((s) => s === 'success' || s === 'failed')) break;
        assert.ok(Date.now() < deadline, `runs did not finish after the restarts: ${states.join(', ')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const r of runs) {
        const run = (await store.getRun('busy', r.runId))!;
        assert.equal(run.state, 'success', `${r.runId}`);
        const tis = await store.runTasks(run.id);
        assert.equal(tis.find((t) => t.taskId === 'sum')!.output, 42);
        for (const ti of tis.filter((t) => !(t.taskId === 'm' && t.mapIndex === -1))) {
          const attempts = await store.attempts({ runId: run.id, taskId: ti.taskId, mapIndex: ti.mapIndex });
          assert.equal(attempts.filter((a) => a.outcome === 'success').length, 1, `${r.runId} ${ti.taskId}[${ti.mapIndex}] succeeded once`);
        }
      }
    } finally {
      await engine.stop();
      await store.close();
      await db.drop();
    }
  });
});
