/**
 * Runs one attempt of one task: builds its context, calls the task function, and turns whatever
 * happens — a return value, a throw of anything (an Error, a string, undefined), an output that
 * is not JSON or too large, a sensor's "not yet" — into a plain, serializable result. The same
 * code runs inside worker child processes and in-process (inline mode, `runDag`).
 */
import type { Dag } from '../define/dag.ts';
import type { ModelsBuildOptions, ModelsTestOptions, SqlOptions, SqlParams, TaskContext, TaskDef, TaskLogger, TaskModels } from '../define/types.ts';
import { describeThrown, FlowError } from '../errors.ts';
import { preciseNow } from '../engine/clock.ts';
import type { Invocation, InvocationResult, TaskCaller, TaskServices } from './types.ts';

/** Outputs are metadata: small JSON. Large data goes through the lake. */
export const MAX_OUTPUT_BYTES = 256 * 1024;

function formatFields(fields?: Record<string, unknown>): string {
  if (!fields || Object.keys(fields).length === 0) return '';
  try {
    return ' ' + JSON.stringify(fields);
  } catch {
    return ' [unserializable fields]';
  }
}

export function taskLogger(write: (text: string) => void): TaskLogger {
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    write(`${new Date().toISOString()} ${level} ${message}${formatFields(fields)}\n`);
  return { info: line('INFO'), warn: line('WARN'), error: line('ERROR') };
}

export function encodeOutput(value: unknown): { ok: true; json: string; length: number | null } | { ok: false; error: string } {
  let json: string | undefined;
  try {
    json = JSON.stringify(value === undefined ? null : value);
  } catch (err) {
    return { ok: false, error: `TASK_OUTPUT_INVALID: the output is not JSON-serializable (${(err as Error).message}): return plain objects, arrays, strings, numbers, booleans or null` };
  }
  if (json === undefined) {
    return { ok: false, error: `TASK_OUTPUT_INVALID: the output (a ${typeof value}) is not JSON-serializable: return plain data` };
  }
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_OUTPUT_BYTES) {
    return {
      ok: false,
      error: `TASK_OUTPUT_INVALID: the output is ${bytes} bytes; outputs are metadata and may be at most ${MAX_OUTPUT_BYTES} bytes: write large data to the lake (or a file) and return its location`,
    };
  }
  return { ok: true, json, length: Array.isArray(value) ? value.length : null };
}

function oneLine(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function codeOf(thrown: unknown): string {
  const c = (thrown as { code?: unknown } | null)?.code;
  return typeof c === 'string' && /^[A-Z][A-Z0-9_]*$/.test(c) ? c : 'TASK_FAILED';
}

/** `ctx.sql` and `ctx.models`: the host performs the calls; results and failures are logged in the attempt's log. */
function warehouseContext(services: TaskServices, caller: TaskCaller, log: TaskLogger, signal: AbortSignal): Pick<TaskContext, 'sql' | 'models'> {
  const sql = (async (query: string, params?: SqlParams, opts: SqlOptions = {}) => {
    const t0 = performance.now();
    const rows = await services.warehouse.sql(caller, query, params, opts, signal);
    log.info(`sql: ${rows.length} row${rows.length === 1 ? '' : 's'} in ${Math.round(performance.now() - t0)} ms: ${oneLine(query)}`);
    return rows;
  }) as TaskContext['sql'];
  const models: TaskModels = {
    async build(opts: ModelsBuildOptions = {}) {
      const r = await services.warehouse.build(caller, opts);
      for (const m of r.results) {
        const line = `model ${m.model} (${m.materialized} ${m.relation}): ${m.status}${m.rows !== null ? `, ${m.rows} rows` : ''}${m.snapshot !== null ? `, snapshot ${m.snapshot}` : ''}${m.error ? `: ${m.error.message}` : ''}${m.skippedBecause ? ` (upstream ${m.skippedBecause} failed)` : ''}`;
        if (m.status === 'success') log.info(line);
        else log.error(line);
      }
      if (!r.ok && !opts.allowFailures) {
        const bad = r.results.filter((m) => m.status !== 'success');
        const first = bad.find((m) => m.error);
        throw new FlowError('MODELS_BUILD_FAILED', `models build failed: ${bad.map((m) => `${m.model} ${m.status}`).join(', ')}${first?.error ? ` — ${first.model}: ${first.error.code}: ${first.error.message}` : ''}`);
      }
      return r;
    },
    async test(opts: ModelsTestOptions = {}) {
      const r = await services.warehouse.test(caller, opts);
      for (const t of r.results) {
        const line = `test ${t.test}: ${t.status}${t.failures ? `, ${t.failures} failing rows` : ''}${t.error ? `: ${t.error.message}` : ''}`;
        if (t.status === 'pass') log.info(line);
        else if (t.status === 'warn') log.warn(line);
        else log.error(line);
      }
      if (!r.ok && !opts.allowFailures) {
        const bad = r.results.filter((t) => t.status === 'fail' || t.status === 'error');
        throw new FlowError('MODELS_TEST_FAILED', `model tests failed: ${bad.map((t) => `${t.test} (${t.status}${t.failures ? `, ${t.failures} rows` : ''})`).join(', ')}`);
      }
      return r;
    },
  };
  return { sql, models };
}

/** Runs `def` for `inv`; never throws. */
export async function runAttempt(
  dag: Dag,
  def: TaskDef,
  inv: Invocation,
  signal: AbortSignal,
  write: (text: string) => void,
  services: TaskServices,
): Promise<InvocationResult> {
  const startedAt = preciseNow();
  const log = taskLogger(write);
  const caller: TaskCaller = { dagId: dag.id, taskId: def.id, runId: inv.runId, mapIndex: inv.mapIndex, attempt: inv.tryNumber };
  const ctx: TaskContext<Record<string, unknown>> = {
    dagId: dag.id,
    runId: inv.runId,
    runKind: inv.runKind,
    taskId: def.id,
    mapIndex: inv.mapIndex,
    attempt: inv.tryNumber,
    interval: { start: new Date(inv.interval.start), end: new Date(inv.interval.end) },
    logicalDate: new Date(inv.interval.start),
    params: inv.params,
    signal,
    log,
    topics: services.topics,
    ...warehouseContext(services, caller, log, signal),
  };
  try {
    if (!def.fn) throw new Error(`task ${def.id} has no function (a built-in sensor runs on the engine host)`);
    let value: unknown;
    if (def.kind === 'map') value = await def.fn(ctx, inv.item, inv.inputs);
    else value = await def.fn(ctx, inv.inputs);
    const endedAt = preciseNow();
    if (def.kind === 'sensor') {
      const done = typeof value === 'boolean' ? value : Boolean((value as { done?: unknown } | null)?.done);
      if (!done) return { kind: 'not-ready', startedAt, endedAt };
      value = typeof value === 'object' && value !== null ? ((value as { value?: unknown }).value ?? null) : null;
    }
    const enc = encodeOutput(value);
    if (!enc.ok) return { kind: 'failure', error: enc.error, code: 'TASK_OUTPUT_INVALID', retriable: false, startedAt, endedAt };
    return { kind: 'success', outputJson: enc.json, outputLength: enc.length, startedAt, endedAt };
  } catch (thrown) {
    const endedAt = preciseNow();
    const message = describeThrown(thrown);
    const stack = thrown instanceof Error && thrown.stack ? thrown.stack : null;
    write(`${new Date().toISOString()} ERROR task failed: ${message}\n${stack ? stack + '\n' : ''}`);
    return { kind: 'failure', error: message, code: codeOf(thrown), retriable: true, startedAt, endedAt };
  }
}
