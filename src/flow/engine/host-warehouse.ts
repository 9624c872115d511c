/**
 * The warehouse as tasks reach it (`ctx.sql`, `ctx.models`): the engine host performs every call
 * through the warehouse part's one SQL gateway and model runner, so tasks in child processes
 * query exactly like inline ones, and governance audits them in one place (via `task`, with the
 * DAG, task and run ids). Placeholders are bound here as SQL literals, with a source map so that
 * error positions point into the SQL the task wrote. The warehouse module (and DuckDB with it)
 * is loaded on the first call, through its index.ts: engines whose tasks never query pay nothing.
 */
import type { Principal } from '../../govern/index.ts';
import { servicePrincipal } from '../../govern/index.ts';
import type { SqlGateway, ModelRunner, SourceMap } from '../../warehouse/index.ts';
import type { SqlParams, SqlParamValue } from '../define/types.ts';
import { FlowError } from '../errors.ts';
import type { TaskCaller, WarehouseAccess } from '../exec/types.ts';

/** What the flow part needs of the warehouse part (`WarehousePart` of `src/warehouse/index.ts`). */
export interface WarehouseHandle {
  /** Its `governance` audits every call: the one place the warehouse's queries are authorized. */
  gateway: Pick<SqlGateway, 'query' | 'governance'>;
  runner: Pick<ModelRunner, 'build' | 'test'>;
}

/** Finds the running warehouse at call time (null: not running in this process). */
export type WarehouseResolver = () => WarehouseHandle | null;

export const DEFAULT_MAX_ROWS = 10_000;
export const MAX_MAX_ROWS = 1_000_000;

type WarehouseModule = typeof import('../../warehouse/index.ts');
let warehouseModule: Promise<WarehouseModule> | null = null;
const loadWarehouse = (): Promise<WarehouseModule> => (warehouseModule ??= import('../../warehouse/index.ts'));

/** Tasks query as the flow service; the audit's detail says which task. */
export const TASK_PRINCIPAL: Principal = servicePrincipal('flow');

function literal(v: SqlParamValue, name: string): string {
  if (v === null) return 'NULL';
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'bigint') return `${v}::HUGEINT`;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new FlowError('SQL_PARAMS_INVALID', `ctx.sql param ${name} is ${v}: SQL has no such number; pass a finite number or null`);
    return Number.isInteger(v) ? String(v) : `${v}::DOUBLE`;
  }
  if (typeof v === 'string') return `'${v.replace(/'/g, "''")}'`;
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw new FlowError('SQL_PARAMS_INVALID', `ctx.sql param ${name} is an invalid Date`);
    return `'${v.toISOString()}'::TIMESTAMPTZ`;
  }
  if (Array.isArray(v)) return `[${v.map((x, i) => literal(x, `${name}[${i}]`)).join(', ')}]`;
  const what = typeof v === 'object' ? 'an object' : `a ${typeof v}`;
  throw new FlowError('SQL_PARAMS_INVALID', `ctx.sql param ${name} is ${what}: params are strings, numbers, bigints, booleans, null, Dates or arrays of them (JSON-encode objects and pass a string)`);
}

/**
 * Replaces `$1`…`$n`, `?` (with an array) or `$name` (with an object) outside strings, quoted
 * names and comments by SQL literals. Without params the SQL is returned unchanged.
 */
export async function bindParams(sql: string, params: SqlParams | undefined): Promise<{ text: string; map: SourceMap | null }> {
  if (params === undefined) return { text: sql, map: null };
  const { tokenize, positionAt, applyEdits } = await loadWarehouse();
  if (params === null || typeof params !== 'object') throw new FlowError('SQL_PARAMS_INVALID', `ctx.sql params must be an array (for $1, $2, … or ?) or an object (for $name), not ${params === null ? 'null' : typeof params}`);
  const tokens = tokenize(sql);
  const holes: Array<{ start: number; end: number; key: string | number; style: 'numbered' | 'question' | 'named' }> = [];
  let questions = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'other' && t.value === '$') {
      const next = tokens[i + 1];
      if (next && next.start === t.end && next.kind === 'number' && /^\d+$/.test(next.value)) {
        holes.push({ start: t.start, end: next.end, key: Number(next.value), style: 'numbered' });
        i++;
      } else if (next && next.start === t.end && next.kind === 'word') {
        holes.push({ start: t.start, end: next.end, key: sql.slice(next.start, next.end), style: 'named' });
        i++;
      }
    } else if (t.kind === 'op' && t.value.includes('?')) {
      for (let k = 0; k < t.value.length; k++) if (t.value[k] === '?') holes.push({ start: t.start + k, end: t.start + k + 1, key: ++questions, style: 'question' });
    }
  }
  const at = (offset: number) => {
    const p = positionAt(sql, offset);
    return `line ${p.line}, column ${p.column}`;
  };
  const styles = new Set(holes.map((h) => h.style));
  if (styles.size > 1) throw new FlowError('SQL_PARAMS_INVALID', `ctx.sql mixes placeholder styles (${[...styles].join(', ')}): use $1, $2, … or ? with an array, or $name with an object`);
  const used = new Set<string | number>();
  const edits: Array<{ start: number; end: number; text: string }> = [];
  if (Array.isArray(params)) {
    for (const h of holes) {
      if (h.style === 'named') throw new FlowError('SQL_PARAMS_INVALID', `ctx.sql placeholder $${h.key} at ${at(h.start)} is named, but params is an array: pass an object`);
      const idx = (h.key as number) - 1;
      if (idx < 0 || idx >= params.length) throw new FlowError('SQL_PARAMS_INVALID', `ctx.sql placeholder ${h.style === 'question' ? `? number ${h.key}` : `$${h.key}`} at ${at(h.start)} has no value: ${params.length} param${params.length === 1 ? '' : 's'} given`);
      used.add(idx);
      edits.push({ start: h.start, end: h.end, text: literal(params[idx]!, h.style === 'question' ? `#${h.key}` : `$${h.key}`) });
    }
    const unused = params.map((_, i) => i).filter((i) => !used.has(i));
    if (unused.length) throw new FlowError('SQL_PARAMS_INVALID', `ctx.sql was given ${params.length} params but the SQL uses ${used.size}: param ${unused.map((i) => i + 1).join(', ')} has no placeholder`);
  } else {
    for (const h of holes) {
      if (h.style !== 'named') throw new FlowError('SQL_PARAMS_INVALID', `ctx.sql placeholder at ${at(h.start)} is positional, but params is an object: pass an array`);
      const key = h.key as string;
      if (!Object.hasOwn(params, key)) throw new FlowError('SQL_PARAMS_INVALID', `ctx.sql placeholder $${key} at ${at(h.start)} has no value: params has ${Object.keys(params).join(', ') || 'no keys'}`);
      used.add(key);
      edits.push({ start: h.start, end: h.end, text: literal(params[key]!, `$${key}`) });
    }
    const unused = Object.keys(params).filter((k) => !used.has(k));
    if (unused.length) throw new FlowError('SQL_PARAMS_INVALID', `ctx.sql param ${unused.map((k) => `$${k}`).join(', ')} is not used in the SQL (check the spelling)`);
  }
  return edits.length ? applyEdits(sql, edits) : { text: sql, map: null };
}

