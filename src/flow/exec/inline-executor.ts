/**
 * Runs tasks in this process: no isolation (a task that blocks the event loop blocks the engine),
 * but no process start-up either. For tests, `runDag`, and embedded use where every DAG is
 * trusted code; `tributary up` uses the process pool by default.
 */
import type { Dag } from '../define/dag.ts';
import { FlowError } from '../errors.ts';
import { preciseNow } from '../engine/clock.ts';
import { runAttempt } from './runner.ts';
import type { ExecuteHooks, Invocation, InvocationResult, TaskExecutor } from './types.ts';

export class InlineExecutor implements TaskExecutor {
  readonly mode = 'inline' as const;
  constructor(private readonly dags: (dagId: string) => Dag | undefined) {}

  async execute(inv: Invocation, hooks: ExecuteHooks): Promise<InvocationResult> {
    const dag = this.dags(inv.dagId);
    const def = dag?.tasks.get(inv.taskId);
    if (!dag || !def) {
      const t = preciseNow();
      const e = new FlowError('TASK_NOT_FOUND', `task ${inv.taskId} of dag ${inv.dagId} is not defined in this process (was the DAG file changed?)`);
      return { kind: 'failure', error: e.message, code: e.code, retriable: true, startedAt: t, endedAt: t };
    }
    return runAttempt(dag, def, inv, hooks.signal, hooks.onLog, hooks.services);
  }

  async close(): Promise<void> {}
}
