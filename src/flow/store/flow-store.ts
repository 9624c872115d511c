/**
 * The flow metadata store: DAGs, runs, task instances, attempts, logs, leases, dataset events
 * and backfills, over SQLite or PostgreSQL (one implementation; the few dialect differences are
 * marked).
 *
 * Concurrency rules every method keeps:
 * - A state change names the state it expects (`… WHERE state = $from`): a decision made on a
 *   stale read changes nothing instead of overwriting a newer state.
 * - Work is claimed with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite serializes writers), so two
 *   workers never claim the same task instance.
 * - A worker's writes about a task are fenced by (state = running, worker_id, try_number): after
 *   its lease expired and the task was handed to another worker, its late result is dropped.
 */
import type { DagShape, RunKind, TaskHost } from '../define/types.ts';
import type { RunAction } from '../core/decide-run.ts';
import type { Interval } from '../schedule/timetable.ts';
import { decideLease, type LeaseDecision } from '../core/lease.ts';
import { admit, type Limits } from '../core/admit.ts';
import type { RunState, RunView, StateCounts, TaskRow, TaskState } from '../core/states.ts';
import { FlowError } from '../errors.ts';
import { schemaSql, SCHEMA_VERSION } from './schema.ts';
import type { SqlDb, SqlExec } from './sql.ts';

export interface DagInfo {
  shape: DagShape;
  schedule: string;
  scheduleKind: 'cron' | 'manual' | 'datasets';
  datasets: { names: string[]; mode: 'all' | 'any' } | null;
  timezone: string;
  catchup: boolean;
  start: number | null;
  end: number | null;
  tags: string[];
  description: string | null;
  params: Record<string, unknown>;
  file: string | null;
}

export interface DagRow {
  dagId: string;
  paused: boolean;
  firstSeenAt: number;
  updatedAt: number;
  info: DagInfo;
  datasetCursor: number;
  lastScheduled: Interval | null;
  lastDatasetEnd: number | null;
}

export interface RunRow {
  id: number;
  dagId: string;
  runId: string;
  kind: RunKind;
  state: RunState;
  intervalStart: number;
  intervalEnd: number;
  intervalKey: string | null;
  params: Record<string, unknown>;
  backfillId: number | null;
  note: string | null;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
}

export interface TaskInstance {
  runId: number;
  dagId: string;
  taskId: string;
  mapIndex: number;
  state: TaskState;
  pool: string;
  priority: number;
  host: TaskHost;
  tryNumber: number;
  tryBase: number;
  lostCount: number;
  resumePoke: boolean;
  nextTryAt: number | null;
  leaseExpiresAt: number | null;
  workerId: string | null;
  queuedAt: number | null;
  firstStartedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  output: unknown;
  outputLength: number | null;
  error: string | null;
}

export interface AttemptRow {
  tryNumber: number;
  workerId: string | null;
  startedAt: number | null;
  endedAt: number | null;
  outcome: string | null;
  error: string | null;
  pokes: number;
}

export interface LogLine {
  id: number;
  at: number;
  text: string;
}

export interface TaskRef {
  runId: number;
  taskId: string;
  mapIndex: number;
}

export interface FinishRequest extends TaskRef {
  workerId: string;
  tryNumber: number;
  state: TaskState;
  outputJson: string | null;
  outputLength: number | null;
  error: string | null;
  nextTryAt: number | null;
  /** The next attempt continues this one's poking (sensor said "not yet"). */
  resumePoke: boolean;
  startedAt: number;
  endedAt: number;
  outcome: string;
}

export interface NewRun {
  dagId: string;
  runId: string;
  kind: RunKind;
  state: 'queued' | 'running';
  interval: Interval;
  intervalKey: string | null;
  params: Record<string, unknown>;
  backfillId?: number | null;
  note?: string | null;
  tasks: Array<{ taskId: string; pool: string; priority: number; host: TaskHost }>;
}

export interface DagRunCounts {
  running: number;
  queued: Array<{ id: number; intervalStart: number }>;
}

export interface BackfillRow {
  id: number;
  dagId: string;
  from: number;
  to: number;
  total: number;
  options: Record<string, unknown>;
  createdAt: number;
}

export interface WorkerRow {
  id: string;
  host: string;
  pid: number;
  slots: number;
  startedAt: number;
  heartbeatAt: number;
  stoppedAt: number | null;
}

export function intervalKey(iv: Interval): string {
  return `${iv.start}-${iv.end}`;
}

type Row = Record<string, unknown>;

const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function parseJson(text: unknown, what: string): unknown {
  if (text === null || text === undefined) return undefined;
  try {
    return JSON.parse(String(text));
  } catch (err) {
    throw new FlowError('METADATA_CORRUPT', `${what}: stored JSON does not parse: ${(err as Error).message}`);
  }
}

function toDag(r: Row): DagRow {
  const s = n(r['last_scheduled_start']);
  const e = n(r['last_scheduled_end']);
  return {
    dagId: String(r['dag_id']),
    paused: Number(r['paused']) === 1,
    firstSeenAt: Number(r['first_seen_at']),
    updatedAt: Number(r['updated_at']),
    info: parseJson(r['info'], `dag ${String(r['dag_id'])}`) as DagInfo,
    datasetCursor: Number(r['dataset_cursor']),
    lastScheduled: s === null || e === null ? null : { start: s, end: e },
    lastDatasetEnd: n(r['last_dataset_end']),
  };
}

function toRun(r: Row): RunRow {
  return {
    id: Number(r['id']),
    dagId: String(r['dag_id']),
    runId: String(r['run_id']),
    kind: r['kind'] as RunKind,
    state: r['state'] as RunState,
    intervalStart: Number(r['interval_start']),
    intervalEnd: Number(r['interval_end']),
    intervalKey: (r['interval_key'] as string | null) ?? null,
    params: (parseJson(r['params'], 'run params') ?? {}) as Record<string, unknown>,
    backfillId: n(r['backfill_id']),
    note: (r['note'] as string | null) ?? null,
    createdAt: Number(r['created_at']),
    startedAt: n(r['started_at']),
    endedAt: n(r['ended_at']),
  };
}

export function toTask(r: Row): TaskInstance {
  return {
    runId: Number(r['run_id']),
    dagId: String(r['dag_id']),
    taskId: String(r['task_id']),
    mapIndex: Number(r['map_index']),
    state: r['state'] as TaskState,
    pool: String(r['pool']),
    priority: Number(r['priority']),
    host: r['host'] as TaskHost,
    tryNumber: Number(r['try_number']),
    tryBase: Number(r['try_base']),
    lostCount: Number(r['lost_count']),
    resumePoke: Number(r['resume_poke']) === 1,
    nextTryAt: n(r['next_try_at']),
    leaseExpiresAt: n(r['lease_expires_at']),
    workerId: (r['worker_id'] as string | null) ?? null,
    queuedAt: n(r['queued_at']),
    firstStartedAt: n(r['first_started_at']),
    startedAt: n(r['started_at']),
    endedAt: n(r['ended_at']),
    output: parseJson(r['output'], `output of ${String(r['task_id'])}`),
    outputLength: n(r['output_length']),
    error: (r['error'] as string | null) ?? null,
  };
}

