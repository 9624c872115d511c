/**
 * Runs tasks in a pool of child processes, one attempt per child at a time, so a task that
 * crashes (segfault, process.exit, OOM), leaks memory or never returns cannot take the engine
 * down.
 *
 * Design note — a child's states: starting → idle ⇄ busy → retiring → gone.
 * - busy → idle: the attempt's result arrived.
 * - busy → gone (crash): the child exited mid-attempt; the attempt fails with TASK_CRASHED and a
 *   fresh child replaces it.
 * - busy → gone (kill): the attempt was aborted (timeout, lease lost) and the child did not
 *   answer within `abortGraceMs`: it is SIGKILLed.
 * - idle → retiring: after `maxTasksPerChild` attempts or above `maxRssMb` resident memory (a
 *   leak stays bounded); the child exits and is replaced.
 * Children are started ahead of need (`warmUp`), because starting Node with TypeScript support
 * takes a few hundred milliseconds and hand-offs must take about one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { preciseNow } from '../engine/clock.ts';
import type { ExecuteHooks, Invocation, InvocationResult, TaskExecutor } from './types.ts';

export interface ProcessPoolOptions {
  size: number;
  logger?: Logger;
  maxTasksPerChild?: number;
  maxRssMb?: number;
  abortGraceMs?: number;
  /** Extra environment for children. */
  env?: NodeJS.ProcessEnv;
}

interface Child {
  proc: ChildProcess;
  state: 'starting' | 'idle' | 'busy' | 'retiring' | 'gone';
  ready: Promise<void>;
  tasks: number;
  job: { inv: Invocation; hooks: ExecuteHooks; resolve: (r: InvocationResult) => void; killTimer: NodeJS.Timeout | null } | null;
  stderrTail: string;
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

function tsxLoader(): string {
  return import.meta.resolve('tsx');
}

export class ProcessExecutor implements TaskExecutor {
  readonly mode = 'process' as const;
  private readonly children = new Set<Child>();
  private readonly waiting: Array<(c: Child) => void> = [];
  private closed = false;
  private crashes = 0;
  private started = 0;

  constructor(private readonly o: ProcessPoolOptions) {}

