/**
 * Errors of the workflow engine. Codes are stable (users and the CLI match on them); `retriable`
 * tells a caller whether the same request may succeed later (a lost lease, a database that is
 * restarting) or never will (a cycle, a bad cron expression).
 */
import { TributaryError } from '../util/errors.ts';

export type FlowErrorCode =
  | 'DAG_INVALID'
  | 'DAG_CYCLE'
  | 'DAG_UNKNOWN_DEPENDENCY'
  | 'DAG_DUPLICATE'
  | 'DAG_LOAD_FAILED'
  | 'DAG_NOT_FOUND'
  | 'SCHEDULE_INVALID'
  | 'PARAMS_INVALID'
  | 'RUN_NOT_FOUND'
  | 'RUN_EXISTS'
  | 'TASK_NOT_FOUND'
  | 'TASK_FAILED'
  | 'TASK_TIMEOUT'
  | 'TASK_CRASHED'
  | 'TASK_OUTPUT_INVALID'
  | 'TASK_INPUT_INVALID'
  | 'SENSOR_TIMEOUT'
  | 'WORKER_LOST'
  | 'LEASE_LOST'
  | 'POOL_UNKNOWN'
  | 'BACKFILL_NOT_FOUND'
  | 'BAD_REQUEST'
  | 'METADATA_UNAVAILABLE'
  | 'METADATA_CORRUPT'
  | 'NOT_RUNNING'
  /** `ctx.sql` placeholders and params that do not match, or a param value SQL cannot hold. */
  | 'SQL_PARAMS_INVALID'
  /** `ctx.sql` returned more rows than its `maxRows`. */
  | 'SQL_TOO_MANY_ROWS'
  /** `ctx.models.build` / `ctx.models.test` with a failed model or error-severity test. */
  | 'MODELS_BUILD_FAILED'
  | 'MODELS_TEST_FAILED';

const httpStatus: Partial<Record<FlowErrorCode, number>> = {
  DAG_NOT_FOUND: 404,
  RUN_NOT_FOUND: 404,
  TASK_NOT_FOUND: 404,
  BACKFILL_NOT_FOUND: 404,
  RUN_EXISTS: 409,
  METADATA_UNAVAILABLE: 503,
  NOT_RUNNING: 503,
  LEASE_LOST: 503,
  TASK_FAILED: 500,
  TASK_TIMEOUT: 500,
  TASK_CRASHED: 500,
  WORKER_LOST: 500,
  METADATA_CORRUPT: 500,
};

const retriableCodes: ReadonlySet<FlowErrorCode> = new Set(['METADATA_UNAVAILABLE', 'LEASE_LOST', 'WORKER_LOST', 'NOT_RUNNING']);

export class FlowError extends TributaryError {
  declare readonly code: FlowErrorCode;
  /** Task ids the error is about (a cycle's members, the task with an unknown dependency, …). */
  readonly tasks: string[];

  constructor(code: FlowErrorCode, message: string, opts: { tasks?: string[]; cause?: unknown; retriable?: boolean } = {}) {
    super(code, message, {
      retriable: opts.retriable ?? retriableCodes.has(code),
      httpStatus: httpStatus[code] ?? 400,
      cause: opts.cause,
    });
    this.name = 'FlowError';
    this.tasks = opts.tasks ?? [];
  }
}

/** A DAG file that could not be loaded: `file` names it; the message says why. */
export class DagLoadError extends FlowError {
  readonly file: string;
  constructor(file: string, message: string, cause?: unknown) {
    super('DAG_LOAD_FAILED', `${file}: ${message}`, { cause });
    this.name = 'DagLoadError';
    this.file = file;
  }
}

/**
 * An error raised inside a DAG module as one of ours. A DAG file compiled as CommonJS (a project
 * without "type": "module") gets its own copy of Tributary's modules, so its FlowError is not an
 * instance of this one: recognise it by shape and re-create it here, keeping code and message.
 */
export function asFlowError(err: unknown): unknown {
  if (err instanceof TributaryError) return err;
  const e = err as { code?: unknown; message?: unknown; name?: unknown } | null;
  if (e && typeof e.code === 'string' && typeof e.message === 'string' && (e.name === 'FlowError' || e.name === 'DagLoadError')) {
    return new FlowError(e.code as FlowErrorCode, e.message, { cause: err });
  }
  return err;
}

/** Renders anything a task threw (an Error, a string, an object, undefined) as one message. */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message || thrown.name;
  if (thrown === undefined) return 'the task threw undefined';
  if (thrown === null) return 'the task threw null';
  if (typeof thrown === 'string') return `the task threw a string: ${thrown}`;
  try {
    return `the task threw a non-Error value: ${JSON.stringify(thrown)}`;
  } catch {
    return `the task threw a non-Error value: ${String(thrown)}`;
  }
}
