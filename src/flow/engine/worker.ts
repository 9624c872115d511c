/**
 * The worker loop: claims queued task instances, runs them on an executor (child processes or
 * inline), renews their leases, and records each attempt's outcome.
 *
 * Design note — leases and fencing. A claimed task carries a lease (`leaseMs`, default 30 s)
 * that this loop renews every leaseMs/3 for everything it runs. If the process dies, renewals
 * stop, the lease expires and a scheduler queues the task again. If this process is merely cut
 * off (paused, partitioned) and comes back, a renewal returns the tasks it still holds; any it no
 * longer holds (re-queued, marked, cleared) are aborted here, and their late results are dropped
 * by the store's fenced write (state = running ∧ worker_id = me ∧ try_number = mine). So a task
 * instance's outcome is recorded exactly once even when its attempt ran twice.
 *
 * Built-in sensors (host tasks) are checked in this process and take no slot; everything else
 * takes one slot until its attempt ends. Timeouts fire the attempt's AbortSignal and end the
 * attempt as failed at once; the executor stops the task as best it can (a child process that
 * ignores the signal is killed).
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Governance } from '../../govern/index.ts';
import { servicePrincipal } from '../../govern/index.ts';
import { afterAttempt, type AttemptOutcome } from '../core/attempt.ts';
import type { Dag } from '../define/dag.ts';
import type { TaskDef } from '../define/types.ts';
import { describeThrown, FlowError } from '../errors.ts';
import type { ExecuteHooks, Invocation, InvocationResult, TaskExecutor, TaskServices } from '../exec/types.ts';
import { hostServices } from './host-services.ts';
import type { FinishRequest, FlowStore, RunRow, TaskInstance } from '../store/flow-store.ts';
import { preciseNow, type Clock, type ClockTimer } from './clock.ts';
import { checkBuiltin, type HostEnv } from './host-sensors.ts';

export interface WorkerOptions {
  id?: string;
  store: FlowStore;
  clock: Clock;
  /** Timers for task timeouts (default: `clock`). `runDag` uses real time here and a manual clock for waits. */
  timeoutClock?: Clock;
  dag(dagId: string): Dag | undefined;
  /** Only claim tasks of these DAGs (PostgreSQL workers that load a subset); default all. */
  dagIds?(): string[] | undefined;
  executor: TaskExecutor;
  slots: number;
  leaseMs?: number;
  governance: Governance;
  host: HostEnv;
  logger: Logger;
  /** Called after outcomes were recorded, with the runs they belong to. */
  onFinished?(runIds: number[]): void;
  /** Called when an attempt wrote log text (live followers). */
  onLog?(key: string): void;
  random?: () => number;
  /** How long a task may run after its signal fired before the attempt is given up (process mode kills it). */
  abortGraceMs?: number;
  /** Largest log of one attempt that is kept (default 8 MiB). */
  maxLogBytes?: number;
}

interface Inflight {
  ti: TaskInstance;
  controller: AbortController;
  /** No longer ours (lease lost, marked, cleared): the outcome will not be recorded. */
  fenced: boolean;
  done: Promise<void>;
}

export function taskKey(runId: number, taskId: string, mapIndex: number, tryNumber: number): string {
  return `${runId}/${taskId}/${mapIndex}/${tryNumber}`;
}

export class Worker {
  readonly id: string;
  private readonly leaseMs: number;
  private readonly inflight = new Map<string, Inflight>();
  private readonly hostInflight = new Set<Promise<void>>();
  private stopped = true;
  private filling: Promise<number> | null = null;
  private refill = false;
  private heartbeatTimer: ClockTimer | null = null;
  private readonly runCache = new Map<number, RunRow>();
  private readonly outputCache = new Map<string, unknown>();
  private pendingFinish: Array<{ req: FinishRequest; resolve: (ok: boolean) => void }> = [];
  private finishScheduled = false;
  private logBuffer: Array<{ runId: number; taskId: string; mapIndex: number; tryNumber: number; at: number; text: string }> = [];
  private logTimer: NodeJS.Timeout | null = null;
  private readonly logBytes = new Map<string, number>();
  private idleWaiters: Array<() => void> = [];
  private lastDbWarning = 0;
  /** Upstream output stamps fetched for the current batch of claims. */
  private stamps = new Map<string, string>();
  private readonly services: TaskServices;

  constructor(private readonly o: WorkerOptions) {
    this.id = o.id ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.leaseMs = o.leaseMs ?? 30_000;
    this.services = hostServices(o.host.bus, o.host.warehouse);
  }