function toTaskRow(r: Row): TaskRow {
  return {
    taskId: String(r['task_id']),
    mapIndex: Number(r['map_index']),
    state: r['state'] as TaskState,
    tryNumber: Number(r['try_number']),
    tryBase: Number(r['try_base']),
    lostCount: Number(r['lost_count']),
    nextTryAt: n(r['next_try_at']),
    leaseExpiresAt: n(r['lease_expires_at']),
    firstStartedAt: n(r['first_started_at']),
    outputLength: n(r['output_length']),
  };
}

const TERMINAL_SQL = `('success','failed','skipped','upstream_failed')`;
const ADMIT_LOCK = 7_340_001;

export class FlowStore {
  private constructor(readonly db: SqlDb) {}

  get dialect() {
    return this.db.dialect;
  }

  /** Opens the store, creating or checking the schema. */
  static async open(db: SqlDb): Promise<FlowStore> {
    if (db.dialect === 'postgres') {
      // Several processes may start at once: one creates the schema, the others wait for it.
      await db.tx(async (tx) => {
        await tx.run('SELECT pg_advisory_xact_lock(7340000)');
        for (const stmt of schemaSql('postgres').split(';').map((s) => s.trim()).filter(Boolean)) await tx.run(stmt);
      });
    } else {
      await db.exec(schemaSql('sqlite'));
    }
    const v = await db.get<{ value: string }>(`SELECT value FROM flow_meta WHERE key = 'schema_version'`);
    if (!v) {
      await db.run(`INSERT INTO flow_meta (key, value) VALUES ('schema_version', $1) ON CONFLICT DO NOTHING`, [String(SCHEMA_VERSION)]);
    } else if (Number(v.value) > SCHEMA_VERSION) {
      throw new FlowError('METADATA_CORRUPT', `the flow metadata has schema version ${v.value}, newer than this Tributary (${SCHEMA_VERSION}): upgrade Tributary`);
    }
    return new FlowStore(db);
  }

