/**
 * One flow engine: a DAG registry, the metadata store, and (each optional) a scheduler loop and
 * a worker loop — plus every operation the HTTP API and the CLI offer (trigger, backfill, pause,
 * mark, clear, logs, dataset events). `tributary up` runs one with both loops; `tributary
 * scheduler` and `tributary worker` run one loop each against PostgreSQL; `runDag` runs one
 * in-process on an in-memory SQLite database with a manual clock.
 *
 * Wake-ups: in one process the loops call each other directly (a finished task wakes the
 * scheduler; a queued task wakes the worker), which is what makes hand-offs take about a
 * millisecond. Across processes (PostgreSQL) the same wake-ups travel as NOTIFY on
 * `flow_changed` and `flow_queued`; the periodic scan covers any lost notification.
 */
import { EventEmitter } from 'node:events';
import pino, { type Logger } from 'pino';
import { Governance, type Principal, ANONYMOUS } from '../../govern/index.ts';
import type { Limits } from '../core/admit.ts';
import { isTerminal, type RunState, type TaskState } from '../core/states.ts';
import type { Dag } from '../define/dag.ts';
import { asFlowError, FlowError } from '../errors.ts';
import { InlineExecutor } from '../exec/inline-executor.ts';
import type { TaskExecutor } from '../exec/types.ts';
import { iso, parseTime, type Interval } from '../schedule/timetable.ts';
import { intervalKey, type AttemptRow, type DagRow, type FlowStore, type LogLine, type RunRow, type TaskInstance } from '../store/flow-store.ts';
import { systemClock, type Clock } from './clock.ts';
import type { HostEnv, LakeProbe } from './host-sensors.ts';
import type { WarehouseResolver } from './host-warehouse.ts';
import { dagInfo, type DagRegistry } from './registry.ts';
import { Scheduler } from './scheduler.ts';
import { Worker } from './worker.ts';
import type { Bus } from '../../bus/types.ts';

export interface FlowEngineOptions {
  store: FlowStore;
  registry: DagRegistry;
  clock?: Clock;
  /** Clock for task timeouts (default `clock`). */
  timeoutClock?: Clock;
  /** Runs attempts (default: inline, in this process). */
  executor?: TaskExecutor;
  /** Run a scheduler (default true). */
  scheduler?: boolean;
  /** Worker slots; 0 = no worker in this engine (default 4). */
  workerSlots?: number;
  /** Slots per pool; "default" is added with 128 slots unless given. */
  pools?: Record<string, number>;
  /** Task instances queued or running at once, across everything (default 1024). */
  parallelism?: number;
  /** Scheduler lease (default: on for SQLite, 15 s; off for PostgreSQL, where schedulers share work). */
  schedulerLease?: { ttlMs: number } | false;
  /** Task lease; a worker that stops renewing for this long loses its tasks (default 30 s). */
  taskLeaseMs?: number;
  scanIntervalMs?: number;
  governance?: Governance;
  logger?: Logger;
  bus?: Bus | null;
  lake?: LakeProbe | null;
  /** The warehouse for `ctx.sql` / `ctx.models`, found at call time (the flow part looks up the warehouse part). */
  warehouse?: WarehouseResolver | null;
  workerId?: string;
  random?: () => number;
}

export interface DagSummary {
  dagId: string;
  loaded: boolean;
  paused: boolean;
  schedule: string;
  scheduleKind: 'cron' | 'manual' | 'datasets';
  timezone: string;
  catchup: boolean;
  tags: string[];
  description: string | null;
  file: string | null;
  tasks: number;
  nextRunAt: string | null;
  lastRun: { runId: string; state: RunState; intervalStart: string; intervalEnd: string } | null;
  runs: Partial<Record<RunState, number>>;
}

export interface RunSummary {
  id: number;
  runId: string;
  dagId: string;
  kind: string;
  state: RunState;
  intervalStart: string;
  intervalEnd: string;
  params: Record<string, unknown>;
  backfillId: number | null;
  note: string | null;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
}