  private spawnChild(): Child {
    const proc = fork(CHILD, [], {
      execArgv: ['--import', tsxLoader()],
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...this.o.env, TRIBUTARY_FLOW_CHILD: '1' },
    });
    this.started++;
    let resolveReady!: () => void;
    let rejectReady!: (e: Error) => void;
    const child: Child = {
      proc,
      state: 'starting',
      ready: new Promise<void>((res, rej) => {
        resolveReady = res;
        rejectReady = rej;
      }),
      tasks: 0,
      job: null,
      stderrTail: '',
    };
    child.ready.catch(() => {});
    const route = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (child.job) child.job.hooks.onLog(text);
    };
    proc.stdout!.on('data', route);
    proc.stderr!.on('data', (chunk: Buffer) => {
      child.stderrTail = (child.stderrTail + chunk.toString('utf8')).slice(-2000);
      route(chunk);
    });
    proc.on('message', (msg: { type: string; id?: string; text?: string; result?: InvocationResult; rss?: number }) => {
      if (msg.type === 'ready') {
        if (child.state === 'starting') child.state = 'idle';
        resolveReady();
        this.release(child);
      } else if (msg.type === 'rpc') {
        const m = msg as unknown as { rpcId: number; method: string; args: unknown[] };
        const job = child.job;
        const reply = (r: { ok: boolean; value?: unknown; error?: { message: string; code?: string; position?: unknown } }) => {
          if (child.proc.connected) child.proc.send({ type: 'rpc-result', rpcId: m.rpcId, ...r });
        };
        if (!job) return reply({ ok: false, error: { message: 'no task is running in this process' } });
        const [group, name] = m.method.split('.') as [string, string];
        let args = m.args;
        let target: object | undefined;
        if (group === 'topics' && (name === 'read' || name === 'write')) target = job.hooks.services.topics;
        else if (group === 'warehouse' && (name === 'sql' || name === 'build' || name === 'test')) {
          target = job.hooks.services.warehouse;
          // Audited as the attempt this process was given, whatever the child claims.
          const inv = job.inv;
          args = [{ dagId: inv.dagId, taskId: inv.taskId, runId: inv.runId, mapIndex: inv.mapIndex, attempt: inv.tryNumber }, ...m.args.slice(1)];
          // A query runs on the host: the attempt's abort (timeout, mark, shutdown) cancels it there.
          if (name === 'sql') args = [...args.slice(0, 4), job.hooks.signal];
        }
        const fn = target ? ((target as Record<string, unknown>)[name] as ((...a: unknown[]) => Promise<unknown>) | undefined) : undefined;
        if (!fn) return reply({ ok: false, error: { message: `unknown host call ${m.method}` } });
        Promise.resolve()
          .then(() => fn.apply(target, args))
          .then(
            (value) => reply({ ok: true, value }),
            (err: unknown) => {
              const e = err as { message?: string; code?: string; position?: unknown } | null;
              reply({ ok: false, error: { message: e?.message ?? String(err), ...(e?.code ? { code: e.code } : {}), ...(e?.position ? { position: e.position } : {}) } });
            },
          );
      } else if (msg.type === 'log' && child.job && msg.id === child.job.inv.id) {
        child.job.hooks.onLog(msg.text ?? '');
      } else if (msg.type === 'done' && child.job && msg.id === child.job.inv.id) {
        const job = child.job;
        child.job = null;
        if (job.killTimer) clearTimeout(job.killTimer);
        child.tasks++;
        job.resolve(msg.result!);
        const overMemory = (msg.rss ?? 0) > (this.o.maxRssMb ?? 1024) * 1024 * 1024;
        if (overMemory || child.tasks >= (this.o.maxTasksPerChild ?? 1000)) {
          if (overMemory) this.o.logger?.warn({ pid: proc.pid, rssMb: Math.round((msg.rss ?? 0) / 1048576) }, 'flow: task process over its memory limit; replacing it');
          this.retire(child);
        } else {
          child.state = 'idle';
          this.release(child);
        }
      }
    });
    proc.on('exit', (code, signal) => {
      const was = child.state;
      child.state = 'gone';
      this.children.delete(child);
      rejectReady(new Error(`task process exited during start-up (${signal ?? code}): ${child.stderrTail}`));
      if (child.job) {
        const job = child.job;
        child.job = null;
        if (job.killTimer) clearTimeout(job.killTimer);
        const t = preciseNow();
        const aborted = job.hooks.signal.aborted;
        const reason = job.hooks.signal.reason as { code?: string; message?: string } | undefined;
        this.crashes++;
        const tail = child.stderrTail.trim().split('\n').slice(-3).join(' | ');
        job.resolve(
          aborted
            ? { kind: 'failure', error: `${reason?.message ?? 'aborted'}; the task did not stop within ${this.o.abortGraceMs ?? 5000} ms and its process was killed`, code: reason?.code ?? 'TASK_TIMEOUT', retriable: true, startedAt: t, endedAt: t }
            : {
                kind: 'failure',
                error: `TASK_CRASHED: the task's process exited (${signal ? `signal ${signal}` : `code ${code}`}) while running it${tail ? `: ${tail}` : ''}`,
                code: 'TASK_CRASHED',
                retriable: true,
                startedAt: t,
                endedAt: t,
              },
        );
      }
      if (!this.closed && was !== 'retiring') this.ensureSize();
      else if (!this.closed) this.ensureSize();
    });
    this.children.add(child);
    return child;
  }

  private retire(child: Child): void {
    child.state = 'retiring';
    if (child.proc.connected) child.proc.send({ type: 'exit' });
    setTimeout(() => child.proc.kill('SIGKILL'), 5000).unref();
  }

  private ensureSize(): void {
    const alive = [...this.children].filter((c) => c.state !== 'retiring' && c.state !== 'gone').length;
    for (let i = alive; i < this.o.size; i++) this.spawnChild();
  }

  private release(child: Child): void {
    if (child.state !== 'idle') return;
    const w = this.waiting.shift();
    if (w) {
      child.state = 'busy';
      w(child);
    }
  }

  private acquire(): Promise<Child> {
    if (this.children.size === 0) this.ensureSize();
    for (const c of this.children) {
      if (c.state === 'idle') {
        c.state = 'busy';
        return Promise.resolve(c);
      }
    }
    this.ensureSize();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async warmUp(): Promise<void> {
    this.ensureSize();
    await Promise.all([...this.children].map((c) => c.ready.catch(() => {})));
  }

  async execute(inv: Invocation, hooks: ExecuteHooks): Promise<InvocationResult> {
    if (this.closed) {
      const t = preciseNow();
      return { kind: 'failure', error: 'the worker pool is shutting down', code: 'NOT_RUNNING', retriable: true, startedAt: t, endedAt: t };
    }
    if (!inv.dagFile) {
      const t = preciseNow();
      return {
        kind: 'failure',
        error: `dag ${inv.dagId} was defined in code, not loaded from a file: child processes cannot load it (use flow mode 'inline')`,
        code: 'DAG_LOAD_FAILED',
        retriable: false,
        startedAt: t,
        endedAt: t,
      };
    }
    const child = await this.acquire();
    return new Promise<InvocationResult>((resolve) => {
      child.job = { inv, hooks, resolve, killTimer: null };
      const onAbort = () => {
        const reason = hooks.signal.reason as { code?: string; message?: string } | undefined;
        if (child.proc.connected) child.proc.send({ type: 'abort', id: inv.id, code: reason?.code ?? 'ABORTED', message: reason?.message ?? 'aborted' });
        if (child.job && child.job.inv.id === inv.id) {
          child.job.killTimer = setTimeout(() => {
            if (child.job?.inv.id === inv.id) {
              this.o.logger?.warn({ pid: child.proc.pid, task: inv.taskId }, 'flow: an aborted task did not stop; killing its process');
              child.proc.kill('SIGKILL');
            }
          }, this.o.abortGraceMs ?? 5000);
          child.job.killTimer.unref();
        }
      };
      if (hooks.signal.aborted) onAbort();
      else hooks.signal.addEventListener('abort', onAbort, { once: true });
      child.proc.send({ type: 'run', inv });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.children];
    await Promise.all(
      all.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.state === 'gone' || c.proc.exitCode !== null || c.proc.signalCode !== null) return resolve();
            c.proc.once('exit', () => resolve());
            if (c.proc.connected) c.proc.send({ type: 'exit' });
            setTimeout(() => c.proc.kill('SIGKILL'), 2000).unref();
          }),
      ),
    );
  }

  status(): Record<string, unknown> {
    const states: Record<string, number> = {};
    for (const c of this.children) states[c.state] = (states[c.state] ?? 0) + 1;
    return { mode: 'process', size: this.o.size, children: states, started: this.started, crashes: this.crashes };
  }
}
