/**
 * The scheduler loop: creates and starts runs, moves task instances through their states and
 * admits them to the queue. Every decision is one of the pure functions in `core/`; this loop
 * only reads state, calls them with the clock's time, and applies their actions.
 *
 * A pass has three steps, each in its own transaction:
 *   1. runs: `decideRuns` per DAG (cron intervals, catchup, datasets, queued runs to start);
 *   2. tasks: `decideRun` for each running run that changed or has a timer due — or for every
 *      running run on the periodic full scan;
 *   3. admission: `admit` under the admission lock (pools, maxActiveTasks, parallelism).
 *
 * Passes are event-driven (a task finished, a run was triggered: the pass runs on the next turn
 * of the event loop) plus a periodic scan (`scanIntervalMs`) for cron ticks and timers.
 *
 * Several schedulers: on PostgreSQL each pass locks the DAG and run rows it works on with
 * `FOR UPDATE SKIP LOCKED`, so concurrent schedulers share the work without doing any twice.
 * On SQLite exactly one scheduler may act: it holds a lease (`lease`), renewed every pass; a
 * standby takes over only after the holder stopped renewing for `ttlMs`.
 */
import type { Logger } from 'pino';
import type { Limits } from '../core/admit.ts';
import { decideRun } from '../core/decide-run.ts';
import { decideRuns, type DagScheduleView } from '../core/decide-runs.ts';
import type { Dag } from '../define/dag.ts';
import type { DagShape } from '../define/types.ts';
import { iso } from '../schedule/timetable.ts';
import { intervalKey, type FlowStore, type RunRow } from '../store/flow-store.ts';
import type { Clock, ClockTimer } from './clock.ts';

export interface SchedulerOptions {
  store: FlowStore;
  clock: Clock;
  dags(): ReadonlyMap<string, Dag>;
  limits(): Limits;
  logger: Logger;
  /** Called after task instances were queued (wake the workers). */
  onQueued?(): void;
  onRunFinished?(run: RunRow, state: 'success' | 'failed'): void;
  /** SQLite: act only while holding this lease. */
  lease?: { name: string; holder: string; ttlMs: number } | null;
  scanIntervalMs?: number;
}

export interface PassResult {
  created: number;
  started: number;
  transitions: number;
  finished: number;
  queued: number;
  /** False when another scheduler holds the lease (nothing was done). */
  leader: boolean;
}

const RUN_BATCH = 50;

export class Scheduler {
  private readonly dirty = new Set<number>();
  private running: Promise<PassResult> | null = null;
  private again = false;
  private full = true;
  private stopped = true;
  private timer: ClockTimer | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private leaseUntil = 0;
  private leader = false;
  private readonly shapes = new WeakMap<Dag, DagShape>();
  private lastError = 0;
  private readonly missingDagsLogged = new Set<string>();

  constructor(private readonly o: SchedulerOptions) {}

  get isLeader(): boolean {
    return this.o.lease ? this.leader : true;
  }

  start(): void {
    this.stopped = false;
    this.full = true;
    this.requestPass();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    if (this.immediate) clearImmediate(this.immediate);
    if (this.running) await this.running.catch(() => {});
    if (this.o.lease && this.leader) await this.o.store.releaseLease(this.o.lease.name, this.o.lease.holder).catch(() => {});
    this.leader = false;
  }

  /** Marks runs as changed and asks for a pass on the next turn of the event loop. */
  markDirty(runIds: Iterable<number>): void {
    for (const id of runIds) this.dirty.add(id);
    this.requestPass();
  }

  /** Asks for a pass (coalesced); `full` also re-examines every running run. */
  requestPass(full = false): void {
    if (full) this.full = true;
    if (this.stopped || this.immediate) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.immediate = setImmediate(() => {
      this.immediate = null;
      void this.pass().catch(() => {});
    });
  }

  private shape(dag: Dag): DagShape {
    let s = this.shapes.get(dag);
    if (!s) {
      s = dag.shape();
      this.shapes.set(dag, s);
    }
    return s;
  }