export interface TaskView {
  taskId: string;
  mapIndex: number;
  state: TaskState;
  tryNumber: number;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  workerId: string | null;
  error: string | null;
  output: unknown;
  nextTryAt: string | null;
  /** Mapped tasks: their items by state. */
  items?: Partial<Record<TaskState, number>>;
}

export interface RunDetail extends RunSummary {
  tasks: TaskView[];
}

export interface BackfillStatus {
  id: number;
  dagId: string;
  from: string;
  to: string;
  total: number;
  created: number;
  skipped: number;
  states: Partial<Record<RunState, number>>;
  done: number;
  complete: boolean;
}

function resolveParams(dag: Dag, given: unknown): Record<string, unknown> {
  try {
    return dag.resolveParams(given) as Record<string, unknown>;
  } catch (err) {
    throw asFlowError(err);
  }
}

const isoOrNull = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

export function runSummary(r: RunRow): RunSummary {
  return {
    id: r.id,
    runId: r.runId,
    dagId: r.dagId,
    kind: r.kind,
    state: r.state,
    intervalStart: iso(r.intervalStart),
    intervalEnd: iso(r.intervalEnd),
    params: r.params,
    backfillId: r.backfillId,
    note: r.note,
    createdAt: iso(r.createdAt),
    startedAt: isoOrNull(r.startedAt),
    endedAt: isoOrNull(r.endedAt),
    durationMs: r.startedAt !== null && r.endedAt !== null ? r.endedAt - r.startedAt : null,
  };
}

function taskView(t: TaskInstance): TaskView {
  return {
    taskId: t.taskId,
    mapIndex: t.mapIndex,
    state: t.state,
    tryNumber: t.tryNumber,
    startedAt: isoOrNull(t.startedAt === null ? null : Math.round(t.startedAt)),
    endedAt: isoOrNull(t.endedAt === null ? null : Math.round(t.endedAt)),
    durationMs: t.startedAt !== null && t.endedAt !== null ? Math.round((t.endedAt - t.startedAt) * 1000) / 1000 : null,
    workerId: t.workerId,
    error: t.error,
    output: t.output === undefined ? null : t.output,
    nextTryAt: isoOrNull(t.nextTryAt),
  };
}

export class FlowEngine {
  readonly store: FlowStore;
  readonly registry: DagRegistry;
  readonly clock: Clock;
  readonly scheduler: Scheduler | null;
  readonly worker: Worker | null;
  readonly events = new EventEmitter();
  readonly governance: Governance;
  private readonly logger: Logger;
  private readonly pools: Map<string, number>;
  private readonly parallelism: number;
  private readonly unlisten: Array<() => Promise<void>> = [];
  private started = false;
  readonly executor: TaskExecutor;
  /** The bus tasks reach through `ctx.topics` (null in processes without one). */
  readonly bus: Bus | null;
  readonly lake: LakeProbe | null;