  get running(): number {
    return this.inflight.size;
  }

  async start(): Promise<void> {
    this.stopped = false;
    const now = this.o.clock.now();
    await this.o.store.registerWorker({ id: this.id, host: hostname(), pid: process.pid, slots: this.o.slots, startedAt: now, heartbeatAt: now });
    this.scheduleHeartbeat();
    this.wake();
  }

  /** Asks the loop to claim work (coalesced). */
  wake(): void {
    if (this.stopped) return;
    if (this.filling) {
      this.refill = true;
      return;
    }
    this.filling = this.fill().finally(() => {
      this.filling = null;
      if (this.refill && !this.stopped) {
        this.refill = false;
        this.wake();
      }
    });
  }

  /** Claims as many tasks as there are free slots and starts them; returns how many started. */
  async fill(): Promise<number> {
    const free = this.o.slots - this.inflight.size;
    if (free <= 0) return 0;
    const now = this.o.clock.now();
    let claimed: TaskInstance[];
    try {
      claimed = await this.o.store.claim(this.id, free, now + this.leaseMs, now, {
        busTasks: Boolean(this.o.host.bus),
        ...(this.o.dagIds?.() ? { dagIds: this.o.dagIds()! } : {}),
      });
    } catch (err) {
      this.dbWarning(err, 'cannot claim tasks');
      return 0;
    }
    // One query validates the cached upstream outputs of every task of this batch.
    try {
      const pairs = claimed.flatMap((ti) => {
        const def = this.o.dag(ti.dagId)?.tasks.get(ti.taskId);
        return def ? [...new Set([...Object.values(def.inputs), ...(def.over ? [def.over] : [])])].map((t) => ({ runId: ti.runId, taskId: t })) : [];
      });
      this.stamps = await this.o.store.outputStamps(pairs);
    } catch {
      this.stamps = new Map();
    }
    for (const ti of claimed) this.launch(ti);
    return claimed.length;
  }

  private dbWarning(err: unknown, what: string): void {
    const now = Date.now();
    if (now - this.lastDbWarning > 5000) {
      this.lastDbWarning = now;
      this.o.logger.warn({ err: (err as Error).message, worker: this.id }, `flow worker: ${what}; retrying`);
    }
  }

  private launch(ti: TaskInstance): void {
    const key = taskKey(ti.runId, ti.taskId, ti.mapIndex, ti.tryNumber);
    const controller = new AbortController();
    const entry: Inflight = { ti, controller, fenced: false, done: Promise.resolve() };
    const dag = this.o.dag(ti.dagId);
    const def = dag?.tasks.get(ti.taskId);
    const isHost = def !== undefined && def.host !== 'worker';
    if (!isHost) this.inflight.set(key, entry);
    const done = this.runOne(entry, dag, def)
      .catch((err) => this.o.logger.error({ err, task: key }, 'flow worker: unexpected error running a task'))
      .finally(() => {
        this.inflight.delete(key);
        this.hostInflight.delete(done);
        this.logBytes.delete(key);
        if (this.inflight.size === 0 && this.hostInflight.size === 0) for (const w of this.idleWaiters.splice(0)) w();
        this.wake();
      });
    entry.done = done;
    if (isHost) this.hostInflight.add(done);
  }