  tx<T>(fn: (tx: SqlExec) => Promise<T>): Promise<T> {
    return this.db.tx(fn);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // ---------------------------------------------------------------------------------------------
  // DAGs

  async upsertDag(dagId: string, info: DagInfo, now: number): Promise<DagRow> {
    await this.db.run(
      `INSERT INTO flow_dag (dag_id, paused, first_seen_at, info, updated_at) VALUES ($1, 0, $2, $3, $2)
       ON CONFLICT (dag_id) DO UPDATE SET info = $3, updated_at = $2`,
      [dagId, now, JSON.stringify(info)],
    );
    return (await this.getDag(dagId))!;
  }

  async listDags(): Promise<DagRow[]> {
    return (await this.db.all<Row>(`SELECT * FROM flow_dag ORDER BY dag_id`)).map(toDag);
  }

  async getDag(dagId: string, tx: SqlExec = this.db): Promise<DagRow | undefined> {
    const r = await tx.get<Row>(`SELECT * FROM flow_dag WHERE dag_id = $1`, [dagId]);
    return r ? toDag(r) : undefined;
  }

  async setPaused(dagId: string, paused: boolean, now: number): Promise<boolean> {
    return (await this.db.run(`UPDATE flow_dag SET paused = $1, updated_at = $2 WHERE dag_id = $3`, [paused ? 1 : 0, now, dagId])) > 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Scheduling: runs

  /** DAG rows for a scheduling pass; on PostgreSQL those another scheduler holds are skipped. */
  async lockDags(tx: SqlExec, dagIds: readonly string[]): Promise<DagRow[]> {
    if (dagIds.length === 0) return [];
    if (tx.dialect === 'postgres') {
      return (await tx.all<Row>(`SELECT * FROM flow_dag WHERE dag_id = ANY($1::text[]) ORDER BY dag_id FOR UPDATE SKIP LOCKED`, [dagIds])).map(toDag);
    }
    const rows = await tx.all<Row>(`SELECT * FROM flow_dag ORDER BY dag_id`);
    const want = new Set(dagIds);
    return rows.map(toDag).filter((d) => want.has(d.dagId));
  }

  async runCounts(tx: SqlExec, dagIds: readonly string[]): Promise<Map<string, DagRunCounts>> {
    const out = new Map<string, DagRunCounts>(dagIds.map((d) => [d, { running: 0, queued: [] }]));
    const rows = await tx.all<Row>(`SELECT id, dag_id, state, interval_start FROM flow_run WHERE state IN ('queued', 'running')`);
    for (const r of rows) {
      const c = out.get(String(r['dag_id']));
      if (!c) continue;
      if (r['state'] === 'running') c.running++;
      else c.queued.push({ id: Number(r['id']), intervalStart: Number(r['interval_start']) });
    }
    return out;
  }

  /** Newest event per dataset with id > cursor. */
  async datasetEventsAfter(tx: SqlExec, cursor: number, names: readonly string[]): Promise<Map<string, { id: number; at: number }>> {
    const out = new Map<string, { id: number; at: number }>();
    for (const name of names) {
      const r = await tx.get<Row>(`SELECT id, at FROM flow_dataset_event WHERE dataset = $1 AND id > $2 ORDER BY id DESC LIMIT 1`, [name, cursor]);
      if (r) out.set(name, { id: Number(r['id']), at: Number(r['at']) });
    }
    return out;
  }

  /** Inserts a run and its task instances; null when the run id or interval already has a run. */
  async createRun(tx: SqlExec, spec: NewRun, now: number): Promise<RunRow | null> {
    const r = await tx.get<Row>(
      `INSERT INTO flow_run (dag_id, run_id, kind, state, interval_start, interval_end, interval_key, params, backfill_id, note, created_at, started_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING RETURNING *`,
      [
        spec.dagId,
        spec.runId,
        spec.kind,
        spec.state,
        spec.interval.start,
        spec.interval.end,
        spec.intervalKey,
        JSON.stringify(spec.params),
        spec.backfillId ?? null,
        spec.note ?? null,
        now,
        spec.state === 'running' ? now : null,
      ],
    );
    if (!r) return null;
    const run = toRun(r);
    const chunk = 200;
    for (let i = 0; i < spec.tasks.length; i += chunk) {
      const part = spec.tasks.slice(i, i + chunk);
      const values: string[] = [];
      const params: unknown[] = [run.id, spec.dagId, now];
      for (const t of part) {
        const b = params.length;
        values.push(`($1, $${b + 1}, -1, $2, 'pending', $${b + 2}, $${b + 3}, $${b + 4}, $3)`);
        params.push(t.taskId, t.pool, t.priority, t.host);
      }
      await tx.run(`INSERT INTO flow_task (run_id, task_id, map_index, dag_id, state, pool, priority, host, updated_at) VALUES ${values.join(', ')}`, params);
    }
    return run;
  }

  async startRun(tx: SqlExec, runId: number, now: number): Promise<boolean> {
    return (await tx.run(`UPDATE flow_run SET state = 'running', started_at = COALESCE(started_at, $2) WHERE id = $1 AND state = 'queued'`, [runId, now])) > 0;
  }

  async advanceScheduled(tx: SqlExec, dagId: string, iv: Interval): Promise<void> {
    await tx.run(
      `UPDATE flow_dag SET last_scheduled_start = $2, last_scheduled_end = $3 WHERE dag_id = $1 AND (last_scheduled_start IS NULL OR last_scheduled_start < $2)`,
      [dagId, iv.start, iv.end],
    );
  }

  async advanceDatasetCursor(tx: SqlExec, dagId: string, cursor: number, end: number): Promise<void> {
    await tx.run(`UPDATE flow_dag SET dataset_cursor = $2, last_dataset_end = $3 WHERE dag_id = $1 AND dataset_cursor < $2`, [dagId, cursor, end]);
  }

  /** Running runs to examine; on PostgreSQL the ones another scheduler is examining are skipped. */
  async lockRunningRuns(tx: SqlExec, limit: number, only?: readonly number[], afterId = 0): Promise<RunRow[]> {
    const lock = tx.dialect === 'postgres' ? 'FOR UPDATE SKIP LOCKED' : '';
    if (only) {
      if (only.length === 0) return [];
      if (tx.dialect === 'postgres') {
        return (await tx.all<Row>(`SELECT * FROM flow_run WHERE id = ANY($1::bigint[]) AND state = 'running' ORDER BY id ${lock}`, [only])).map(toRun);
      }
      const out: RunRow[] = [];
      for (const id of only) {
        const r = await tx.get<Row>(`SELECT * FROM flow_run WHERE id = $1 AND state = 'running'`, [id]);
        if (r) out.push(toRun(r));
      }
      return out;
    }
    return (await tx.all<Row>(`SELECT * FROM flow_run WHERE state = 'running' AND id > $2 ORDER BY id LIMIT $1 ${lock}`, [limit, afterId])).map(toRun);
  }

  async runView(tx: SqlExec, run: RunRow, now: number): Promise<RunView> {
    const tasks = new Map<string, TaskRow>();
    for (const r of await tx.all<Row>(
      `SELECT task_id, map_index, state, try_number, try_base, lost_count, next_try_at, lease_expires_at, first_started_at, output_length
       FROM flow_task WHERE run_id = $1 AND map_index = -1`,
      [run.id],
    )) {
      tasks.set(String(r['task_id']), toTaskRow(r));
    }
    const mapped = new Map<string, StateCounts>();
    const dueItems: TaskRow[] = [];
    if ([...tasks.values()].some((t) => t.state === 'mapped')) {
      for (const r of await tx.all<Row>(
        `SELECT task_id, state, COUNT(*) AS n FROM flow_task WHERE run_id = $1 AND map_index >= 0 GROUP BY task_id, state`,
        [run.id],
      )) {
        const id = String(r['task_id']);
        const c = mapped.get(id) ?? {};
        c[r['state'] as TaskState] = Number(r['n']);
        mapped.set(id, c);
      }
      for (const r of await tx.all<Row>(
        `SELECT task_id, map_index, state, try_number, try_base, lost_count, next_try_at, lease_expires_at, first_started_at, output_length
         FROM flow_task WHERE run_id = $1 AND map_index >= 0
           AND ((state IN ('up_for_retry', 'up_for_reschedule') AND next_try_at <= $2) OR (state = 'running' AND lease_expires_at < $2))`,
        [run.id, now],
      )) {
        dueItems.push(toTaskRow(r));
      }
    }
    return { id: run.id, dagId: run.dagId, state: run.state, tasks, mapped, dueItems };
  }

  /** Applies a run's actions; returns how many took effect and the run's new state if it ended. */
  async applyRunActions(tx: SqlExec, run: RunRow, actions: readonly RunAction[], now: number): Promise<{ applied: number; finished: RunState | null; scheduled: number }> {
    let applied = 0;
    let scheduled = 0;
    let finished: RunState | null = null;
    for (const a of actions) {
      if (a.type === 'transition') {
        const terminal = a.to === 'success' || a.to === 'failed' || a.to === 'skipped' || a.to === 'upstream_failed';
        const changed = await tx.run(
          `UPDATE flow_task SET state = $5, error = COALESCE($6, error), updated_at = $7,
             lost_count = lost_count + $8,
             lease_expires_at = CASE WHEN $8 = 1 THEN NULL ELSE lease_expires_at END,
             next_try_at = CASE WHEN $5 = 'scheduled' THEN NULL ELSE next_try_at END,
             ended_at = CASE WHEN $9 = 1 THEN CAST($10 AS DOUBLE PRECISION) ELSE ended_at END
           WHERE run_id = $1 AND task_id = $2 AND map_index = $3 AND state = $4`,
          [run.id, a.taskId, a.mapIndex, a.from, a.to, a.error ?? null, now, a.lost ? 1 : 0, terminal ? 1 : 0, now],
        );
        if (changed > 0) {
          applied++;
          if (a.to === 'scheduled') scheduled++;
          if (a.lost) {
            const t = await tx.get<Row>(`SELECT try_number FROM flow_task WHERE run_id = $1 AND task_id = $2 AND map_index = $3`, [run.id, a.taskId, a.mapIndex]);
            const tryNumber = Number(t?.['try_number'] ?? 0);
            await tx.run(
              `UPDATE flow_attempt SET outcome = 'lost', ended_at = $5, error = $6
               WHERE run_id = $1 AND task_id = $2 AND map_index = $3 AND try_number = $4 AND outcome IS NULL`,
              [run.id, a.taskId, a.mapIndex, tryNumber, now, 'WORKER_LOST: the worker stopped renewing its lease (crashed, killed or cut off)'],
            );
            await tx.run(`INSERT INTO flow_log (run_id, task_id, map_index, try_number, at, text) VALUES ($1, $2, $3, $4, $5, $6)`, [
              run.id,
              a.taskId,
              a.mapIndex,
              tryNumber,
              now,
              `[tributary] lease expired: the worker running this attempt is gone; ${a.to === 'scheduled' ? 'the task is queued again' : 'the task failed'}\n`,
            ]);
          }
        }
      } else if (a.type === 'expand') {
        const changed = await tx.run(
          `UPDATE flow_task SET state = $3, updated_at = $4, output = CASE WHEN $5 = 0 THEN '[]' ELSE NULL END, output_length = CASE WHEN $5 = 0 THEN 0 ELSE NULL END,
             ended_at = CASE WHEN $5 = 0 THEN CAST($6 AS DOUBLE PRECISION) ELSE NULL END
           WHERE run_id = $1 AND task_id = $2 AND map_index = -1 AND state = 'pending'`,
          [run.id, a.taskId, a.count === 0 ? 'success' : 'mapped', now, a.count, now],
        );
        if (changed > 0 && a.count > 0) {
          const series =
            tx.dialect === 'postgres'
              ? `SELECT g AS i FROM generate_series(0, $3 - 1) AS g`
              : `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $3) SELECT i FROM s`;
          await tx.run(
            `INSERT INTO flow_task (run_id, task_id, map_index, dag_id, state, pool, priority, host, updated_at)
             SELECT p.run_id, p.task_id, s.i, p.dag_id, 'scheduled', p.pool, p.priority, p.host, $4
             FROM flow_task p, (${series}) s WHERE p.run_id = $1 AND p.task_id = $2 AND p.map_index = -1`,
            [run.id, a.taskId, a.count, now],
          );
          scheduled += a.count;
        }
        if (changed > 0) applied++;
      } else if (a.type === 'finishRun') {
        const changed = await tx.run(`UPDATE flow_run SET state = $2, ended_at = $3 WHERE id = $1 AND state = 'running'`, [run.id, a.state, now]);
        if (changed > 0) {
          applied++;
          finished = a.state;
        }
      }
    }
    return { applied, finished, scheduled };
  }

  /**
   * The critical section: moves scheduled task instances to queued within pool slots, each DAG's
   * maxActiveTasks and the global parallelism. PostgreSQL: under an advisory transaction lock,
   * so concurrent schedulers cannot both take the last slot.
   */
  async admit(limits: Limits, now: number, batch = 2048): Promise<{ queued: number; unknownPool: number }> {
    return this.tx(async (tx) => {
      if (tx.dialect === 'postgres') await tx.run(`SELECT pg_advisory_xact_lock(${ADMIT_LOCK})`);
      const usage = await tx.all<Row>(`SELECT pool, dag_id, COUNT(*) AS n FROM flow_task WHERE state IN ('queued', 'running') GROUP BY pool, dag_id`);
      const pools = new Map<string, number>();
      const dags = new Map<string, number>();
      let total = 0;
      for (const u of usage) {
        const c = Number(u['n']);
        pools.set(String(u['pool']), (pools.get(String(u['pool'])) ?? 0) + c);
        dags.set(String(u['dag_id']), (dags.get(String(u['dag_id'])) ?? 0) + c);
        total += c;
      }
      // Read no more candidates than could possibly be admitted (plus a few for unknown pools).
      let free = 0;
      for (const [pool, slots] of limits.pools) free += Math.max(0, slots - (pools.get(pool) ?? 0));
      const room = Math.min(batch, Math.max(0, limits.parallelism - total), free);
      const cands = await tx.all<Row>(
        `SELECT run_id, task_id, map_index, dag_id, pool, priority FROM flow_task WHERE state = 'scheduled' ORDER BY priority DESC, run_id, map_index LIMIT $1`,
        [room + 16],
      );
      if (cands.length === 0) return { queued: 0, unknownPool: 0 };
      const key = (r: Row) => `${String(r['run_id'])}\u0000${String(r['task_id'])}\u0000${String(r['map_index'])}`;
      const byKey = new Map(cands.map((r) => [key(r), r]));
      const decision = admit(
        cands.map((r) => ({
          key: key(r),
          dagId: String(r['dag_id']),
          pool: String(r['pool']),
          priority: Number(r['priority']),
          runOrder: Number(r['run_id']),
          mapIndex: Number(r['map_index']),
        })),
        { pools, dags, total },
        limits,
      );
      const refs = decision.admit.map((k) => byKey.get(k)!);
      await this.updateMany(tx, refs, `state = 'queued', queued_at = $NOW, updated_at = $INOW`, `state = 'scheduled'`, now);
      for (const u of decision.unknownPool) {
        const r = byKey.get(u.key)!;
        await tx.run(
          `UPDATE flow_task SET state = 'failed', ended_at = $4, updated_at = $4, error = $5 WHERE run_id = $1 AND task_id = $2 AND map_index = $3 AND state = 'scheduled'`,
          [r['run_id'], r['task_id'], r['map_index'], now, `POOL_UNKNOWN: pool ${JSON.stringify(u.pool)} does not exist: add it to flow.pools in tributary.config.ts (e.g. pools: { ${u.pool}: 2 })`],
        );
      }
      return { queued: refs.length, unknownPool: decision.unknownPool.length };
    });
  }

  /** `UPDATE flow_task SET <set> WHERE <key> AND <guard>` for many rows ($NOW = now). */
  private async updateMany(tx: SqlExec, rows: readonly Row[], set: string, guard: string, now: number): Promise<void> {
    if (rows.length === 0) return;
    if (tx.dialect === 'postgres') {
      await tx.run(
        `UPDATE flow_task t SET ${set.replaceAll('$INOW', '$5').replaceAll('$NOW', '$4')} FROM (SELECT unnest($1::bigint[]) AS r, unnest($2::text[]) AS k, unnest($3::int[]) AS m) v
         WHERE t.run_id = v.r AND t.task_id = v.k AND t.map_index = v.m AND t.${guard}`,
        [rows.map((r) => Number(r['run_id'])), rows.map((r) => String(r['task_id'])), rows.map((r) => Number(r['map_index'])), now, Math.round(now)],
      );
      return;
    }
    const sql = `UPDATE flow_task SET ${set.replaceAll('$INOW', '$5').replaceAll('$NOW', '$4')} WHERE run_id = $1 AND task_id = $2 AND map_index = $3 AND ${guard}`;
    for (const r of rows) await tx.run(sql, [r['run_id'], r['task_id'], r['map_index'], now, Math.round(now)]);
  }

  // ---------------------------------------------------------------------------------------------
  // Workers: claim, heartbeat, finish

  /**
   * Claims up to `limit` queued task instances for `workerId`: state → running, a lease until
   * `leaseUntil`, try_number + 1 (unless it resumes a sensor's poking), an attempt row.
   */
  async claim(workerId: string, limit: number, leaseUntil: number, now: number, opts: { busTasks: boolean; dagIds?: readonly string[] }): Promise<TaskInstance[]> {
    if (limit <= 0) return [];
    return this.tx(async (tx) => {
      // Sensors that need the bus go only to workers that have one.
      const hostFilter = opts.busTasks ? '' : ` AND host <> 'host-bus'`;
      let rows: Row[];
      if (tx.dialect === 'postgres') {
        const dagFilter = opts.dagIds ? ` AND dag_id = ANY($5::text[])` : '';
        rows = await tx.all<Row>(
          `UPDATE flow_task t SET state = 'running', worker_id = $1, lease_expires_at = $2, try_number = t.try_number + 1 - t.resume_poke,
             resume_poke = 0, first_started_at = COALESCE(t.first_started_at, $4), updated_at = $4, started_at = NULL, ended_at = NULL
           FROM (SELECT run_id, task_id, map_index FROM flow_task WHERE state = 'queued'${hostFilter}${dagFilter}
                 ORDER BY priority DESC, queued_at, run_id, map_index LIMIT $3 FOR UPDATE SKIP LOCKED) c
           WHERE t.run_id = c.run_id AND t.task_id = c.task_id AND t.map_index = c.map_index
           RETURNING t.*`,
          opts.dagIds ? [workerId, leaseUntil, limit, now, opts.dagIds] : [workerId, leaseUntil, limit, now],
        );
      } else {
        const dagFilter = opts.dagIds ? ` AND dag_id IN (${opts.dagIds.map((d) => `'${d.replaceAll("'", "''")}'`).join(',')})` : '';
        const cands = await tx.all<Row>(
          `SELECT run_id, task_id, map_index FROM flow_task WHERE state = 'queued'${hostFilter}${dagFilter} ORDER BY priority DESC, queued_at, run_id, map_index LIMIT $1`,
          [limit],
        );
        rows = [];
        for (const c of cands) {
          const r = await tx.get<Row>(
            `UPDATE flow_task SET state = 'running', worker_id = $4, lease_expires_at = $5, try_number = try_number + 1 - resume_poke,
               resume_poke = 0, first_started_at = COALESCE(first_started_at, $6), updated_at = $6, started_at = NULL, ended_at = NULL
             WHERE run_id = $1 AND task_id = $2 AND map_index = $3 AND state = 'queued' RETURNING *`,
            [c['run_id'], c['task_id'], c['map_index'], workerId, leaseUntil, now],
          );
          if (r) rows.push(r);
        }
      }
      if (rows.length === 0) return [];
      const tasks = rows.map(toTask);
      // One statement for all attempt rows (a sensor's next poke continues its attempt row).
      const values: string[] = [];
      const params: unknown[] = [workerId, now];
      for (const t of tasks) {
        const b = params.length;
        values.push(`($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $1, $2)`);
        params.push(t.runId, t.taskId, t.mapIndex, t.tryNumber);
      }
      await tx.run(
        `INSERT INTO flow_attempt (run_id, task_id, map_index, try_number, worker_id, started_at) VALUES ${values.join(', ')}
         ON CONFLICT (run_id, task_id, map_index, try_number) DO UPDATE SET worker_id = excluded.worker_id, outcome = NULL, pokes = flow_attempt.pokes + 1`,
        params,
      );
      return tasks;
    });
  }

  /** Renews the leases of every task `workerId` runs; returns the keys it still holds. */
  async heartbeat(workerId: string, leaseUntil: number, now: number): Promise<Set<string>> {
    const rows = await this.db.all<Row>(
      `UPDATE flow_task SET lease_expires_at = $2 WHERE worker_id = $1 AND state = 'running' RETURNING run_id, task_id, map_index, try_number`,
      [workerId, leaseUntil],
    );
    await this.db.run(`UPDATE flow_worker SET heartbeat_at = $2 WHERE id = $1`, [workerId, now]);
    return new Set(rows.map((r) => `${String(r['run_id'])}/${String(r['task_id'])}/${String(r['map_index'])}/${String(r['try_number'])}`));
  }

  /** Puts every task `workerId` still runs back in line (a clean shutdown), counted as lost. */
  async releaseTasks(workerId: string, now: number): Promise<number> {
    return this.tx(async (tx) => {
      await tx.run(
        `UPDATE flow_attempt SET outcome = 'interrupted', ended_at = $2, error = 'the worker shut down during the attempt'
         WHERE worker_id = $1 AND outcome IS NULL`,
        [workerId, now],
      );
      return tx.run(
        `UPDATE flow_task SET state = 'scheduled', lease_expires_at = NULL, lost_count = lost_count + 1, updated_at = $2
         WHERE worker_id = $1 AND state = 'running'`,
        [workerId, now],
      );
    });
  }

  /** Records attempt outcomes; each is applied only if the worker still holds the task (fencing). */
  async finish(reqs: readonly FinishRequest[], now: number): Promise<boolean[]> {
    if (reqs.length === 0) return [];
    if (this.db.dialect === 'postgres' && reqs.length > 1) return this.finishBulk(reqs, now);
    return this.tx(async (tx) => {
      const out: boolean[] = [];
      for (const q of reqs) {
        const changed = await tx.run(
          `UPDATE flow_task SET state = $6, output = $7, output_length = $8, error = $9, next_try_at = $10, resume_poke = $11,
             lease_expires_at = NULL, started_at = $12, ended_at = $13, updated_at = $14
           WHERE run_id = $1 AND task_id = $2 AND map_index = $3 AND state = 'running' AND worker_id = $4 AND try_number = $5`,
          [q.runId, q.taskId, q.mapIndex, q.workerId, q.tryNumber, q.state, q.outputJson, q.outputLength, q.error, q.nextTryAt, q.resumePoke ? 1 : 0, q.startedAt, q.endedAt, now],
        );
        out.push(changed > 0);
        if (changed > 0) {
          await tx.run(
            `UPDATE flow_attempt SET ended_at = $6, outcome = $7, error = $8, started_at = CASE WHEN pokes = 1 THEN CAST($9 AS DOUBLE PRECISION) ELSE started_at END
             WHERE run_id = $1 AND task_id = $2 AND map_index = $3 AND try_number = $4 AND worker_id = $5`,
            [q.runId, q.taskId, q.mapIndex, q.tryNumber, q.workerId, q.endedAt, q.outcome, q.error, q.startedAt],
          );
        }
      }
      return out;
    });
  }

  /** PostgreSQL: every outcome of a batch in two statements (still fenced row by row). */
  private async finishBulk(reqs: readonly FinishRequest[], now: number): Promise<boolean[]> {
    return this.tx(async (tx) => {
      const col = <T>(f: (q: FinishRequest) => T) => reqs.map(f);
      const applied = await tx.all<Row>(
        `UPDATE flow_task t SET state = v.state, output = v.output, output_length = v.output_length, error = v.error, next_try_at = v.next_try_at,
           resume_poke = v.resume_poke, lease_expires_at = NULL, started_at = v.started_at, ended_at = v.ended_at, updated_at = $15
         FROM (SELECT unnest($1::bigint[]) AS run_id, unnest($2::text[]) AS task_id, unnest($3::int[]) AS map_index, unnest($4::text[]) AS worker_id,
                      unnest($5::int[]) AS try_number, unnest($6::text[]) AS state, unnest($7::text[]) AS output, unnest($8::int[]) AS output_length,
                      unnest($9::text[]) AS error, unnest($10::bigint[]) AS next_try_at, unnest($11::int[]) AS resume_poke,
                      unnest($12::double precision[]) AS started_at, unnest($13::double precision[]) AS ended_at, unnest($14::text[]) AS outcome) v
         WHERE t.run_id = v.run_id AND t.task_id = v.task_id AND t.map_index = v.map_index AND t.state = 'running' AND t.worker_id = v.worker_id AND t.try_number = v.try_number
         RETURNING t.run_id, t.task_id, t.map_index`,
        [
          col((q) => q.runId),
          col((q) => q.taskId),
          col((q) => q.mapIndex),
          col((q) => q.workerId),
          col((q) => q.tryNumber),
          col((q) => q.state),
          col((q) => q.outputJson),
          col((q) => q.outputLength),
          col((q) => q.error),
          col((q) => q.nextTryAt),
          col((q) => (q.resumePoke ? 1 : 0)),
          col((q) => q.startedAt),
          col((q) => q.endedAt),
          col((q) => q.outcome),
          now,
        ],
      );
      const ok = new Set(applied.map((r) => `${String(r['run_id'])}/${String(r['task_id'])}/${String(r['map_index'])}`));
      const flags = reqs.map((q) => ok.has(`${q.runId}/${q.taskId}/${q.mapIndex}`));
      const done = reqs.filter((_, i) => flags[i]);
      if (done.length) {
        const c = <T>(f: (q: FinishRequest) => T) => done.map(f);
        await tx.run(
          `UPDATE flow_attempt a SET ended_at = v.ended_at, outcome = v.outcome, error = v.error, started_at = CASE WHEN a.pokes = 1 THEN v.started_at ELSE a.started_at END
           FROM (SELECT unnest($1::bigint[]) AS run_id, unnest($2::text[]) AS task_id, unnest($3::int[]) AS map_index, unnest($4::int[]) AS try_number,
                        unnest($5::text[]) AS worker_id, unnest($6::double precision[]) AS ended_at, unnest($7::text[]) AS outcome, unnest($8::text[]) AS error,
                        unnest($9::double precision[]) AS started_at) v
           WHERE a.run_id = v.run_id AND a.task_id = v.task_id AND a.map_index = v.map_index AND a.try_number = v.try_number AND a.worker_id = v.worker_id`,
          [c((q) => q.runId), c((q) => q.taskId), c((q) => q.mapIndex), c((q) => q.tryNumber), c((q) => q.workerId), c((q) => q.endedAt), c((q) => q.outcome), c((q) => q.error), c((q) => q.startedAt)],
        );
      }
      return flags;
    });
  }

  /** Stamps (try number, end) of upstream task instances, to validate cached outputs with one query. */
  async outputStamps(pairs: ReadonlyArray<{ runId: number; taskId: string }>): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (pairs.length === 0) return out;
    const uniq = [...new Map(pairs.map((p) => [`${p.runId}/${p.taskId}`, p])).values()];
    if (this.db.dialect === 'postgres') {
      const rows = await this.db.all<Row>(
        `SELECT t.run_id, t.task_id, t.try_number, t.ended_at FROM flow_task t JOIN (SELECT unnest($1::bigint[]) AS r, unnest($2::text[]) AS k) v ON t.run_id = v.r AND t.task_id = v.k AND t.map_index = -1`,
        [uniq.map((p) => p.runId), uniq.map((p) => p.taskId)],
      );
      for (const r of rows) out.set(`${String(r['run_id'])}/${String(r['task_id'])}`, `${String(r['try_number'])}/${String(r['ended_at'])}`);
      return out;
    }
    for (const p of uniq) {
      const r = await this.db.get<Row>(`SELECT try_number, ended_at FROM flow_task WHERE run_id = $1 AND task_id = $2 AND map_index = -1`, [p.runId, p.taskId]);
      if (r) out.set(`${p.runId}/${p.taskId}`, `${String(r['try_number'])}/${String(r['ended_at'])}`);
    }
    return out;
  }

  /** Outputs of the given upstream tasks in a run; a mapped task's output is its items' outputs in order. */
  async outputs(runId: number, taskIds: readonly string[]): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    for (const taskId of taskIds) {
      const parent = await this.db.get<Row>(`SELECT state, output FROM flow_task WHERE run_id = $1 AND task_id = $2 AND map_index = -1`, [runId, taskId]);
      if (!parent) continue;
      if (parent['output'] !== null && parent['output'] !== undefined) {
        out.set(taskId, parseJson(parent['output'], `output of ${taskId}`));
        continue;
      }
      const items = await this.db.all<Row>(`SELECT map_index, output FROM flow_task WHERE run_id = $1 AND task_id = $2 AND map_index >= 0 ORDER BY map_index`, [runId, taskId]);
      out.set(taskId, items.length ? items.map((r) => parseJson(r['output'], `output of ${taskId}[${String(r['map_index'])}]`) ?? null) : null);
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Logs

  async appendLogs(lines: ReadonlyArray<TaskRef & { tryNumber: number; at: number; text: string }>): Promise<void> {
    if (lines.length === 0) return;
    await this.tx(async (tx) => {
      for (let i = 0; i < lines.length; i += 100) {
        const part = lines.slice(i, i + 100);
        const values: string[] = [];
        const params: unknown[] = [];
        for (const l of part) {
          const b = params.length;
          values.push(`($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6})`);
          params.push(l.runId, l.taskId, l.mapIndex, l.tryNumber, l.at, l.text);
        }
        await tx.run(`INSERT INTO flow_log (run_id, task_id, map_index, try_number, at, text) VALUES ${values.join(', ')}`, params);
      }
    });
  }

  async readLogs(ref: TaskRef, tryNumber: number, afterId: number, limit = 1000): Promise<LogLine[]> {
    const rows = await this.db.all<Row>(
      `SELECT id, at, text FROM flow_log WHERE run_id = $1 AND task_id = $2 AND map_index = $3 AND try_number = $4 AND id > $5 ORDER BY id LIMIT $6`,
      [ref.runId, ref.taskId, ref.mapIndex, tryNumber, afterId, limit],
    );
    return rows.map((r) => ({ id: Number(r['id']), at: Number(r['at']), text: String(r['text']) }));
  }

  // ---------------------------------------------------------------------------------------------
  // Queries

  async listRuns(dagId: string, opts: { state?: RunState; limit?: number; backfillId?: number } = {}): Promise<RunRow[]> {
    const where = [`dag_id = $1`];
    const params: unknown[] = [dagId];
    if (opts.state) {
      params.push(opts.state);
      where.push(`state = $${params.length}`);
    }
    if (opts.backfillId !== undefined) {
      params.push(opts.backfillId);
      where.push(`backfill_id = $${params.length}`);
    }
    params.push(opts.limit ?? 25);
    return (await this.db.all<Row>(`SELECT * FROM flow_run WHERE ${where.join(' AND ')} ORDER BY interval_start DESC, id DESC LIMIT $${params.length}`, params)).map(toRun);
  }

  /** A run by numeric id or run id string. */
  async getRun(dagId: string, ref: string | number, tx: SqlExec = this.db): Promise<RunRow | undefined> {
    const r =
      typeof ref === 'number' || /^\d+$/.test(ref)
        ? await tx.get<Row>(`SELECT * FROM flow_run WHERE dag_id = $1 AND id = $2`, [dagId, Number(ref)])
        : await tx.get<Row>(`SELECT * FROM flow_run WHERE dag_id = $1 AND run_id = $2`, [dagId, ref]);
    return r ? toRun(r) : undefined;
  }

  async runById(id: number): Promise<RunRow | undefined> {
    const r = await this.db.get<Row>(`SELECT * FROM flow_run WHERE id = $1`, [id]);
    return r ? toRun(r) : undefined;
  }

  async runTasks(runId: number, opts: { items?: boolean } = {}): Promise<TaskInstance[]> {
    const rows = await this.db.all<Row>(
      `SELECT * FROM flow_task WHERE run_id = $1 ${opts.items === false ? 'AND map_index = -1' : ''} ORDER BY task_id, map_index`,
      [runId],
    );
    return rows.map(toTask);
  }

  async taskInstance(ref: TaskRef): Promise<TaskInstance | undefined> {
    const r = await this.db.get<Row>(`SELECT * FROM flow_task WHERE run_id = $1 AND task_id = $2 AND map_index = $3`, [ref.runId, ref.taskId, ref.mapIndex]);
    return r ? toTask(r) : undefined;
  }

  async attempts(ref: TaskRef): Promise<AttemptRow[]> {
    const rows = await this.db.all<Row>(
      `SELECT * FROM flow_attempt WHERE run_id = $1 AND task_id = $2 AND map_index = $3 ORDER BY try_number`,
      [ref.runId, ref.taskId, ref.mapIndex],
    );
    return rows.map((r) => ({
      tryNumber: Number(r['try_number']),
      workerId: (r['worker_id'] as string | null) ?? null,
      startedAt: n(r['started_at']),
      endedAt: n(r['ended_at']),
      outcome: (r['outcome'] as string | null) ?? null,
      error: (r['error'] as string | null) ?? null,
      pokes: Number(r['pokes']),
    }));
  }

  /** Runs by state per DAG (for `dags list`). */
  async runStateCounts(): Promise<Map<string, Partial<Record<RunState, number>>>> {
    const out = new Map<string, Partial<Record<RunState, number>>>();
    for (const r of await this.db.all<Row>(`SELECT dag_id, state, COUNT(*) AS n FROM flow_run GROUP BY dag_id, state`)) {
      const m = out.get(String(r['dag_id'])) ?? {};
      m[r['state'] as RunState] = Number(r['n']);
      out.set(String(r['dag_id']), m);
    }
    return out;
  }

  async latestRuns(): Promise<Map<string, RunRow>> {
    const rows = await this.db.all<Row>(`SELECT r.* FROM flow_run r JOIN (SELECT dag_id, MAX(id) AS id FROM flow_run GROUP BY dag_id) m ON r.id = m.id`);
    return new Map(rows.map((r) => [String(r['dag_id']), toRun(r)]));
  }

  /** Earliest pending timer (retry, reschedule, lease expiry) so the scheduler knows when to wake. */
  async nextTimer(): Promise<number | null> {
    const r = await this.db.get<Row>(
      `SELECT MIN(t) AS t FROM (
         SELECT MIN(next_try_at) AS t FROM flow_task WHERE state IN ('up_for_retry', 'up_for_reschedule')
         UNION ALL SELECT MIN(lease_expires_at) AS t FROM flow_task WHERE state = 'running') x`,
    );
    return n(r?.['t']);
  }

  /** Runs that have a task instance whose timer is due (retry, reschedule, lease expiry). */
  async runsWithDueTimers(now: number): Promise<number[]> {
    const rows = await this.db.all<Row>(
      `SELECT DISTINCT run_id FROM flow_task
       WHERE (state IN ('up_for_retry', 'up_for_reschedule') AND next_try_at <= $1) OR (state = 'running' AND lease_expires_at < $1)`,
      [now],
    );
    return rows.map((r) => Number(r['run_id']));
  }

  // ---------------------------------------------------------------------------------------------
  // Operator actions

  /** Sets tasks (and their items) to success or failed; the run is re-evaluated (reopened if it had ended). */
  async markTasks(run: RunRow, taskIds: readonly string[], state: 'success' | 'failed', now: number): Promise<number> {
    return this.tx(async (tx) => {
      let changed = 0;
      for (const taskId of taskIds) {
        changed += await tx.run(
          `UPDATE flow_task SET state = $3, ended_at = COALESCE(ended_at, $5), updated_at = $4, lease_expires_at = NULL, next_try_at = NULL,
             error = CASE WHEN $3 = 'failed' THEN 'marked failed by an operator' ELSE error END
           WHERE run_id = $1 AND task_id = $2 AND state <> $3`,
          [run.id, taskId, state, now, now],
        );
      }
      if (changed > 0) await tx.run(`UPDATE flow_run SET state = 'running', ended_at = NULL WHERE id = $1 AND state IN ('success', 'failed')`, [run.id]);
      return changed;
    });
  }

  /** Clears tasks so they run again (new attempts; earlier attempts and logs are kept); the run is queued again if it had ended. */
  async clearTasks(run: RunRow, taskIds: readonly string[], now: number): Promise<number> {
    return this.tx(async (tx) => {
      let changed = 0;
      for (const taskId of taskIds) {
        await tx.run(`DELETE FROM flow_task WHERE run_id = $1 AND task_id = $2 AND map_index >= 0`, [run.id, taskId]);
        changed += await tx.run(
          `UPDATE flow_task SET state = 'pending', try_base = try_number, lost_count = 0, resume_poke = 0, next_try_at = NULL, lease_expires_at = NULL,
             worker_id = NULL, output = NULL, output_length = NULL, error = NULL, first_started_at = NULL, queued_at = NULL,
             started_at = NULL, ended_at = NULL, updated_at = $3
           WHERE run_id = $1 AND task_id = $2 AND map_index = -1`,
          [run.id, taskId, now],
        );
      }
      if (changed > 0) await tx.run(`UPDATE flow_run SET state = 'queued', ended_at = NULL WHERE id = $1 AND state IN ('success', 'failed')`, [run.id]);
      return changed;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Leases (one scheduler at a time on SQLite)

  async lease(name: string, holder: string, ttlMs: number, now: number): Promise<LeaseDecision> {
    return this.tx(async (tx) => {
      const r = await tx.get<Row>(`SELECT holder, expires_at FROM flow_lease WHERE name = $1`, [name]);
      const d = decideLease(r ? { holder: String(r['holder']), expiresAt: Number(r['expires_at']) } : null, holder, now, ttlMs);
      if (d.type === 'standby') return d;
      if (!r) await tx.run(`INSERT INTO flow_lease (name, holder, expires_at) VALUES ($1, $2, $3)`, [name, holder, d.expiresAt]);
      else {
        const ok = await tx.run(`UPDATE flow_lease SET holder = $2, expires_at = $3 WHERE name = $1 AND holder = $4 AND expires_at = $5`, [
          name,
          holder,
          d.expiresAt,
          r['holder'],
          r['expires_at'],
        ]);
        if (ok === 0) return { type: 'standby', holder: String(r['holder']), until: Number(r['expires_at']) };
      }
      return d;
    });
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.db.run(`DELETE FROM flow_lease WHERE name = $1 AND holder = $2`, [name, holder]);
  }

  // ---------------------------------------------------------------------------------------------
  // Datasets

  async addDatasetEvent(dataset: string, at: number, info: Record<string, unknown>): Promise<number> {
    const r = await this.db.get<Row>(`INSERT INTO flow_dataset_event (dataset, at, info) VALUES ($1, $2, $3) RETURNING id`, [dataset, at, JSON.stringify(info)]);
    return Number(r!['id']);
  }

  async latestDatasetEvent(dataset: string, sinceAt: number): Promise<{ id: number; at: number; info: unknown } | null> {
    const r = await this.db.get<Row>(`SELECT id, at, info FROM flow_dataset_event WHERE dataset = $1 AND at >= $2 ORDER BY id DESC LIMIT 1`, [dataset, sinceAt]);
    return r ? { id: Number(r['id']), at: Number(r['at']), info: parseJson(r['info'], 'dataset event') } : null;
  }

  // ---------------------------------------------------------------------------------------------
  // Backfills

  async createBackfill(dagId: string, from: number, to: number, total: number, options: Record<string, unknown>, now: number, tx: SqlExec): Promise<number> {
    const r = await tx.get<Row>(`INSERT INTO flow_backfill (dag_id, from_at, to_at, total, options, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, [
      dagId,
      from,
      to,
      total,
      JSON.stringify(options),
      now,
    ]);
    return Number(r!['id']);
  }

  async getBackfill(dagId: string, id: number): Promise<BackfillRow | undefined> {
    const r = await this.db.get<Row>(`SELECT * FROM flow_backfill WHERE dag_id = $1 AND id = $2`, [dagId, id]);
    if (!r) return undefined;
    return {
      id: Number(r['id']),
      dagId: String(r['dag_id']),
      from: Number(r['from_at']),
      to: Number(r['to_at']),
      total: Number(r['total']),
      options: (parseJson(r['options'], 'backfill options') ?? {}) as Record<string, unknown>,
      createdAt: Number(r['created_at']),
    };
  }

  /** Runs of a DAG whose interval lies in [from, to), by state (the progress of a backfill). */
  async intervalRunStates(dagId: string, from: number, to: number): Promise<Partial<Record<RunState, number>>> {
    const out: Partial<Record<RunState, number>> = {};
    for (const r of await this.db.all<Row>(
      `SELECT state, COUNT(*) AS n FROM flow_run WHERE dag_id = $1 AND interval_key IS NOT NULL AND interval_start >= $2 AND interval_end <= $3 GROUP BY state`,
      [dagId, from, to],
    )) {
      out[r['state'] as RunState] = Number(r['n']);
    }
    return out;
  }

  async runByInterval(tx: SqlExec, dagId: string, key: string): Promise<RunRow | undefined> {
    const r = await tx.get<Row>(`SELECT * FROM flow_run WHERE dag_id = $1 AND interval_key = $2`, [dagId, key]);
    return r ? toRun(r) : undefined;
  }

  async setRunBackfill(tx: SqlExec, runId: number, backfillId: number): Promise<void> {
    await tx.run(`UPDATE flow_run SET backfill_id = $2 WHERE id = $1`, [runId, backfillId]);
  }

  // ---------------------------------------------------------------------------------------------
  // Worker registry

  async registerWorker(w: Omit<WorkerRow, 'stoppedAt'>): Promise<void> {
    await this.db.run(
      `INSERT INTO flow_worker (id, host, pid, slots, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = $6, stopped_at = NULL`,
      [w.id, w.host, w.pid, w.slots, w.startedAt, w.heartbeatAt],
    );
  }

  async stopWorker(id: string, now: number): Promise<void> {
    await this.db.run(`UPDATE flow_worker SET stopped_at = $2 WHERE id = $1`, [id, now]);
  }

  async listWorkers(sinceHeartbeat: number): Promise<WorkerRow[]> {
    const rows = await this.db.all<Row>(`SELECT * FROM flow_worker WHERE heartbeat_at >= $1 AND stopped_at IS NULL ORDER BY id`, [sinceHeartbeat]);
    return rows.map((r) => ({
      id: String(r['id']),
      host: String(r['host']),
      pid: Number(r['pid']),
      slots: Number(r['slots']),
      startedAt: Number(r['started_at']),
      heartbeatAt: Number(r['heartbeat_at']),
      stoppedAt: n(r['stopped_at']),
    }));
  }

  /** Task instances by state across active runs (for status and metrics). */
  async activeTaskCounts(): Promise<Partial<Record<TaskState, number>>> {
    const out: Partial<Record<TaskState, number>> = {};
    for (const r of await this.db.all<Row>(`SELECT state, COUNT(*) AS n FROM flow_task WHERE state NOT IN ${TERMINAL_SQL} GROUP BY state`)) {
      out[r['state'] as TaskState] = Number(r['n']);
    }
    return out;
  }
}