  /** One pass; concurrent calls share the pass in progress and trigger one more after it. */
  pass(): Promise<PassResult> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.timer?.cancel();
    this.timer = null;
    this.running = this.doPass()
      .catch((err) => {
        const now = Date.now();
        if (now - this.lastError > 5000) {
          this.lastError = now;
          this.o.logger.warn({ err: (err as Error).message }, 'flow scheduler: pass failed; retrying');
        }
        return { created: 0, started: 0, transitions: 0, finished: 0, queued: 0, leader: this.leader } satisfies PassResult;
      })
      .finally(() => {
        this.running = null;
        if (this.stopped) return;
        if (this.again || this.dirty.size > 0) {
          this.again = false;
          this.requestPass();
        } else {
          void this.armTimer();
        }
      });
    return this.running;
  }

  private async armTimer(): Promise<void> {
    if (this.stopped) return;
    const scan = this.o.scanIntervalMs ?? 1000;
    let wait = scan;
    try {
      const next = await this.o.store.nextTimer();
      if (next !== null) wait = Math.min(wait, Math.max(0, next - this.o.clock.now() + 1));
    } catch {
      // the periodic scan retries
    }
    if (this.stopped || this.running || this.immediate) return;
    this.timer?.cancel();
    this.timer = this.o.clock.setTimer(wait, () => {
      this.timer = null;
      this.full = wait >= scan || this.full;
      this.requestPass();
    });
  }

  private async holdLease(now: number): Promise<boolean> {
    const lease = this.o.lease;
    if (!lease) return true;
    // Renew when a third of the lease is used up.
    if (this.leader && now < this.leaseUntil - (lease.ttlMs * 2) / 3) return true;
    const d = await this.o.store.lease(lease.name, lease.holder, lease.ttlMs, now);
    const was = this.leader;
    this.leader = d.type !== 'standby';
    if (this.leader) this.leaseUntil = d.type === 'standby' ? 0 : d.expiresAt;
    if (this.leader && !was) {
      this.o.logger.info({ holder: lease.holder }, 'flow scheduler: holding the scheduler lease');
      this.full = true;
    }
    if (!this.leader && was) this.o.logger.warn({ holder: d.type === 'standby' ? d.holder : null }, 'flow scheduler: lost the scheduler lease; standing by');
    return this.leader;
  }

  private async doPass(): Promise<PassResult> {
    const now = this.o.clock.now();
    const result: PassResult = { created: 0, started: 0, transitions: 0, finished: 0, queued: 0, leader: true };
    if (!(await this.holdLease(now))) {
      result.leader = false;
      return result;
    }
    const dags = this.o.dags();
    await this.scheduleRuns(dags, now, result);

    const full = this.full;
    this.full = false;
    const dirty = [...this.dirty];
    this.dirty.clear();
    let ids: number[] | null;
    if (full) ids = null;
    else {
      const due = await this.o.store.runsWithDueTimers(now);
      ids = [...new Set([...dirty, ...due])];
    }
    if (result.started > 0 || result.created > 0) ids = null;
    await this.processRuns(dags, ids, now, result);

    const admitted = await this.o.store.admit(this.o.limits(), now);
    result.queued = admitted.queued;
    if (admitted.queued > 0) this.o.onQueued?.();
    if (admitted.unknownPool > 0) this.again = true;
    return result;
  }

  private async scheduleRuns(dags: ReadonlyMap<string, Dag>, now: number, result: PassResult): Promise<void> {
    const ids = [...dags.keys()];
    if (ids.length === 0) return;
    await this.o.store.tx(async (tx) => {
      const rows = await this.o.store.lockDags(tx, ids);
      const counts = await this.o.store.runCounts(tx, rows.map((r) => r.dagId));
      for (const row of rows) {
        const dag = dags.get(row.dagId)!;
        const c = counts.get(row.dagId)!;
        const tt = dag.timetable;
        const view: DagScheduleView = {
          dagId: row.dagId,
          paused: row.paused,
          timetable: tt,
          catchup: dag.options.catchup,
          start: dag.options.start ?? (dag.options.catchup ? row.firstSeenAt : Number.NEGATIVE_INFINITY),
          end: dag.options.end,
          maxActiveRuns: dag.options.maxActiveRuns,
          running: c.running,
          queued: c.queued,
          lastScheduled: row.lastScheduled,
          datasetEvents: tt.datasets ? await this.o.store.datasetEventsAfter(tx, row.datasetCursor, tt.datasets.datasets) : new Map(),
          lastDatasetRunEnd: row.lastDatasetEnd,
        };
        for (const a of decideRuns(view, now)) {
          if (a.type === 'startRun') {
            if (await this.o.store.startRun(tx, a.runId, now)) result.started++;
            continue;
          }
          const shape = this.shape(dag);
          const tasks = shape.tasks.map((t) => ({ taskId: t.id, pool: t.policy.pool, priority: t.policy.priority, host: t.host }));
          let params: Record<string, unknown>;
          try {
            params = dag.resolveParams(undefined) as Record<string, unknown>;
          } catch {
            params = {};
          }
          if (a.kind === 'scheduled') {
            const run = await this.o.store.createRun(
              tx,
              { dagId: dag.id, runId: `scheduled__${iso(a.interval.start)}`, kind: 'scheduled', state: 'running', interval: a.interval, intervalKey: intervalKey(a.interval), params, tasks },
              now,
            );
            // Advance even when the interval already had a run (a backfill made it): never retry it.
            await this.o.store.advanceScheduled(tx, dag.id, a.interval);
            if (run) {
              result.created++;
              this.o.logger.info({ dag: dag.id, run: run.runId }, 'flow: run created');
            }
          } else {
            const run = await this.o.store.createRun(
              tx,
              {
                dagId: dag.id,
                runId: `dataset__${iso(a.interval.end)}__${a.datasetCursor}`,
                kind: 'dataset',
                state: 'running',
                interval: a.interval,
                intervalKey: `dataset-${a.datasetCursor}`,
                params,
                tasks,
              },
              now,
            );
            await this.o.store.advanceDatasetCursor(tx, dag.id, a.datasetCursor, a.interval.end);
            if (run) {
              result.created++;
              this.o.logger.info({ dag: dag.id, run: run.runId }, 'flow: run created (dataset update)');
            }
          }
        }
      }
    });
  }

  private async processRuns(dags: ReadonlyMap<string, Dag>, only: number[] | null, now: number, result: PassResult): Promise<void> {
    const offsetIds = only ? [...only] : null;
    let afterId = 0;
    for (;;) {
      const batch = offsetIds ? offsetIds.splice(0, RUN_BATCH) : null;
      if (batch && batch.length === 0) return;
      const finished: Array<{ run: RunRow; state: 'success' | 'failed' }> = [];
      let examined = 0;
      await this.o.store.tx(async (tx) => {
        const runs = batch ? await this.o.store.lockRunningRuns(tx, RUN_BATCH, batch) : await this.o.store.lockRunningRuns(tx, RUN_BATCH, undefined, afterId);
        examined = runs.length;
        for (const run of runs) {
          afterId = Math.max(afterId, run.id);
          const dag = dags.get(run.dagId);
          if (!dag) {
            if (!this.missingDagsLogged.has(run.dagId)) {
              this.missingDagsLogged.add(run.dagId);
              this.o.logger.warn({ dag: run.dagId }, 'flow scheduler: a running run belongs to a DAG that is not loaded; its tasks wait until the DAG is back');
            }
            continue;
          }
          const view = await this.o.store.runView(tx, run, now);
          const actions = decideRun(this.shape(dag), view, now);
          if (actions.length === 0) continue;
          const r = await this.o.store.applyRunActions(tx, run, actions, now);
          result.transitions += r.applied;
          if (r.finished) {
            result.finished++;
            finished.push({ run, state: r.finished as 'success' | 'failed' });
          }
        }
      });
      for (const f of finished) {
        this.o.logger.info({ dag: f.run.dagId, run: f.run.runId, state: f.state }, 'flow: run finished');
        this.o.onRunFinished?.(f.run, f.state);
      }
      if (!batch && examined < RUN_BATCH) return;
    }
  }
}