  private async runOne(entry: Inflight, dag: Dag | undefined, def: TaskDef | undefined): Promise<void> {
    const { ti } = entry;
    const log = (text: string) => this.log(ti, text);
    let result: InvocationResult;
    if (!dag || !def) {
      const t = preciseNow();
      result = { kind: 'failure', error: `TASK_NOT_FOUND: dag ${ti.dagId} has no task ${ti.taskId} in this process (was the DAG file changed or removed?)`, code: 'TASK_NOT_FOUND', retriable: true, startedAt: t, endedAt: t };
    } else if (!this.o.governance.check(servicePrincipal('flow'), 'execute', { type: 'dag', name: ti.dagId }, 'flow')) {
      const t = preciseNow();
      result = { kind: 'failure', error: `ACCESS_DENIED: Service:flow may not execute dag ${ti.dagId}: ask an administrator for a grant`, code: 'ACCESS_DENIED', retriable: false, startedAt: t, endedAt: t };
    } else {
      result = await this.attempt(entry, dag, def, log);
    }
    if (entry.fenced) {
      log(`[tributary] attempt ${ti.tryNumber} ended after this worker lost the task; its outcome is not recorded\n`);
      await this.flushLogs();
      return;
    }
    const outcome: AttemptOutcome =
      result.kind === 'success'
        ? { kind: 'success', output: null }
        : result.kind === 'not-ready'
          ? { kind: 'not-ready' }
          : { kind: 'failure', error: result.error, code: result.code, retriable: result.retriable };
    const now = this.o.clock.now();
    const policy = def?.policy ?? { retries: 0, retryDelayMs: 1000, retryBackoff: 2, maxRetryDelayMs: 600_000, retryJitter: 0.2, timeoutMs: null, pool: 'default', priority: 1, triggerRule: 'all_success' as const };
    const next = afterAttempt(policy, def?.sensor ?? null, { tryNumber: ti.tryNumber, tryBase: ti.tryBase, lostCount: ti.lostCount, firstStartedAt: ti.firstStartedAt }, outcome, now, (this.o.random ?? Math.random)());
    if (next.state === 'up_for_retry') log(`[tributary] attempt ${ti.tryNumber} failed; retrying at ${new Date(next.nextTryAt!).toISOString()}\n`);
    else if (next.state === 'failed' && result.kind === 'failure') log(`[tributary] attempt ${ti.tryNumber} failed; no retries left\n`);
    await this.flushLogs();
    const ok = await this.finish({
      runId: ti.runId,
      taskId: ti.taskId,
      mapIndex: ti.mapIndex,
      workerId: this.id,
      tryNumber: ti.tryNumber,
      state: next.state,
      outputJson: result.kind === 'success' ? result.outputJson : null,
      outputLength: result.kind === 'success' ? result.outputLength : null,
      error: next.error,
      nextTryAt: next.nextTryAt,
      resumePoke: next.state === 'up_for_reschedule',
      startedAt: result.startedAt,
      endedAt: result.endedAt,
      outcome: result.kind === 'success' ? 'success' : result.kind === 'not-ready' ? 'not-ready' : result.code,
    });
    if (!ok) this.o.logger.debug({ task: ti.taskId, run: ti.runId }, 'flow worker: outcome dropped: the task is no longer held by this worker');
  }

  private async attempt(entry: Inflight, dag: Dag, def: TaskDef, log: (t: string) => void): Promise<InvocationResult> {
    const { ti, controller } = entry;
    let run: RunRow | undefined;
    try {
      run = await this.run(ti.runId);
    } catch (err) {
      const t = preciseNow();
      return { kind: 'failure', error: `cannot read run ${ti.runId}: ${(err as Error).message}`, code: 'METADATA_UNAVAILABLE', retriable: true, startedAt: t, endedAt: t };
    }
    if (!run) {
      const t = preciseNow();
      return { kind: 'failure', error: `run ${ti.runId} no longer exists`, code: 'RUN_NOT_FOUND', retriable: false, startedAt: t, endedAt: t };
    }
    if (def.host !== 'worker' && def.trigger) {
      const startedAt = preciseNow();
      try {
        const check = await checkBuiltin(
          def.trigger,
          { interval: { start: new Date(run.intervalStart), end: new Date(run.intervalEnd) }, params: run.params, runId: run.runId, runCreatedAt: run.createdAt },
          this.o.host,
        );
        log(`${new Date().toISOString()} INFO poke: ${check.detail}\n`);
        const endedAt = preciseNow();
        if (!check.done) return { kind: 'not-ready', startedAt, endedAt };
        return { kind: 'success', outputJson: JSON.stringify(check.value ?? null), outputLength: null, startedAt, endedAt };
      } catch (err) {
        const message = describeThrown(err);
        log(`${new Date().toISOString()} ERROR poke failed: ${message}\n`);
        return { kind: 'failure', error: message, code: (err as { code?: string }).code ?? 'TASK_FAILED', retriable: true, startedAt, endedAt: preciseNow() };
      }
    }

    let inputs: Record<string, unknown>;
    let item: unknown;
    try {
      const needed = [...new Set([...Object.values(def.inputs), ...(def.over ? [def.over] : [])])];
      const outs = await this.outputs(ti.runId, needed);
      inputs = Object.fromEntries(Object.entries(def.inputs).map(([name, up]) => [name, outs.get(up) ?? null]));
      if (def.over) {
        const list = outs.get(def.over);
        if (!Array.isArray(list) || ti.mapIndex < 0 || ti.mapIndex >= list.length) {
          throw new FlowError('TASK_INPUT_INVALID', `item ${ti.mapIndex} of ${def.over}'s output is missing`);
        }
        item = list[ti.mapIndex];
      }
    } catch (err) {
      const t = preciseNow();
      return { kind: 'failure', error: `cannot load inputs: ${(err as Error).message}`, code: (err as { code?: string }).code ?? 'METADATA_UNAVAILABLE', retriable: true, startedAt: t, endedAt: t };
    }

    const inv: Invocation = {
      id: `${ti.runId}/${ti.taskId}/${ti.mapIndex}/${ti.tryNumber}/${Math.random().toString(36).slice(2, 8)}`,
      dagId: dag.id,
      dagFile: dag.file,
      taskId: def.id,
      mapIndex: ti.mapIndex,
      runId: run.runId,
      runKind: run.kind,
      tryNumber: ti.tryNumber,
      interval: { start: run.intervalStart, end: run.intervalEnd },
      params: run.params,
      inputs,
      ...(def.over ? { item } : {}),
    };
    const hooks: ExecuteHooks = { signal: controller.signal, onLog: log, services: this.services };
    const timeoutMs = def.policy.timeoutMs;
    let timer: ClockTimer | null = null;
    const cut = new Promise<InvocationResult>((resolve) => {
      const onAbort = () => {
        const t = preciseNow();
        const reason = controller.signal.reason as { code?: string; message?: string } | undefined;
        resolve({
          kind: 'failure',
          error: reason?.message ?? 'the attempt was aborted',
          code: reason?.code ?? 'TASK_FAILED',
          retriable: reason?.code !== 'LEASE_LOST',
          startedAt: t,
          endedAt: t,
        });
      };
      if (controller.signal.aborted) onAbort();
      else controller.signal.addEventListener('abort', onAbort, { once: true });
    });
    if (timeoutMs !== null) {
      timer = (this.o.timeoutClock ?? this.o.clock).setTimer(timeoutMs, () => {
        log(`${new Date().toISOString()} ERROR timed out after ${timeoutMs} ms: aborting the task\n`);
        controller.abort(new FlowError('TASK_TIMEOUT', `TASK_TIMEOUT: the attempt did not finish within ${timeoutMs} ms`, { retriable: true }));
      });
    }
    try {
      return await Promise.race([this.o.executor.execute(inv, hooks), cut]);
    } finally {
      timer?.cancel();
    }
  }

