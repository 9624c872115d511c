/** What a worker hands an executor (serializable: it crosses into child processes) and what comes back. */
import type { ModelsBuildOptions, ModelsTestOptions, RunKind, SqlOptions, SqlParams, TaskModelResult, TaskModelTestResult, TopicAccess } from '../define/types.ts';

export interface Invocation {
  /** Unique per dispatch. */
  id: string;
  dagId: string;
  /** The DAG's module file (process mode loads it in the child); null for DAGs defined in code. */
  dagFile: string | null;
  taskId: string;
  mapIndex: number;
  runId: string;
  runKind: RunKind;
  tryNumber: number;
  interval: { start: number; end: number };
  params: Record<string, unknown>;
  /** Input name → upstream output. */
  inputs: Record<string, unknown>;
  /** Mapped tasks: this instance's item. */
  item?: unknown;
}

export type InvocationResult =
  | { kind: 'success'; outputJson: string; outputLength: number | null; startedAt: number; endedAt: number }
  | { kind: 'not-ready'; startedAt: number; endedAt: number }
  | { kind: 'failure'; error: string; code: string; retriable: boolean; startedAt: number; endedAt: number };

export interface ExecuteHooks {
  /** Aborts the attempt (timeout, lease lost, shutdown); the executor stops it as best it can. */
  signal: AbortSignal;
  /** Log text of the attempt (lines, newline-terminated). */
  onLog(text: string): void;
  /** Host services the task may call (topics through the bus, SQL through the warehouse). */
  services: TaskServices;
}

export interface TaskServices {
  topics: TopicAccess;
  warehouse: WarehouseAccess;
}

/** Which task asks (for the audit); in process mode the host takes it from the attempt it dispatched, not from the child. */
export interface TaskCaller {
  dagId: string;
  taskId: string;
  runId: string;
  mapIndex: number;
  attempt: number;
}

/** The warehouse as tasks reach it: the engine host performs the calls through the SQL gateway. */
export interface WarehouseAccess {
  /** `signal` (the attempt's) cancels the query on timeout, mark or shutdown. */
  sql(caller: TaskCaller, query: string, params: SqlParams | undefined, opts: SqlOptions, signal?: AbortSignal): Promise<Array<Record<string, unknown>>>;
  build(caller: TaskCaller, opts: ModelsBuildOptions): Promise<{ ok: boolean; results: TaskModelResult[] }>;
  test(caller: TaskCaller, opts: ModelsTestOptions): Promise<{ ok: boolean; results: TaskModelTestResult[] }>;
}

/** Runs attempts: in this process (inline) or in a pool of child processes. */
export interface TaskExecutor {
  readonly mode: 'inline' | 'process';
  execute(inv: Invocation, hooks: ExecuteHooks): Promise<InvocationResult>;
  /** Starts child processes ahead of the first task (process mode). */
  warmUp?(): Promise<void>;
  close(): Promise<void>;
  status?(): Record<string, unknown>;
}