function detailOf(c: TaskCaller): Record<string, string | number> {
  return { dagId: c.dagId, taskId: c.taskId, runId: c.runId, mapIndex: c.mapIndex, attempt: c.attempt };
}

export function warehouseAccess(resolve: WarehouseResolver | null | undefined): WarehouseAccess {
  const need = async (): Promise<WarehouseHandle> => {
    const w = resolve?.() ?? null;
    if (!w) {
      const { WarehouseError } = await loadWarehouse();
      throw new WarehouseError(
        'WAREHOUSE_UNAVAILABLE',
        'the warehouse is not running in this process: ctx.sql and ctx.models run through `tributary up` with the lake and warehouse enabled (a `lake` section in tributary.config.ts); in tests pass `warehouse` to runDag or FlowEngine',
      );
    }
    return w;
  };
  return {
    async sql(caller, query, params, opts, signal) {
      if (typeof query !== 'string') throw new FlowError('SQL_PARAMS_INVALID', `ctx.sql needs the SQL text as a string, not ${query === null ? 'null' : typeof query}`);
      const maxRows = opts.maxRows ?? DEFAULT_MAX_ROWS;
      if (!Number.isInteger(maxRows) || maxRows < 1 || maxRows > MAX_MAX_ROWS) {
        throw new FlowError('SQL_PARAMS_INVALID', `ctx.sql maxRows must be an integer from 1 to ${MAX_MAX_ROWS}, not ${maxRows}: larger results belong in a model (ctx.models.build)`);
      }
      const w = await need();
      const bound = await bindParams(query, params);
      const asOf = opts.asOf ? ('time' in opts.asOf ? { time: new Date(opts.asOf.time).getTime() } : { snapshot: opts.asOf.snapshot }) : undefined;
      const cursor = await w.gateway.query(bound.text, {
        principal: TASK_PRINCIPAL,
        via: 'task',
        auditDetail: detailOf(caller),
        origin: { text: query, map: bound.map },
        ...(signal ? { signal } : {}),
        ...(asOf ? { asOf } : {}),
      });
      const names = cursor.columns.map((c) => c.name);
      const out: Array<Record<string, unknown>> = [];
      try {
        for await (const batch of cursor.batches()) {
          if (out.length + batch.length > maxRows) {
            throw new FlowError(
              'SQL_TOO_MANY_ROWS',
              `ctx.sql: the query returns more than ${maxRows} rows (maxRows): aggregate in SQL, add a LIMIT, raise { maxRows } (at most ${MAX_MAX_ROWS}), or build a model for large results`,
            );
          }
          for (const row of batch) {
            const o: Record<string, unknown> = {};
            for (let i = 0; i < names.length; i++) o[names[i]!] = row[i];
            out.push(o);
          }
        }
      } finally {
        cursor.close();
      }
      return out;
    },
    async build(caller, opts) {
      const w = await need();
      w.gateway.governance.authorize(TASK_PRINCIPAL, 'execute', { type: 'model', name: opts.select?.length ? opts.select.join(' ') : '*' }, 'task', detailOf(caller));
      return w.runner.build({
        ...(opts.select ? { select: opts.select } : {}),
        ...(opts.vars ? { vars: opts.vars } : {}),
        ...(opts.fullRefresh ? { fullRefresh: true } : {}),
        principal: TASK_PRINCIPAL,
      });
    },
    async test(caller, opts) {
      const w = await need();
      w.gateway.governance.authorize(TASK_PRINCIPAL, 'execute', { type: 'model', name: opts.select?.length ? `test ${opts.select.join(' ')}` : 'test *' }, 'task', detailOf(caller));
      const r = await w.runner.test({ ...(opts.select ? { select: opts.select } : {}), ...(opts.vars ? { vars: opts.vars } : {}), principal: TASK_PRINCIPAL });
      // The compiled SQL of each test stays on the host (it can be long); the rest is the result.
      return { ok: r.ok, results: r.results.map(({ sql: _sql, ...rest }) => rest) };
    },
  };
}