  constructor(o: FlowEngineOptions) {
    this.bus = o.bus ?? null;
    this.lake = o.lake ?? null;
    this.store = o.store;
    this.registry = o.registry;
    this.clock = o.clock ?? systemClock;
    this.logger = o.logger ?? pino({ level: 'silent' });
    this.governance = o.governance ?? new Governance();
    this.pools = new Map(Object.entries({ default: 128, ...(o.pools ?? {}) }));
    this.parallelism = o.parallelism ?? 1024;
    this.events.setMaxListeners(0);
    this.executor = o.executor ?? new InlineExecutor((id) => this.registry.get(id));
    const leaseOpt = o.schedulerLease ?? (this.store.dialect === 'sqlite' ? { ttlMs: 15_000 } : false);
    this.scheduler =
      o.scheduler === false
        ? null
        : new Scheduler({
            store: this.store,
            clock: this.clock,
            dags: () => this.registry.dags,
            limits: () => this.limits(),
            logger: this.logger,
            onQueued: () => {
              this.worker?.wake();
              if (this.store.dialect === 'postgres') void this.store.db.notify('flow_queued', '').catch(() => {});
            },
            onRunFinished: (run, state) => this.events.emit('run', run.id, state, run.dagId),
            lease: leaseOpt ? { name: 'scheduler', holder: o.workerId ?? `scheduler-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, ttlMs: leaseOpt.ttlMs } : null,
            ...(o.scanIntervalMs !== undefined ? { scanIntervalMs: o.scanIntervalMs } : {}),
          });
    const slots = o.workerSlots ?? 4;
    const host: HostEnv = { store: this.store, bus: o.bus ?? null, lake: o.lake ?? null, warehouse: o.warehouse ?? null };
    this.worker =
      slots > 0
        ? new Worker({
            ...(o.workerId ? { id: o.workerId } : {}),
            store: this.store,
            clock: this.clock,
            ...(o.timeoutClock ? { timeoutClock: o.timeoutClock } : {}),
            dag: (id) => this.registry.get(id),
            dagIds: () => (this.store.dialect === 'postgres' ? [...this.registry.dags.keys()] : undefined),
            executor: this.executor,
            slots,
            ...(o.taskLeaseMs !== undefined ? { leaseMs: o.taskLeaseMs } : {}),
            governance: this.governance,
            host,
            logger: this.logger,
            onFinished: (runIds) => {
              this.scheduler?.markDirty(runIds);
              for (const id of runIds) this.events.emit('changed', id);
              if (this.store.dialect === 'postgres') void this.store.db.notify('flow_changed', runIds.join(',')).catch(() => {});
            },
            onLog: (key) => this.events.emit('log', key),
            ...(o.random ? { random: o.random } : {}),
          })
        : null;
  }

  limits(): Limits {
    const maxActiveTasks = new Map<string, number>();
    for (const d of this.registry.dags.values()) maxActiveTasks.set(d.id, d.options.maxActiveTasks);
    return { pools: this.pools, maxActiveTasks, parallelism: this.parallelism };
  }

  /** Records the registry's DAGs in the store (so other processes and the CLI see them). */
  async syncDags(): Promise<void> {
    const now = this.clock.now();
    for (const dag of this.registry.dags.values()) await this.store.upsertDag(dag.id, dagInfo(dag), now);
  }

  /** Syncs DAGs and registers the worker without starting any loop (tests drive `tick`/`settle`). */
  async init(): Promise<void> {
    await this.syncDags();
  }

  /** Starts the loops (and, on PostgreSQL, the NOTIFY listeners). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.syncDags();
    if (this.store.dialect === 'postgres') {
      if (this.scheduler) {
        this.unlisten.push(
          await this.store.db.listen('flow_changed', (payload) => {
            const ids = payload.split(',').filter(Boolean).map(Number);
            this.scheduler!.markDirty(ids);
            for (const id of ids) this.events.emit('changed', id);
          }),
        );
        this.unlisten.push(await this.store.db.listen('flow_wake', () => this.scheduler!.requestPass(true)));
      }
      if (this.worker) this.unlisten.push(await this.store.db.listen('flow_queued', () => this.worker!.wake()));
    }
    // Child processes start in the background (and only when there is something to run), so
    // \`tributary up\` is ready at once and a project without DAGs costs nothing.
    if (this.registry.dags.size > 0) void this.executor.warmUp?.().catch((err) => this.logger.warn({ err }, 'flow: starting task processes failed'));
    this.scheduler?.start();
    await this.worker?.start();
  }

  async stop(): Promise<void> {
    if (this.worker) await this.worker.stop();
    if (this.scheduler) await this.scheduler.stop();
    for (const u of this.unlisten.splice(0)) await u().catch(() => {});
    await this.executor.close();
    this.started = false;
  }

  /** Wakes the scheduler (in this process, and on PostgreSQL the other schedulers too). */
  private poke(): void {
    this.scheduler?.requestPass(true);
    if (this.store.dialect === 'postgres') void this.store.db.notify('flow_wake', '').catch(() => {});
  }

  /** One scheduler pass and one worker fill, now (tests and `runDag`). */
  async tick(): Promise<{ progressed: boolean }> {
    const r = this.scheduler ? await this.scheduler.pass() : null;
    const n = this.worker ? await this.worker.fill() : 0;
    return { progressed: n > 0 || (r !== null && r.created + r.started + r.transitions + r.queued > 0) };
  }

  /** Ticks until nothing changes and nothing runs. */
  async settle(maxTicks = 100_000): Promise<void> {
    for (let i = 0; i < maxTicks; i++) {
      const { progressed } = await this.tick();
      await this.worker?.idle();
      if (!progressed) {
        const again = await this.tick();
        await this.worker?.idle();
        if (!again.progressed) return;
      }
    }
    throw new FlowError('BAD_REQUEST', `the engine did not settle within ${maxTicks} ticks`);
  }

  // ---------------------------------------------------------------------------------------------
  // DAGs

  private requireDag(dagId: string): Dag {
    const dag = this.registry.get(dagId);
    if (!dag) {
      const errs = this.registry.importErrors;
      throw new FlowError(
        'DAG_NOT_FOUND',
        `no DAG ${JSON.stringify(dagId)}${errs.length ? ` (${errs.length} DAG file${errs.length === 1 ? '' : 's'} failed to load: ${errs.map((e) => e.file).join(', ')})` : ''}: see \`tributary dags list\``,
      );
    }
    return dag;
  }

  async listDags(): Promise<DagSummary[]> {
    const [rows, counts, latest] = await Promise.all([this.store.listDags(), this.store.runStateCounts(), this.store.latestRuns()]);
    const byId = new Map(rows.map((r) => [r.dagId, r]));
    const ids = new Set([...this.registry.dags.keys(), ...rows.map((r) => r.dagId)]);
    return [...ids].sort().map((id) => this.summary(id, byId.get(id), counts.get(id) ?? {}, latest.get(id)));
  }

  private summary(dagId: string, row: DagRow | undefined, runs: Partial<Record<RunState, number>>, last: RunRow | undefined): DagSummary {
    const dag = this.registry.get(dagId);
    const info = dag ? dagInfo(dag) : row!.info;
    let nextRunAt: string | null = null;
    if (dag && dag.timetable.kind === 'cron') {
      const now = this.clock.now();
      const after = row?.lastScheduled ? dag.timetable.intervalAfter(row.lastScheduled) : dag.timetable.intervalStartingAtOrAfter(now);
      if (after) nextRunAt = iso(Math.max(after.end, row?.lastScheduled ? 0 : after.end));
    }
    return {
      dagId,
      loaded: Boolean(dag),
      paused: row?.paused ?? false,
      schedule: info.schedule,
      scheduleKind: info.scheduleKind,
      timezone: info.timezone,
      catchup: info.catchup,
      tags: info.tags,
      description: info.description,
      file: info.file,
      tasks: info.shape.tasks.length,
      nextRunAt,
      lastRun: last ? { runId: last.runId, state: last.state, intervalStart: iso(last.intervalStart), intervalEnd: iso(last.intervalEnd) } : null,
      runs,
    };
  }

  async describeDag(dagId: string): Promise<DagSummary & { tasks_: unknown; params: Record<string, unknown>; groups: string[]; datasets: unknown }> {
    const dag = this.requireDag(dagId);
    const row = await this.store.getDag(dagId);
    const counts = (await this.store.runStateCounts()).get(dagId) ?? {};
    const last = (await this.store.latestRuns()).get(dagId);
    const info = dagInfo(dag);
    return {
      ...this.summary(dagId, row, counts, last),
      tasks_: info.shape.tasks,
      params: info.params,
      groups: [...dag.groups],
      datasets: info.datasets,
    };
  }

  async setPaused(dagId: string, paused: boolean, principal: Principal = ANONYMOUS): Promise<DagSummary> {
    const dag = this.requireDag(dagId);
    this.governance.authorize(principal, 'alter', { type: 'dag', name: dag.id }, 'flow');
    const now = this.clock.now();
    if (!(await this.store.setPaused(dagId, paused, now))) {
      await this.store.upsertDag(dag.id, dagInfo(dag), now);
      await this.store.setPaused(dagId, paused, now);
    }
    this.poke();
    return (await this.listDags()).find((d) => d.dagId === dagId)!;
  }

  // ---------------------------------------------------------------------------------------------
  // Runs

  /**
   * Creates a manual run (queued; it starts when fewer than maxActiveRuns run). With an explicit
   * `logicalDate` (a schedule tick) or interval the run is tied to that interval: a second run of
   * the same interval is refused (RUN_EXISTS) — clear the existing one to re-run it.
   */
  async trigger(
    dagId: string,
    opts: { params?: unknown; logicalDate?: string | number | Date; intervalStart?: string | number | Date; intervalEnd?: string | number | Date; note?: string; principal?: Principal } = {},
  ): Promise<RunSummary> {
    const dag = this.requireDag(dagId);
    this.governance.authorize(opts.principal ?? ANONYMOUS, 'execute', { type: 'dag', name: dag.id }, 'flow');
    const params = resolveParams(dag, opts.params);
    const now = this.clock.now();
    let interval: Interval;
    let key: string | null = null;
    if (opts.intervalStart !== undefined || opts.intervalEnd !== undefined) {
      if (opts.intervalStart === undefined || opts.intervalEnd === undefined) throw new FlowError('BAD_REQUEST', 'give both intervalStart and intervalEnd (or a logicalDate)');
      interval = { start: parseTime(opts.intervalStart, 'intervalStart'), end: parseTime(opts.intervalEnd, 'intervalEnd') };
      if (interval.end < interval.start) throw new FlowError('BAD_REQUEST', `intervalEnd ${iso(interval.end)} is before intervalStart ${iso(interval.start)}`);
      key = intervalKey(interval);
    } else if (opts.logicalDate !== undefined) {
      const t = parseTime(opts.logicalDate, 'logicalDate');
      const iv = dag.timetable.intervalStartingAtOrAfter(t);
      if (dag.timetable.kind !== 'cron' || !iv) {
        interval = { start: t, end: t };
      } else {
        if (iv.start !== t) {
          throw new FlowError('BAD_REQUEST', `logicalDate ${iso(t)} is not a tick of the schedule ${dag.timetable.description} (${dag.options.timezone}); the next one is ${iso(iv.start)}`);
        }
        interval = iv;
      }
      key = intervalKey(interval);
    } else {
      interval = dag.timetable.manualInterval(now);
    }
    const shape = dag.shape();
    const tasks = shape.tasks.map((t) => ({ taskId: t.id, pool: t.policy.pool, priority: t.policy.priority, host: t.host }));
    const run = await this.store.tx(async (tx) => {
      if (key) {
        const existing = await this.store.runByInterval(tx, dag.id, key);
        if (existing) {
          throw new FlowError(
            'RUN_EXISTS',
            `dag ${dag.id} already has run ${existing.runId} (${existing.state}) for the interval ${iso(interval.start)} – ${iso(interval.end)}: clear its tasks to run it again (tributary dags clear ${dag.id} ${existing.runId} <task>)`,
          );
        }
      }
      const base = key ? `manual__${iso(interval.start)}` : `manual__${iso(now)}`;
      for (let i = 0; i < 100; i++) {
        const r = await this.store.createRun(tx, { dagId: dag.id, runId: i === 0 ? base : `${base}_${i + 1}`, kind: 'manual', state: 'queued', interval, intervalKey: key, params, note: opts.note ?? null, tasks }, now);
        if (r) return r;
      }
      throw new FlowError('RUN_EXISTS', `cannot pick a run id for dag ${dag.id}: too many manual runs at ${iso(now)}`);
    });
    this.logger.info({ dag: dag.id, run: run.runId }, 'flow: run triggered');
    this.poke();
    return runSummary(run);
  }

  /**
   * Creates one run per schedule interval in [from, to) that has none yet (queued, oldest first).
   * `rerunFailed` also clears the failed tasks of failed runs in the range.
   */
  async backfill(dagId: string, opts: { from: string | number | Date; to: string | number | Date; rerunFailed?: boolean; params?: unknown; principal?: Principal }): Promise<BackfillStatus> {
    const dag = this.requireDag(dagId);
    this.governance.authorize(opts.principal ?? ANONYMOUS, 'execute', { type: 'dag', name: dag.id }, 'flow');
    const from = parseTime(opts.from, 'from');
    const to = parseTime(opts.to, 'to');
    if (to <= from) throw new FlowError('BAD_REQUEST', `backfill: "to" (${iso(to)}) must be after "from" (${iso(from)})`);
    if (dag.timetable.kind !== 'cron') {
      throw new FlowError('BAD_REQUEST', `dag ${dag.id} has no time schedule (${dag.timetable.description}): backfill needs a cron schedule; trigger runs with an explicit interval instead`);
    }
    const intervals = dag.timetable.between(from, to, 100_001);
    if (intervals.length === 0) {
      throw new FlowError('BAD_REQUEST', `no interval of the schedule ${dag.timetable.description} (${dag.options.timezone}) lies within ${iso(from)} – ${iso(to)}`);
    }
    if (intervals.length > 100_000) throw new FlowError('BAD_REQUEST', `backfill of ${dag.id}: more than 100000 intervals between ${iso(from)} and ${iso(to)}: split it`);
    const params = resolveParams(dag, opts.params);
    const shape = dag.shape();
    const tasks = shape.tasks.map((t) => ({ taskId: t.id, pool: t.policy.pool, priority: t.policy.priority, host: t.host }));
    const now = this.clock.now();
    const failedToClear: RunRow[] = [];
    const { id, created, skipped } = await this.store.tx(async (tx) => {
      const id = await this.store.createBackfill(dag.id, from, to, intervals.length, { rerunFailed: Boolean(opts.rerunFailed) }, now, tx);
      let created = 0;
      let skipped = 0;
      for (const iv of intervals) {
        const run = await this.store.createRun(
          tx,
          { dagId: dag.id, runId: `backfill__${iso(iv.start)}`, kind: 'backfill', state: 'queued', interval: iv, intervalKey: intervalKey(iv), params, backfillId: id, tasks },
          now,
        );
        if (run) created++;
        else {
          skipped++;
          const existing = await this.store.runByInterval(tx, dag.id, intervalKey(iv));
          if (existing && existing.state === 'failed' && opts.rerunFailed) {
            await this.store.setRunBackfill(tx, existing.id, id);
            failedToClear.push(existing);
          }
        }
      }
      return { id, created, skipped };
    });
    for (const run of failedToClear) {
      const tis = await this.store.runTasks(run.id, { items: false });
      await this.store.clearTasks(run, tis.filter((t) => t.state === 'failed' || t.state === 'upstream_failed').map((t) => t.taskId), now);
    }
    this.logger.info({ dag: dag.id, backfill: id, created, skipped }, 'flow: backfill created');
    this.poke();
    return { ...(await this.backfillStatus(dag.id, id)), created, skipped };
  }

  async backfillStatus(dagId: string, id: number): Promise<BackfillStatus> {
    const b = await this.store.getBackfill(dagId, id);
    if (!b) throw new FlowError('BACKFILL_NOT_FOUND', `dag ${dagId} has no backfill ${id}`);
    const states = await this.store.intervalRunStates(dagId, b.from, b.to);
    const done = (states.success ?? 0) + (states.failed ?? 0);
    return { id, dagId, from: iso(b.from), to: iso(b.to), total: b.total, created: 0, skipped: 0, states, done, complete: done >= b.total };
  }

  async listRuns(dagId: string, opts: { state?: RunState; limit?: number; backfillId?: number } = {}): Promise<RunSummary[]> {
    if (!this.registry.get(dagId) && !(await this.store.getDag(dagId))) this.requireDag(dagId);
    return (await this.store.listRuns(dagId, opts)).map(runSummary);
  }

  async requireRun(dagId: string, ref: string | number): Promise<RunRow> {
    const run = await this.store.getRun(dagId, ref);
    if (!run) {
      if (!this.registry.get(dagId) && !(await this.store.getDag(dagId))) this.requireDag(dagId);
      throw new FlowError('RUN_NOT_FOUND', `dag ${dagId} has no run ${JSON.stringify(String(ref))}: see \`tributary dags runs ${dagId}\``);
    }
    return run;
  }

  async getRun(dagId: string, ref: string | number, opts: { items?: boolean } = {}): Promise<RunDetail> {
    const run = await this.requireRun(dagId, ref);
    const all = await this.store.runTasks(run.id);
    const parents = all.filter((t) => t.mapIndex === -1);
    const order = new Map([...(this.registry.get(dagId)?.tasks.keys() ?? [])].map((id, i) => [id, i]));
    parents.sort((a, b) => (order.get(a.taskId) ?? 1e9) - (order.get(b.taskId) ?? 1e9) || a.taskId.localeCompare(b.taskId));
    const tasks: TaskView[] = [];
    for (const p of parents) {
      const v = taskView(p);
      const items = all.filter((t) => t.taskId === p.taskId && t.mapIndex >= 0);
      if (items.length) {
        v.items = {};
        for (const it of items) v.items[it.state] = (v.items[it.state] ?? 0) + 1;
        if (v.output === null && p.state === 'success') v.output = items.map((i) => i.output ?? null);
      }
      tasks.push(v);
      if (opts.items) tasks.push(...items.map(taskView));
    }
    return { ...runSummary(run), tasks };
  }

  private requireTask(dagId: string, taskId: string): Dag {
    const dag = this.requireDag(dagId);
    if (!dag.tasks.has(taskId)) {
      throw new FlowError('TASK_NOT_FOUND', `dag ${dagId} has no task ${JSON.stringify(taskId)}; its tasks: ${[...dag.tasks.keys()].join(', ')}`);
    }
    return dag;
  }

  /** Marks a task (and with `downstream` everything after it) success or failed. Running attempts are stopped. */
  async markTask(dagId: string, runRef: string, taskId: string, state: 'success' | 'failed', opts: { downstream?: boolean; principal?: Principal } = {}): Promise<{ changed: string[]; run: RunSummary }> {
    const dag = this.requireTask(dagId, taskId);
    this.governance.authorize(opts.principal ?? ANONYMOUS, 'execute', { type: 'dag', name: dag.id }, 'flow');
    const run = await this.requireRun(dagId, runRef);
    const ids = [taskId, ...(opts.downstream ? dag.downstreamOf(taskId) : [])];
    await this.store.markTasks(run, ids, state, this.clock.now());
    this.scheduler?.markDirty([run.id]);
    this.poke();
    return { changed: ids, run: runSummary((await this.store.runById(run.id))!) };
  }

  /** Clears a task (and by default everything downstream) so it runs again; earlier attempts and logs are kept. */
  async clearTask(dagId: string, runRef: string, taskId: string, opts: { downstream?: boolean; principal?: Principal } = {}): Promise<{ cleared: string[]; run: RunSummary }> {
    const dag = this.requireTask(dagId, taskId);
    this.governance.authorize(opts.principal ?? ANONYMOUS, 'execute', { type: 'dag', name: dag.id }, 'flow');
    const run = await this.requireRun(dagId, runRef);
    const ids = [taskId, ...(opts.downstream === false ? [] : dag.downstreamOf(taskId))];
    await this.store.clearTasks(run, ids, this.clock.now());
    this.poke();
    return { cleared: ids, run: runSummary((await this.store.runById(run.id))!) };
  }

  // ---------------------------------------------------------------------------------------------
  // Logs

  async taskAttempts(dagId: string, runRef: string, taskId: string, mapIndex = -1): Promise<{ task: TaskView; attempts: AttemptRow[] }> {
    const run = await this.requireRun(dagId, runRef);
    const ti = await this.store.taskInstance({ runId: run.id, taskId, mapIndex });
    if (!ti) throw new FlowError('TASK_NOT_FOUND', `run ${run.runId} of dag ${dagId} has no task ${taskId}${mapIndex >= 0 ? `[${mapIndex}]` : ''}`);
    return { task: taskView(ti), attempts: await this.store.attempts({ runId: run.id, taskId, mapIndex }) };
  }

  /**
   * Log lines of one attempt (default: the latest) after `afterId`; `done` once the attempt has
   * ended and every line was returned.
   */
  async readLogs(
    dagId: string,
    runRef: string,
    taskId: string,
    opts: { mapIndex?: number; tryNumber?: number; afterId?: number; limit?: number } = {},
  ): Promise<{ runId: number; tryNumber: number; state: TaskState; lines: LogLine[]; done: boolean }> {
    const run = await this.requireRun(dagId, runRef);
    const mapIndex = opts.mapIndex ?? -1;
    const ti = await this.store.taskInstance({ runId: run.id, taskId, mapIndex });
    if (!ti) throw new FlowError('TASK_NOT_FOUND', `run ${run.runId} of dag ${dagId} has no task ${taskId}${mapIndex >= 0 ? `[${mapIndex}]` : ''}`);
    const tryNumber = opts.tryNumber ?? Math.max(1, ti.tryNumber);
    if (opts.tryNumber !== undefined && (opts.tryNumber < 1 || opts.tryNumber > Math.max(1, ti.tryNumber))) {
      throw new FlowError('BAD_REQUEST', `task ${taskId} has ${ti.tryNumber} attempt${ti.tryNumber === 1 ? '' : 's'}; try must be from 1 to ${Math.max(1, ti.tryNumber)}`);
    }
    const lines = await this.store.readLogs({ runId: run.id, taskId, mapIndex }, tryNumber, opts.afterId ?? 0, opts.limit ?? 1000);
    const attemptOver = tryNumber < ti.tryNumber || (ti.state !== 'running' && ti.state !== 'queued' && ti.state !== 'scheduled') || isTerminal(ti.state);
    return { runId: run.id, tryNumber, state: ti.state, lines, done: attemptOver && lines.length < (opts.limit ?? 1000) };
  }

  // ---------------------------------------------------------------------------------------------
  // Datasets

  /**
   * The hook other parts call when a dataset (a lake table, a model) got a new snapshot:
   * data-aware DAGs run, dataset sensors see it.
   * @example
   * ```ts
   * await flow.onDatasetUpdated('lake.orders', { snapshot: 42 });
   * ```
   */
  async onDatasetUpdated(name: string, info: Record<string, unknown> = {}, at?: number): Promise<number> {
    if (typeof name !== 'string' || name.trim() === '') throw new FlowError('BAD_REQUEST', 'a dataset name must be a non-empty string');
    const id = await this.store.addDatasetEvent(name, at ?? this.clock.now(), info);
    this.poke();
    return id;
  }

  status(): Record<string, unknown> {
    return {
      dags: this.registry.dags.size,
      importErrors: this.registry.importErrors.length,
      scheduler: this.scheduler ? { leader: this.scheduler.isLeader } : null,
      worker: this.worker?.status() ?? null,
      executor: this.executor.status?.() ?? { mode: this.executor.mode },
      metadata: this.store.dialect,
    };
  }
}