  private async run(runId: number): Promise<RunRow | undefined> {
    let r = this.runCache.get(runId);
    if (!r) {
      r = await this.o.store.runById(runId);
      if (r) {
        if (this.runCache.size > 1000) this.runCache.clear();
        this.runCache.set(runId, r);
      }
    }
    return r;
  }

  /** Upstream outputs, cached per (run, task) while that task's attempt is unchanged. */
  private async outputs(runId: number, taskIds: string[]): Promise<Map<string, unknown>> {
    if (taskIds.length === 0) return new Map();
    const known = taskIds.every((t) => this.stamps.has(`${runId}/${t}`));
    const stamps = known ? this.stamps : await this.o.store.outputStamps(taskIds.map((t) => ({ runId, taskId: t })));
    const out = new Map<string, unknown>();
    const missing: string[] = [];
    const keyOf = (t: string) => `${runId}/${t}/${stamps.get(`${runId}/${t}`) ?? 'none'}`;
    for (const t of taskIds) {
      const k = keyOf(t);
      if (this.outputCache.has(k)) out.set(t, this.outputCache.get(k));
      else missing.push(t);
    }
    if (missing.length) {
      const loaded = await this.o.store.outputs(runId, missing);
      for (const t of missing) {
        const v = loaded.get(t) ?? null;
        out.set(t, v);
        if (this.outputCache.size > 256) this.outputCache.clear();
        this.outputCache.set(keyOf(t), v);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Outcomes: batched into one transaction per event-loop turn.

  private finish(req: FinishRequest): Promise<boolean> {
    return new Promise((resolve) => {
      this.pendingFinish.push({ req, resolve });
      if (!this.finishScheduled) {
        this.finishScheduled = true;
        setImmediate(() => void this.flushFinish());
      }
    });
  }

  private async flushFinish(): Promise<void> {
    const batch = this.pendingFinish.splice(0);
    this.finishScheduled = false;
    if (batch.length === 0) return;
    for (let attempt = 0; ; attempt++) {
      try {
        const oks = await this.o.store.finish(
          batch.map((b) => b.req),
          this.o.clock.now(),
        );
        batch.forEach((b, i) => b.resolve(oks[i]!));
        const runs = [...new Set(batch.filter((_, i) => oks[i]).map((b) => b.req.runId))];
        if (runs.length) this.o.onFinished?.(runs);
        return;
      } catch (err) {
        this.dbWarning(err, 'cannot record task outcomes');
        if (this.stopped && attempt >= 3) {
          batch.forEach((b) => b.resolve(false));
          return;
        }
        // Keep trying: the outcome is fenced, so writing it late is safe; if our lease expired
        // meanwhile the write changes nothing and the task runs elsewhere.
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** Math.min(attempt, 6))));
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Logs

  private log(ti: TaskInstance, text: string): void {
    if (!text) return;
    const key = taskKey(ti.runId, ti.taskId, ti.mapIndex, ti.tryNumber);
    const max = this.o.maxLogBytes ?? 8 * 1024 * 1024;
    const used = this.logBytes.get(key) ?? 0;
    if (used >= max) return;
    let t = text;
    if (used + Buffer.byteLength(t) > max) t = t.slice(0, Math.max(0, max - used)) + `\n[tributary] log truncated at ${max} bytes\n`;
    this.logBytes.set(key, used + Buffer.byteLength(t));
    this.logBuffer.push({ runId: ti.runId, taskId: ti.taskId, mapIndex: ti.mapIndex, tryNumber: ti.tryNumber, at: preciseNow(), text: t });
    if (!this.logTimer) {
      this.logTimer = setTimeout(() => void this.flushLogs(), 100);
      this.logTimer.unref();
    }
  }

  private async flushLogs(): Promise<void> {
    if (this.logTimer) {
      clearTimeout(this.logTimer);
      this.logTimer = null;
    }
    const lines = this.logBuffer.splice(0);
    if (lines.length === 0) return;
    try {
      await this.o.store.appendLogs(lines);
      for (const k of new Set(lines.map((l) => `${l.runId}/${l.taskId}/${l.mapIndex}/${l.tryNumber}`))) this.o.onLog?.(k);
    } catch (err) {
      this.dbWarning(err, 'cannot store task logs');
      // Keep the lines for the next flush rather than losing them.
      this.logBuffer.unshift(...lines);
      if (!this.logTimer && !this.stopped) {
        this.logTimer = setTimeout(() => void this.flushLogs(), 1000);
        this.logTimer.unref();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Leases

  private scheduleHeartbeat(): void {
    if (this.stopped) return;
    this.heartbeatTimer = this.o.clock.setTimer(Math.max(10, Math.floor(this.leaseMs / 3)), () => {
      void this.heartbeat().finally(() => this.scheduleHeartbeat());
    });
  }

  /** Renews leases; aborts attempts whose task this worker no longer holds. */
  async heartbeat(): Promise<void> {
    const now = this.o.clock.now();
    let held: Set<string>;
    try {
      held = await this.o.store.heartbeat(this.id, now + this.leaseMs, now);
    } catch (err) {
      this.dbWarning(err, 'cannot renew task leases');
      return;
    }
    for (const [key, entry] of this.inflight) {
      if (!held.has(key) && !entry.fenced) {
        entry.fenced = true;
        entry.controller.abort(new FlowError('LEASE_LOST', 'LEASE_LOST: this worker no longer holds the task (its lease expired, or it was marked or cleared)'));
      }
    }
  }

  /** Resolves when nothing is running. */
  idle(): Promise<void> {
    if (this.inflight.size === 0 && this.hostInflight.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /**
   * Stops claiming; waits up to `graceMs` for running attempts, then aborts them (their tasks
   * are re-queued when the leases expire, or at once by the next scheduler pass of a restart).
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    this.heartbeatTimer?.cancel();
    if (this.filling) await this.filling.catch(() => {});
    const all = [...this.inflight.values()].map((e) => e.done);
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([Promise.all([...all, ...this.hostInflight]).then(() => 'done' as const), timer])) === 'timeout') {
      for (const e of this.inflight.values()) {
        e.fenced = true;
        e.controller.abort(new FlowError('NOT_RUNNING', 'the worker is shutting down'));
      }
      await Promise.race([Promise.all(all), new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    await this.flushLogs().catch(() => {});
    // Hand back what is still ours at once, instead of making it wait for the lease to expire.
    await this.o.store.releaseTasks(this.id, this.o.clock.now()).catch(() => {});
    await this.o.store.stopWorker(this.id, this.o.clock.now()).catch(() => {});
  }

  status(): { id: string; slots: number; running: number } {
    return { id: this.id, slots: this.o.slots, running: this.inflight.size };
  }
}
